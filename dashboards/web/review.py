"""The review queue: the needs-review candidates of the cases a user may see, newest first (the latest
crawl's doubts are the ones a victim is waiting on), each beside what it may be a copy of, and an
analyst's confirm or reject with a reason. The decision itself is `tracker.review`'s, which stores it with
the sighting and the allowlist in one transaction and logs it in the audit log: nothing is decided or
logged here that the CLI's `spreadtrace review confirm|reject` would not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from dashboards.web.context import current_user, dashboard, render, require, visible_case, visible_cases
from dashboards.web.flash import flash, flashed
from matcher.hashlist import CONTROL_CHARACTERS
from tracker.errors import ConcurrentWrites, ReviewRefused, UnknownSighting
from tracker.models import Reference, Sighting, User
from tracker.pictures.previews import with_evidence
from tracker.review import MAX_WHY, confirm, queue, reject
from tracker.states import Role

router = APIRouter()
Account = Annotated[User, Depends(current_user)]


@router.get("/review")
def review_queue(request: Request, user: Account, case: str = "") -> Response:
    board = dashboard(request)
    cases = visible_cases(request, user)
    shown = {visible_case(request, user, case).id} if case else {c.id for c in cases}
    candidates = sorted((s for s in queue(board.store, case or None) if s.case_id in shown),
                        key=lambda s: (s.first_seen, s.id), reverse=True)  # fmt: skip
    references: dict[int, Reference] = {}
    kept: set[int] = set()
    for case_id in dict.fromkeys(s.case_id for s in candidates):
        references.update((ref.id, ref) for ref in board.store.references(case_id))
        kept |= with_evidence(board.vault, case_id, [s.id for s in candidates if s.case_id == case_id])
    return render(request, "review.html.j2", user=user, cases=cases, case=case, candidates=candidates, references=references,
                  kept=kept, signals={s.id: signal_rows(s) for s in candidates}, may_decide=user.role is not Role.VIEWER,
                  flash=flashed(request), max_why=MAX_WHY)  # fmt: skip


@router.post("/review/{sighting_id}/confirm")
def confirm_candidate(request: Request, sighting_id: int, user: Account, why: Annotated[str, Form()] = "",
                      case: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    require(user, Role.ANALYST)
    sighting = _candidate(request, user, sighting_id)
    with _refusals(sighting_id):
        confirmed = confirm(dashboard(request).tracker, sighting.id, actor=user.name, why=_reason(why))
    flash(request, f"sighting {confirmed.id} confirmed: a copy, in reports and notices from now on")
    return _back(sighting, case)


@router.post("/review/{sighting_id}/reject")
def reject_candidate(request: Request, sighting_id: int, user: Account, why: Annotated[str, Form()] = "",
                     case: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    require(user, Role.ANALYST)
    sighting = _candidate(request, user, sighting_id)
    with _refusals(sighting_id):
        rejection = reject(dashboard(request).tracker, sighting.id, actor=user.name, why=_reason(why))
    also = f"; also rejected, the same picture elsewhere: {', '.join(str(s.id) for s in rejection.also)}" if rejection.also else ""
    flash(request, f"sighting {rejection.sighting.id} rejected: its media is never a candidate of that reference again{also}")
    return _back(sighting, case)


def signal_rows(sighting: Sighting) -> list[dict[str, object]]:
    """Each signal the matcher compared, as a row: distance against threshold, agreed or not, and what else
    it said (the variant that matched, why it could not be used, a video's coverage)."""
    rows: list[dict[str, object]] = []
    for signal in sighting.signals:
        if signal.get("kind") == "segments":
            coverage = signal.get("coverage")
            note = f"{coverage:.0%} of the copy matched" if isinstance(coverage, float) else "matched stretches"
            rows.append({"kind": "video stretches", "distance": None, "threshold": None, "agreed": None, "note": note})
            continue
        note = str(signal.get("unusable") or signal.get("variant") or "")
        if isinstance(signal.get("inliers"), int):
            spread = signal.get("spread")  # too small a patch of the reference is why enough inliers only ask for review
            where = f" over {spread:.0%} of the reference" if isinstance(spread, float) else ""
            note = f"{signal['inliers']} inliers{where}" + (f", {note}" if note else "")
        rows.append({"kind": signal.get("kind"), "distance": signal.get("distance"), "threshold": signal.get("threshold"),
                     "agreed": signal.get("agreed"), "note": note})  # fmt: skip
    return rows


def _candidate(request: Request, user: User, sighting_id: int) -> Sighting:
    """The sighting, or 404 when it is unknown or in a case ``user`` may not see."""
    try:
        sighting = dashboard(request).store.get_sighting(sighting_id)
    except UnknownSighting:
        raise HTTPException(404, "no such sighting") from None
    visible_case(request, user, sighting.case_id)
    return sighting


def _reason(why: str) -> str:
    """The reason as `tracker.review` keeps it, or a 400 naming the field (its own refusal would name the
    CLI's --why, and say 409 to a typing mistake)."""
    why = " ".join(why.split())
    if not why:
        raise HTTPException(400, "reason: required (it is kept with the decision and in the audit log)")
    if len(why) > MAX_WHY:
        raise HTTPException(400, f"reason: {len(why):,} characters, at most {MAX_WHY:,}")
    if CONTROL_CHARACTERS.search(why):
        raise HTTPException(400, "reason: holds a control character")
    return why


@contextmanager
def _refusals(sighting_id: int) -> Iterator[None]:
    """A decision the record refuses (decided meanwhile, a match already, a lost race) as a 409 saying why."""
    try:
        yield
    except ReviewRefused as exc:
        raise HTTPException(409, str(exc)) from None
    except ConcurrentWrites:
        raise HTTPException(409, f"sighting {sighting_id} kept changing while it was decided: reload and decide again") from None


def _back(sighting: Sighting, case: str) -> Response:
    """To the queue as it was shown: filtered to the candidate's case if it was."""
    where = "/review" + (f"?{urlencode({'case': sighting.case_id})}" if case == sighting.case_id else "")
    return RedirectResponse(where, status_code=303)
