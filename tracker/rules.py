"""The record's rules, as pure functions: how an observation merges into a sighting, and what status it shows.

Stores persist what these decide and decide nothing themselves, so every backend (SQLite now,
Elasticsearch later) keeps the same record from the same observations. tests/test_tracker_rules.py holds
their tables.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tracker.models import Observation, Sighting, StatusEvent
from tracker.states import PageState, Status, Verdict

FIRST_SEEN = "first seen"


@dataclass(frozen=True, slots=True)
class Judgement:
    """The status one observation shows for a sighting at its page and media URL, and why."""

    status: Status
    reason: str


def judge(observation: Observation, matches: bool) -> Judgement | None:
    """What ``observation`` shows of a sighting it concerns; ``matches``: its bytes match the sighting's
    reference. None when it shows nothing either way: a failed fetch or a cached answer is not evidence
    of removal, nor of presence."""
    if observation.page_state in (PageState.REMOVED, PageState.GONE):
        return Judgement(Status.REMOVED, observation.note or f"page {observation.page_state}")
    if observation.http_status in (404, 410):
        return Judgement(Status.REMOVED, f"media HTTP {observation.http_status}")
    if observation.sha256 is None:
        return None
    if matches:
        return Judgement(Status.ONLINE, observation.note or "media matches")
    return Judgement(Status.CHANGED, observation.error or "the media URL serves other content")


def next_status(sighting: Sighting, judgement: Judgement, at: str) -> Status | None:
    """The status a judgement made at ``at`` moves the sighting to, or None when it stays where it is.

    Online after removed or changed is "reappeared". An observation older than the one that decided the
    current status changes nothing: distributed workers and resumed visits record out of order.
    """
    if at < (sighting.status_at or sighting.first_seen):
        return None
    status = judgement.status
    if status is Status.ONLINE:
        status = sighting.status if sighting.status.still_online else Status.REAPPEARED
    return None if status is sighting.status else status


def move(sighting: Sighting, judgement: Judgement, at: str, observation_id: int | None) -> tuple[Sighting, StatusEvent] | None:
    """The sighting after the judgement, with the event that records the move; None when nothing moves."""
    status = next_status(sighting, judgement, at)
    if status is None:
        return None
    return replace(sighting, status=status, status_at=at), StatusEvent(sighting.id, at, status, judgement.reason, observation_id)


def merge_sighting(stored: Sighting | None, seen: Sighting) -> tuple[Sighting, tuple[StatusEvent, ...]]:
    """The sighting once a new match ``seen`` (same reference, page and copy) meets the stored one.

    - A new sighting is online from its first observation, with a "first seen" event.
    - The seen window widens; the bytes are the latest observation's.
    - The earliest upload time a page claimed is kept, with where it was read from.
    - The surer decision's verdict, confidence and signals are kept: a confirmed match upgrades a
      needs-review candidate, never the reverse.
    - A sighting an analyst rejected stays rejected, with the decision it was rejected on, when its
      bytes are seen again (a crawl begun before the rejection, or looser thresholds since). Other bytes
      at its place (the allowlist let them through: not the rejected picture) are a new candidate: the
      rejection is cleared and the new decision taken whole, for an analyst to look at.
    - The status is not touched here: statuses move by `move`.
    """
    if stored is None:
        new = replace(seen, status=Status.ONLINE, status_at=seen.first_seen)
        return new, (StatusEvent(0, seen.first_seen, Status.ONLINE, FIRST_SEEN),)
    reopened = stored.rejected and seen.sha256 != stored.sha256 and seen.last_seen >= stored.last_seen
    if reopened:
        surer = seen
    else:
        surer = seen if not stored.rejected and _rank(seen) > _rank(stored) else stored
    claim = seen if seen.claimed_at is not None and (stored.claimed_at is None or seen.claimed_at < stored.claimed_at) else stored
    merged = replace(
        stored,
        first_seen=min(stored.first_seen, seen.first_seen),
        last_seen=max(stored.last_seen, seen.last_seen),
        sha256=seen.sha256 if seen.last_seen >= stored.last_seen else stored.sha256,
        claimed_at=claim.claimed_at,
        claimed_source=claim.claimed_source,
        verdict=surer.verdict,
        confidence=surer.confidence,
        distance=surer.distance,
        decided_by=surer.decided_by,
        signals=surer.signals,
        review=None if reopened else stored.review,
    )
    return merged, ()


def _rank(sighting: Sighting) -> tuple[bool, float]:
    return sighting.verdict is Verdict.MATCH, sighting.confidence if sighting.confidence is not None else -1.0


def concerns(sighting: Sighting, observation: Observation) -> bool:
    """Whether an observation is of this sighting's copy: on its page, at its media URL, or showing its
    bytes under another URL (the same file behind a cache-busting query string is one copy, not two)."""
    if sighting.page_url != observation.page_url:
        return False
    if sighting.media_url == observation.media_url:
        return True
    return observation.shows and observation.sha256 is not None and observation.sha256 == sighting.sha256
