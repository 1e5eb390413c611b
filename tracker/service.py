"""The tracker service: what the crawler and the CLI hand observations and references to.

It owns the matcher built from every case's references, so the crawler never talks to a backend and the
matcher never learns about cases.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from matcher import Matcher, MatchDecision, MatchPolicy, MediaHashes
from matcher.hashlist import HashEntry
from tracker.clock import utc_now
from tracker.models import AuditEvent, Observation, Reference, Sighting
from tracker.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MediaState:
    """What the store already knows of some bytes: their signals, or why they cannot be hashed."""

    known: bool
    error: str | None = None


class Tracker:
    def __init__(self, store: Store, policy: MatchPolicy) -> None:
        self.store = store
        self.policy = policy
        references = store.references()
        self._case_of = {ref.id: ref.case_id for ref in references}
        self.matcher = Matcher(policy, ((ref.id, ref.signals) for ref in references))

    # -- media met by a crawl ---------------------------------------------------------------------

    def media_state(self, sha256: str) -> MediaState:
        known = self.store.media_signals(sha256)
        if known is None:
            return MediaState(known=False)
        return MediaState(known=True, error=known if isinstance(known, str) else None)

    def record_media(self, hashes: MediaHashes) -> None:
        self.store.put_media(hashes)

    def record_unhashable(self, sha256: str, size: int, reason: str) -> None:
        self.store.put_unhashable(sha256, size, reason)

    def observe(self, observation: Observation) -> list[Sighting]:
        """Append the observation; return the sightings it creates or extends."""
        stored = self.store.append_observation(observation)
        if stored.sha256 is None or stored.error is not None:
            return []
        signals = self.store.media_signals(stored.sha256)
        if not isinstance(signals, tuple):
            return []
        return self._record_sightings(stored, self.matcher.match(signals))

    # -- references -------------------------------------------------------------------------------

    def add_reference(self, case_id: str, hashes: MediaHashes, label: str | None) -> Reference | None:
        """Register a reference and match media from now on; None if the case already had these bytes.

        Media seen before is matched by `match_history`, once for a whole batch of new references.
        """
        reference = self.store.add_reference(
            case_id, str(hashes.kind), hashes.sha256, hashes.md5, label, hashes.signals
        )
        if reference is not None:
            self._watch(reference)
        return reference

    def _watch(self, reference: Reference) -> None:
        """Match media against a newly stored reference from now on."""
        self._case_of[reference.id] = reference.case_id
        self.matcher.add_reference(reference.id, reference.signals)

    def import_hashes(self, case_id: str, entries: Sequence[HashEntry], source: str) -> tuple[list[Reference], int]:
        """Register hash-only references (no file was ever seen); returns them and the count already held.

        Labels say where each came from (``FILE:LINE`` unless the list named it), so a match can be traced
        back to the partner's list.
        """
        known = {(s.kind, s.value) for ref in self.store.references(case_id) for s in ref.signals}
        added: list[Reference] = []
        duplicates = 0
        for entry in entries:
            key = (entry.signal.kind, entry.signal.value)
            if key in known:
                duplicates += 1
                continue
            known.add(key)
            label = entry.label or f"{source}:{entry.line}"
            kind = "video" if entry.signal.kind == "vpdq" else "image"
            reference = self.store.add_reference(case_id, kind, None, None, label, (entry.signal,))
            if reference is not None:
                self._watch(reference)
                added.append(reference)
        return added, duplicates

    def export_hashes(
        self, case_id: str, *, actor: str, destination: str, fmt: str, labels: bool, kind: str = "pdq"
    ) -> list[HashEntry]:
        """Each reference's ``kind`` hash as found (PDQ of pictures, vPDQ of videos; not the orientation or
        region variants), logged as an export. ``HashEntry.line`` carries the reference id."""
        entries = [
            HashEntry(ref.id, signal, ref.label)
            for ref in self.store.references(case_id)
            for signal in ref.signals
            if signal.kind == kind and signal.variant == "original"
        ]
        detail: dict[str, object] = {"hashes": len(entries), "format": fmt, "destination": destination, "labels": labels}
        self.store.log_event(AuditEvent(utc_now(), actor, "export-hashes", case_id, detail))
        return entries

    def match_history(self, references: Sequence[Reference]) -> list[Sighting]:
        """Sightings of ``references`` among all media observed so far (retroactive matching): a case
        opened today still finds the copy crawled last month, and its first appearance."""
        only_these = Matcher(self.policy, ((ref.id, ref.signals) for ref in references))
        sightings: list[Sighting] = []
        for sha256, signals in self.store.iter_media_signals():
            decisions = only_these.match(signals)
            if not decisions:
                continue
            for observation in self.store.observations_of(sha256):
                if observation.error is None:
                    sightings.extend(self._record_sightings(observation, decisions))
        if sightings:
            logger.info("retroactive matching found %d sightings", len(sightings))
        return sightings

    def _record_sightings(self, observation: Observation, decisions: Sequence[MatchDecision]) -> list[Sighting]:
        return [
            self.store.upsert_sighting(
                Sighting(
                    id=0,
                    case_id=self._case_of[decision.reference_id],
                    reference_id=decision.reference_id,
                    media_url=observation.media_url,
                    page_url=observation.page_url,
                    host=observation.host,
                    site=observation.site,
                    sha256=observation.sha256,
                    first_seen=observation.observed_at,
                    last_seen=observation.observed_at,
                    status="online",
                    distance=decision.distance,
                    decided_by=decision.decided_by,
                    signals=_evidence(decision),
                    claimed_at=observation.claimed_at,
                    claimed_source=observation.claimed_source,
                    verdict=str(decision.verdict),
                    confidence=decision.confidence,
                )
            )
            for decision in decisions
        ]


def _evidence(decision: MatchDecision) -> tuple[dict[str, object], ...]:
    """The signals compared, as stored with the sighting; the geometric check's details go with "orb",
    a video's matched stretches come last."""
    check = decision.verification.as_dict() if decision.verification is not None else {}
    signals = tuple({**s.as_dict(), **check} if s.kind == "orb" else s.as_dict() for s in decision.signals)
    if not decision.segments:
        return signals
    # Where in the copy, and where in the reference: what an analyst checks first in a video match.
    stretches: dict[str, object] = {"kind": "segments", "segments": [s.as_dict() for s in decision.segments], "coverage": decision.coverage}
    return (*signals, stretches)
