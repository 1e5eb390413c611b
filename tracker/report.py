"""A case's report as plain data (the JSON form); the text form renders the same data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from tracker.clock import utc_now
from tracker.models import Reference, Sighting
from tracker.spread import first_appearance, spread
from tracker.store import CaseStore, SightingStore


class ReportStore(CaseStore, SightingStore, Protocol):
    """The parts of a Store a report reads."""


def build_report(store: ReportStore, case_id: str) -> dict[str, Any]:
    case = store.get_case(case_id)
    references = store.references(case_id)
    sightings = store.sightings(case_id)
    first = first_appearance(sightings)
    return {
        "case": {"id": case.id, "created_at": case.created_at, "reference_count": case.reference_count},
        "generated_at": utc_now(),
        "references": [_reference(ref, sightings) for ref in references],
        "sightings": [_sighting(s) for s in sightings],
        "first_appearance": None if first is None else _first(first),
        "spread": [asdict(host) for host in spread(sightings)],
        "summary": {
            "sightings": len(sightings),
            "hosts": len({s.host for s in sightings}),
            "online": sum(1 for s in sightings if s.status == "online"),
        },
    }


def _reference(ref: Reference, sightings: list[Sighting]) -> dict[str, Any]:
    return {
        "id": ref.id,
        "kind": ref.kind,
        "label": ref.label,
        "added_at": ref.added_at,
        "sha256": ref.sha256,
        "md5": ref.md5,
        "hashes": [
            {"algorithm": s.kind, "version": s.version, "value": str(s), "quality": s.quality}
            for s in ref.signals
            if s.variant == "original"
        ],
        "sighting_count": sum(1 for s in sightings if s.reference_id == ref.id),
    }


def _sighting(s: Sighting) -> dict[str, Any]:
    appeared, basis = s.appeared
    return {
        "id": s.id,
        "reference_id": s.reference_id,
        "media_url": s.media_url,
        "page_url": s.page_url,
        "host": s.host,
        "site": s.site,
        "sha256": s.sha256,
        "first_seen": s.first_seen,
        "last_seen": s.last_seen,
        "claimed_at": s.claimed_at,
        "claimed_source": s.claimed_source,
        "appeared_at": appeared,
        "appeared_basis": basis,
        "status": s.status,
        "distance": s.distance,
        "decided_by": s.decided_by,
        "signals": list(s.signals),
    }


def _first(s: Sighting) -> dict[str, Any]:
    appeared, basis = s.appeared
    return {
        "sighting_id": s.id,
        "reference_id": s.reference_id,
        "media_url": s.media_url,
        "page_url": s.page_url,
        "host": s.host,
        "time": appeared,
        "basis": basis,
        "claimed_source": s.claimed_source if basis == "claimed" else None,
        "first_observed": s.first_seen,
    }
