"""Sightings written as `tracker.rules` decide: read, apply the rule, compare-and-set, and again on a race.

Two writers can record the same copy at once (workers of one distributed visit, a case added while a crawl
runs). Each write names the revision it was decided from; a store refuses a stale one, and the rule is
applied again to what is stored now. No backend has to know the rules to stay consistent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace

from matcher import MatchDecision
from tracker.errors import ConcurrentWrites
from tracker.models import Observation, Sighting, StatusEvent
from tracker.rules import concerns, judge, merge_sighting, move
from tracker.states import Status
from tracker.store import SightingStore

logger = logging.getLogger(__name__)
_ATTEMPTS = 10


class SightingBook:
    def __init__(self, store: SightingStore) -> None:
        self.store = store

    def record(self, observation: Observation, decision: MatchDecision, case_id: str) -> Sighting:
        """The sighting a matching observation creates or widens."""
        seen = sighting_from(observation, decision, case_id)
        for _ in range(_ATTEMPTS):
            stored = self._copy_on_page(decision.reference_id, observation)
            if stored is not None:  # the same bytes under another URL on this page: that copy, not a new one
                seen = replace(seen, media_url=stored.media_url)
            merged, events = merge_sighting(stored, seen)
            if merged == stored:
                return stored  # nothing new: the same observation seen again
            saved = self.store.save_sighting(merged, events, expected_revision=None if stored is None else stored.revision)
            if saved is not None:
                return saved
        raise ConcurrentWrites(f"sighting of reference {decision.reference_id} on {observation.page_url}")

    def update_statuses(self, observation: Observation, matches: Callable[[int], bool]) -> list[StatusEvent]:
        """Move every sighting the observation concerns to the status it shows; ``matches(reference_id)``
        says whether the observed bytes match that reference."""
        events = []
        for sighting in self.store.sightings_on_page(observation.page_url):
            if concerns(sighting, observation):
                _, event = self.apply(sighting, observation, matches(sighting.reference_id))
                if event is not None:
                    events.append(event)
        return events

    def apply(self, sighting: Sighting, observation: Observation, matches: bool) -> tuple[Sighting, StatusEvent | None]:
        """The sighting as it stands once the observation's judgement is applied, and the move it made. A
        rejected sighting stays as it was when rejected: it is not a copy, and its comings and goings are
        no one's business (no re-check, no capture, no alert)."""
        judgement = judge(observation, matches)
        if judgement is None:
            return sighting, None
        for _ in range(_ATTEMPTS):
            if sighting.rejected:
                return sighting, None
            moved = move(sighting, judgement, observation.observed_at, observation.id)
            if moved is None:
                return sighting, None
            updated, event = moved
            saved = self.store.save_sighting(updated, (event,), expected_revision=sighting.revision)
            if saved is not None:
                logger.info("sighting %d is %s: %s (%s)", sighting.id, event.status, sighting.page_url, event.reason)
                return saved, event
            current = next((s for s in self.store.sightings_on_page(sighting.page_url) if s.id == sighting.id), None)
            if current is None:
                return sighting, None
            sighting = current  # another writer moved it: judge again on what it stored
        raise ConcurrentWrites(f"status of sighting {sighting.id}")

    def replay(self, sighting: Sighting, observations: Iterable[Observation], matches: Callable[[Observation], bool]) -> Sighting:
        """Bring a sighting found late (a case opened after the crawl) to the status its history shows."""
        for observation in sorted(observations, key=lambda o: (o.observed_at, o.id or 0)):
            if concerns(sighting, observation):
                sighting, _ = self.apply(sighting, observation, matches(observation))
        return sighting

    def _copy_on_page(self, reference_id: int, observation: Observation) -> Sighting | None:
        """The stored sighting of this reference the observation is of: at its URL first, else its bytes."""
        candidates = [
            s for s in self.store.sightings_on_page(observation.page_url)
            if s.reference_id == reference_id and concerns(s, observation)
        ]  # fmt: skip
        return min(candidates, key=lambda s: (s.media_url != observation.media_url, s.id), default=None)


def sighting_from(observation: Observation, decision: MatchDecision, case_id: str) -> Sighting:
    return Sighting(
        id=0,
        case_id=case_id,
        reference_id=decision.reference_id,
        media_url=observation.media_url,
        page_url=observation.page_url,
        host=observation.host,
        site=observation.site,
        sha256=observation.sha256,
        first_seen=observation.observed_at,
        last_seen=observation.observed_at,
        status=Status.ONLINE,
        distance=decision.distance,
        decided_by=decision.decided_by,
        signals=evidence(decision),
        claimed_at=observation.claimed_at,
        claimed_source=observation.claimed_source,
        verdict=decision.verdict,
        confidence=decision.confidence,
    )


def evidence(decision: MatchDecision) -> tuple[dict[str, object], ...]:
    """The signals compared, as stored with the sighting; the geometric check's details go with "orb",
    a video's matched stretches come last."""
    check = decision.verification.as_dict() if decision.verification is not None else {}
    signals = tuple({**s.as_dict(), **check} if s.kind == "orb" else s.as_dict() for s in decision.signals)
    if not decision.segments:
        return signals
    # Where in the copy, and where in the reference: what an analyst checks first in a video match.
    stretches: dict[str, object] = {"kind": "segments", "segments": [s.as_dict() for s in decision.segments], "coverage": decision.coverage}
    return (*signals, stretches)

