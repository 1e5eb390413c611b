"""A case's report as typed data, with one JSON form (`Report.to_json`); the text form renders the same data.

Only confirmed matches decide the first appearance and the spread: a gray-zone candidate an analyst has
not looked at cannot stand as the first appearance with nothing saying so. The earliest candidate is shown
beside it, as what it is, when it predates the confirmed one.

A candidate an analyst rejected is not a copy: it is out of the sightings, the spread and the totals, as
it is out of notices. It is listed apart (`Report.rejected`), with who rejected it, when and why: whoever
reads the report sees that the candidate was looked at and can check the decision, and a needs-review
count that fell is explained rather than silent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from matcher import ContentKind
from tracker.clock import utc_now
from tracker.models import Reference, ReviewDecision, Sighting
from tracker.spread import HostSpread, first_appearance, spread
from tracker.states import Basis, Review, Status, Verdict
from tracker.store import CaseStore, ReviewStore, SightingStore


class ReportStore(CaseStore, SightingStore, ReviewStore, Protocol):
    """The parts of a Store a report reads."""


@dataclass(frozen=True, slots=True)
class CaseEntry:
    id: str
    created_at: str
    reference_count: int


@dataclass(frozen=True, slots=True)
class HashValue:
    algorithm: str
    version: int
    value: str  # the tagged text form, "pdq:f8f8..."
    quality: int | None


@dataclass(frozen=True, slots=True)
class ReferenceEntry:
    id: int
    kind: ContentKind
    label: str | None
    added_at: str
    sha256: str | None
    md5: str | None
    hashes: tuple[HashValue, ...]
    sighting_count: int


@dataclass(frozen=True, slots=True)
class SightingEntry:
    id: int
    reference_id: int
    media_url: str
    page_url: str
    host: str
    site: str | None
    sha256: str | None
    first_seen: str
    last_seen: str
    claimed_at: str | None
    claimed_source: str | None
    appeared_at: str
    appeared_basis: Basis
    status: Status
    status_at: str | None
    verdict: Verdict
    confidence: float | None
    distance: int
    decided_by: str
    signals: tuple[dict[str, object], ...]


@dataclass(frozen=True, slots=True)
class RejectedEntry:
    """A candidate an analyst rejected: not a copy, so not a sighting of the report; kept for the audit."""

    sighting_id: int
    reference_id: int
    media_url: str
    page_url: str
    host: str
    sha256: str | None
    first_seen: str
    rejected_by: str
    rejected_at: str
    why: str


@dataclass(frozen=True, slots=True)
class Appearance:
    """Where and when a copy appeared: the page's claimed time when earlier than ours, else our first sight."""

    sighting_id: int
    reference_id: int
    media_url: str
    page_url: str
    host: str
    time: str
    basis: Basis
    claimed_source: str | None
    first_observed: str
    verdict: Verdict
    confidence: float | None


@dataclass(frozen=True, slots=True)
class Totals:
    sightings: int
    confirmed: int
    needs_review: int
    hosts: int
    online: int  # every copy still up: online, and reappeared after a removal


@dataclass(frozen=True, slots=True)
class Report:
    case: CaseEntry
    generated_at: str
    references: tuple[ReferenceEntry, ...]
    sightings: tuple[SightingEntry, ...]
    first_appearance: Appearance | None  # of a confirmed match
    earliest_candidate: Appearance | None  # a needs-review candidate older than the first appearance
    spread: tuple[HostSpread, ...]  # confirmed matches only
    summary: Totals  # of `sightings`: rejected candidates are not counted
    rejected: tuple[RejectedEntry, ...]  # candidates analysts rejected, apart from the sightings

    def to_json(self) -> dict[str, Any]:
        """The one JSON form: enums as their values, tuples as lists (json.dumps does both)."""
        return asdict(self)


def build_report(store: ReportStore, case_id: str) -> Report:
    case = store.get_case(case_id)
    every = store.sightings(case_id)
    sightings = [s for s in every if not s.rejected]
    rejected = [s for s in every if s.rejected]
    copies = Counter(s.reference_id for s in sightings)  # once, not per reference: an import brings thousands
    confirmed = [s for s in sightings if s.confirmed]
    first = first_appearance(confirmed)
    candidate = first_appearance([s for s in sightings if not s.confirmed])
    if candidate is not None and first is not None and candidate.appeared >= first.appeared:
        candidate = None
    return Report(
        case=CaseEntry(case.id, case.created_at, case.reference_count),
        generated_at=utc_now(),
        references=tuple(_reference(ref, copies[ref.id]) for ref in store.references(case_id)),
        sightings=tuple(_sighting(s) for s in sightings),
        first_appearance=None if first is None else _appearance(first),
        earliest_candidate=None if candidate is None else _appearance(candidate),
        spread=tuple(spread(confirmed)),
        summary=Totals(
            sightings=len(sightings),
            confirmed=len(confirmed),
            needs_review=len(sightings) - len(confirmed),
            hosts=len({s.host for s in sightings}),
            online=sum(1 for s in sightings if s.status.still_online),
        ),
        rejected=_rejected(rejected, store.reviews(case_id) if rejected else []),
    )


def _rejected(sightings: list[Sighting], reviews: list[ReviewDecision]) -> tuple[RejectedEntry, ...]:
    latest = {r.sighting_id: r for r in reviews if r.decision is Review.REJECTED}  # in order: the last one stands
    entries = []
    for s in sightings:
        review = latest.get(s.id)
        by, at, why = (review.actor, review.at, review.why) if review is not None else ("?", "?", "?")
        entries.append(RejectedEntry(s.id, s.reference_id, s.media_url, s.page_url, s.host, s.sha256, s.first_seen, by, at, why))
    return tuple(entries)


def _reference(ref: Reference, count: int) -> ReferenceEntry:
    hashes = tuple(HashValue(s.kind, s.version, str(s), s.quality) for s in ref.signals if s.variant == "original")
    return ReferenceEntry(ref.id, ref.kind, ref.label, ref.added_at, ref.sha256, ref.md5, hashes, count)


def _sighting(s: Sighting) -> SightingEntry:
    appeared, basis = s.appeared
    return SightingEntry(
        s.id, s.reference_id, s.media_url, s.page_url, s.host, s.site, s.sha256, s.first_seen, s.last_seen,
        s.claimed_at, s.claimed_source, appeared, basis, s.status, s.status_at, s.verdict, s.confidence, s.distance,
        s.decided_by, s.signals,
    )  # fmt: skip


def _appearance(s: Sighting) -> Appearance:
    appeared, basis = s.appeared
    source = s.claimed_source if basis is Basis.CLAIMED else None
    return Appearance(s.id, s.reference_id, s.media_url, s.page_url, s.host, appeared, basis, source, s.first_seen,
                      s.verdict, s.confidence)  # fmt: skip
