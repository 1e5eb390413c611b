"""Spread analysis: where a case's material appeared first, and in what order it reached each host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tracker.models import Sighting
from tracker.states import Basis


@dataclass(frozen=True, slots=True)
class HostSpread:
    """A host's first copy of the case's material, and how many copies it carries."""

    host: str
    site: str | None
    first_appeared: str
    basis: Basis
    first_sighting_id: int
    sighting_count: int


def by_appearance(sightings: Sequence[Sighting]) -> list[Sighting]:
    return sorted(sightings, key=lambda s: (s.appeared[0], s.id))


def first_appearance(sightings: Sequence[Sighting]) -> Sighting | None:
    """The earliest copy, by the page's own upload time where it states one, else by our observation."""
    ordered = by_appearance(sightings)
    return ordered[0] if ordered else None


def spread(sightings: Sequence[Sighting]) -> list[HostSpread]:
    """Hosts in the order the material first appeared on each."""
    hosts: dict[str, HostSpread] = {}
    for sighting in by_appearance(sightings):
        seen = hosts.get(sighting.host)
        if seen is None:
            when, basis = sighting.appeared
            hosts[sighting.host] = HostSpread(sighting.host, sighting.site, when, basis, sighting.id, 1)
        else:
            hosts[sighting.host] = replace(seen, sighting_count=seen.sighting_count + 1)
    return list(hosts.values())
