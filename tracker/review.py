"""The review queue: needs-review candidates wait for an analyst, who confirms or rejects each.

- `queue`: the candidates no one has decided, oldest first, each with the signals the matcher compared.
- `confirm`: the candidate becomes a match decided by ``analyst:NAME``; it counts in reports and may go
  in a takedown notice.
- `reject`: the candidate is marked rejected and kept in the record, out of reports and notices; its
  media's SHA-256 and PDQ hashes go on its reference's allowlist (`tracker.allowlist`), so neither these
  bytes nor a near duplicate of them become a candidate of that reference again. Other undecided
  candidates of the same reference that the allowlist now holds (the same file on other pages) are
  rejected with it: the analyst has judged that picture once.

Each decision is stored with who took it, when and why (`ReviewStore.save_review`, one transaction with
the sighting and the allowlist), shows in the sighting's history, and is logged in the audit log.
See docs/architecture.md ("Review queue").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from matcher import Signal
from matcher.hashlist import CONTROL_CHARACTERS
from tracker.allowlist import PDQ, SHA256, Allowlist, usable_pdq
from tracker.clock import utc_now
from tracker.errors import ConcurrentWrites, ReviewRefused
from tracker.models import AllowEntry, AuditEvent, ReviewDecision, Sighting, StatusEvent
from tracker.states import Review, Verdict
from tracker.store import ReviewStore, SightingStore

if TYPE_CHECKING:
    from tracker.service import Tracker

ANALYST = "analyst:"  # what `decided_by` says of a match an analyst confirmed, before the name
_ATTEMPTS = 10
_MAX_NAME = 100
MAX_WHY = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    """What a rejection did: the sighting rejected, the other candidates rejected with it (the same picture
    elsewhere), and the allowlist entries added."""

    sighting: Sighting
    also: tuple[Sighting, ...]
    allowlisted: tuple[AllowEntry, ...]


def queue(store: ReviewStore, case_id: str | None = None) -> list[Sighting]:
    """The needs-review sightings no analyst has decided, of ``case_id`` or of every case, oldest first.
    Raises UnknownCase."""
    return store.awaiting_review(case_id)


def notice_candidates(store: SightingStore, case_id: str) -> list[Sighting]:
    """The sightings of ``case_id`` that may go in a takedown notice: confirmed matches (by the matcher or an
    analyst) that no analyst rejected. Raises UnknownCase."""
    return [s for s in store.sightings(case_id) if s.actionable]


def confirm(tracker: Tracker, sighting_id: int, *, actor: str, why: str) -> Sighting:
    """Make a needs-review candidate a match, decided by ``analyst:ACTOR``; the sighting as stored.
    Raises UnknownSighting, ReviewRefused (a match already, decided before, a bad name or reason)."""
    actor, why = _checked(actor, why)
    store = tracker.store
    for _ in range(_ATTEMPTS):
        sighting = _undecided(store.get_sighting(sighting_id), "confirm")
        at = utc_now()
        decided = replace(sighting, verdict=Verdict.MATCH, decided_by=f"{ANALYST}{actor}", review=Review.CONFIRMED)
        event = StatusEvent(sighting.id, at, sighting.status, f"confirmed by {ANALYST}{actor}: {why}")
        review = ReviewDecision(sighting.id, sighting.case_id, sighting.reference_id, Review.CONFIRMED, actor, at, why)
        saved = store.save_review(review, decided, [event], [], expected_revision=sighting.revision)
        if saved is not None:
            detail: dict[str, object] = {
                "sighting": saved.id, "reference": saved.reference_id, "why": why, "sha256": saved.sha256,
                "matcher": {"verdict": str(sighting.verdict), "decided_by": sighting.decided_by, "confidence": sighting.confidence},
            }  # fmt: skip
            store.log_event(AuditEvent(at, actor, "review-confirm", saved.case_id, detail))
            return saved
    raise ConcurrentWrites(f"sighting {sighting_id}")


def reject(tracker: Tracker, sighting_id: int, *, actor: str, why: str) -> Rejection:
    """Mark a needs-review candidate rejected and put its media on its reference's allowlist, with every
    other undecided candidate of that reference the allowlist then holds. Raises UnknownSighting,
    ReviewRefused (a match, decided before, a bad name or reason)."""
    actor, why = _checked(actor, why)
    store = tracker.store
    at = utc_now()
    sighting, entries = _reject_one(tracker, _undecided(store.get_sighting(sighting_id), "reject"), actor, at, why)
    if not sighting.rejected:  # another analyst decided it meanwhile
        _undecided(sighting, "reject")
    allowlist = Allowlist(tracker.policy, entries)
    also: list[Sighting] = []
    for other in store.awaiting_review(sighting.case_id):
        if other.reference_id == sighting.reference_id and _held(tracker, allowlist, other):
            because = f"{why} (as sighting {sighting.id}: the same picture)"
            rejected, more = _reject_one(tracker, other, actor, at, because)
            if rejected.rejected:
                also.append(rejected)
                entries += more
    entries = list(dict.fromkeys(entries))
    tracker.reviewed(entries)
    detail: dict[str, object] = {
        "sighting": sighting.id, "reference": sighting.reference_id, "why": why, "sha256": sighting.sha256,
        "allowlisted": [f"{e.kind}:{e.value}" for e in entries], "also_rejected": [s.id for s in also],
    }  # fmt: skip
    store.log_event(AuditEvent(at, actor, "review-reject", sighting.case_id, detail))
    return Rejection(sighting, tuple(also), tuple(entries))


def _reject_one(tracker: Tracker, sighting: Sighting, actor: str, at: str, why: str) -> tuple[Sighting, list[AllowEntry]]:
    """Reject one sighting with its allowlist entries, in one transaction; on a lost race decided again on
    what is stored (a sighting another analyst decided meanwhile is left as they decided it)."""
    store = tracker.store
    for _ in range(_ATTEMPTS):
        entries = allow_entries(sighting, store.media_signals(sighting.sha256) if sighting.sha256 else None, tracker)
        event = StatusEvent(sighting.id, at, sighting.status, f"rejected by {ANALYST}{actor}: {why}")
        review = ReviewDecision(sighting.id, sighting.case_id, sighting.reference_id, Review.REJECTED, actor, at, why)
        saved = store.save_review(review, replace(sighting, review=Review.REJECTED), [event], entries,
                                  expected_revision=sighting.revision)  # fmt: skip
        if saved is not None:
            return saved, entries
        sighting = store.get_sighting(sighting.id)
        if not sighting.awaiting_review:
            return sighting, []
    raise ConcurrentWrites(f"sighting {sighting.id}")


def allow_entries(sighting: Sighting, signals: tuple[Signal, ...] | str | None, tracker: Tracker) -> list[AllowEntry]:
    """The allowlist entries a rejection of ``sighting`` adds: its bytes' SHA-256 and usable PDQ hashes
    (``signals``: the stored media's, as `MediaStore.media_signals` gives them)."""
    entries = [AllowEntry(sighting.reference_id, SHA256, sighting.sha256)] if sighting.sha256 else []
    if isinstance(signals, tuple):
        entries += [AllowEntry(sighting.reference_id, PDQ, value) for value in usable_pdq(signals, tracker.policy)]
    return entries


def _held(tracker: Tracker, allowlist: Allowlist, sighting: Sighting) -> bool:
    if sighting.sha256 is None:
        return False
    signals = tracker.store.media_signals(sighting.sha256)
    pdq = [int(v, 16) for v in usable_pdq(signals, tracker.policy)] if isinstance(signals, tuple) else []
    distance = next((s.get("distance") for s in sighting.signals if s.get("kind") == PDQ), None)
    return allowlist.holds(sighting.reference_id, sighting.sha256, pdq, distance if isinstance(distance, int) else None)


def _undecided(sighting: Sighting, action: str) -> Sighting:
    """``sighting`` when it waits in the queue, else ReviewRefused saying why not."""
    if sighting.review is Review.REJECTED:
        raise ReviewRefused(f"sighting {sighting.id} was rejected already (see: spreadtrace report {sighting.case_id})")
    if sighting.review is Review.CONFIRMED:
        raise ReviewRefused(f"sighting {sighting.id} was confirmed already, {sighting.decided_by}")
    if sighting.verdict is Verdict.MATCH:
        raise ReviewRefused(f"sighting {sighting.id} is a match already (decided by {sighting.decided_by}): only "
                            f"needs-review candidates can be reviewed, there is nothing to {action}")  # fmt: skip
    return sighting


def _checked(actor: str, why: str) -> tuple[str, str]:
    """The analyst's name and reason, stripped; ReviewRefused when either is empty, too long or holds a
    control character (they are printed in reports and kept in the audit log)."""
    actor, why = actor.strip(), " ".join(why.split())
    for what, value, most in (("analyst name", actor, _MAX_NAME), ("reason (--why)", why, MAX_WHY)):
        if not value:
            raise ReviewRefused(f"the {what} is empty: say who decides and why")
        if CONTROL_CHARACTERS.search(value):
            raise ReviewRefused(f"the {what} {value[:80]!r} holds a control character")
        if len(value) > most:
            raise ReviewRefused(f"the {what} is {len(value):,} characters long (at most {most:,})")
    return actor, why
