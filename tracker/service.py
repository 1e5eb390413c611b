"""The tracker service: what the crawler and the CLI hand observations and references to.

It owns the matcher built from every case's references, so the crawler never talks to a backend and the
matcher never learns about cases.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from matcher import Matcher, MatchDecision, MatchPolicy, MediaHashes
from matcher.hashlist import HashEntry
from tracker.clock import utc_now
from tracker.models import CHANGED, ONLINE, REMOVED, AuditEvent, Observation, Reference, Sighting
from tracker.store import Store

logger = logging.getLogger(__name__)

# Decisions kept per SHA-256: a revisit re-observes the same bytes on every page, and matching a long
# video's frames again each time would cost more than the crawl.
_DECISION_CACHE_SIZE = 4096


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
        self._decisions: OrderedDict[str, list[MatchDecision]] = OrderedDict()

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
        """Append the observation; return the sightings it creates or extends.

        Sightings already known at this page and media URL move to the status the observation shows:
        removed, changed, or online again ("reappeared"). An observation that shows nothing (a failed
        fetch, a cached answer) changes no status: a removed copy never looks online on a failed check.
        """
        stored = self.store.append_observation(observation)
        decisions = self._match(stored)
        shown = stored.page_state in (None, "shown")
        sightings = self._record_sightings(stored, decisions) if decisions and shown else []
        self._update_statuses(stored, {d.reference_id for d in decisions})
        return sightings

    def _match(self, observation: Observation) -> list[MatchDecision]:
        if observation.sha256 is None or observation.error is not None:
            return []
        cached = self._decisions.get(observation.sha256)
        if cached is not None:
            self._decisions.move_to_end(observation.sha256)
            return cached
        signals = self.store.media_signals(observation.sha256)
        decisions = self.matcher.match(signals) if isinstance(signals, tuple) else []
        self._decisions[observation.sha256] = decisions
        if len(self._decisions) > _DECISION_CACHE_SIZE:
            self._decisions.popitem(last=False)
        return decisions

    def _update_statuses(self, observation: Observation, matched: set[int]) -> None:
        for sighting in self.store.sightings_at(observation.page_url, observation.media_url):
            judged = judge_status(observation, sighting.reference_id in matched)
            if judged is None:
                continue
            status, reason = judged
            event = self.store.set_status(sighting.id, status, observation.observed_at, reason, observation.id)
            if event is not None:
                logger.info("sighting %d is %s: %s (%s)", sighting.id, event.status, sighting.page_url, reason)

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
        self._decisions.clear()
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


def judge_status(observation: Observation, matches: bool) -> tuple[str, str] | None:
    """The status an observation shows for a sighting at its page and media URL, with why; None when it
    shows nothing either way (the page or the file could not be fetched)."""
    if observation.page_state in ("removed", "gone"):
        return REMOVED, observation.note or f"page {observation.page_state}"
    if observation.http_status in (404, 410):
        return REMOVED, f"media HTTP {observation.http_status}"
    if observation.sha256 is None:
        return None  # no bytes: a failure is not evidence of removal, nor of presence
    if matches:
        return ONLINE, observation.note or "media matches"
    return CHANGED, observation.error or "the media URL serves other content"
