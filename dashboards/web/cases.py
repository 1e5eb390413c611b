"""The cases list and a case's page: counts, the report's pictures as JSON (drawn by ``static/case.js``),
the sightings with blurred previews, and the per-item reveal (analysts and admins; logged)."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from PIL import Image

from dashboards.web.accounts import open_case_to
from dashboards.web.evidence import sealed_per_sighting
from dashboards.web.context import current_user, dashboard, render, require, visible_case, visible_cases
from tracker.clock import utc_now
from tracker.models import AuditEvent, Sighting, User
from tracker.pictures import build_pictures
from tracker.pictures.html import OTHER_HOSTS, PALETTE
from tracker.pictures.previews import kept_picture, kept_previews
from tracker.report import Report, build_report
from tracker.states import Role
from tracker.takedowns.deadlines import overdue
from tracker.takedowns.models import Notice

router = APIRouter()
Account = Annotated[User, Depends(current_user)]
_REVEALED = "revealed"  # session key: sightings this session may see unblurred, once each


@router.get("/")
def home(user: Account) -> Response:
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases")
def cases(request: Request, user: Account) -> Response:
    store = dashboard(request).store
    now = utc_now()
    rows = []
    for case in visible_cases(request, user):
        sightings = [s for s in store.sightings(case.id) if not s.rejected]
        notices = store.notices(case.id)
        rows.append({
            "id": case.id,
            "sightings": len(sightings),
            "online": sum(1 for s in sightings if s.status.still_online),
            "to_review": sum(1 for s in sightings if not s.confirmed and s.review is None),
            "overdue": sum(1 for n in notices if overdue(n, now)),
            "last_activity": max([case.created_at, *(s.last_seen for s in sightings), *(_last(n) for n in notices)]),
        })  # fmt: skip
    rows.sort(key=lambda row: str(row["last_activity"]), reverse=True)
    return render(request, "cases.html.j2", user=user, cases=rows)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, user: Account) -> Response:
    board = dashboard(request)
    report = _report(request, user, case_id)
    revealed = set(request.session.get(_REVEALED, []))
    sealed = sealed_per_sighting(board.vault, case_id)  # one read of the custody log: what is kept, and how much
    open_to = sorted(board.store.case_access().get(case_id, ()))
    history = {s.id: board.store.status_history(s.id) for s in report.sightings}
    return render(request, "case.html.j2", user=user, report=report, revealed=revealed, kept=set(sealed),
                  may_reveal=user.role is not Role.VIEWER, open_to=open_to, history=history, sealed=sealed)  # fmt: skip


@router.get("/cases/{case_id}/pictures.json")
def pictures(request: Request, case_id: str, user: Account) -> Response:
    """What ``static/case.js`` draws, in the HTML report's form (its drawing code is the report's)."""
    report = _report(request, user, case_id)
    drawn = build_pictures(dashboard(request).store, report)
    hosts = list(dict.fromkeys([*drawn.timeline.hosts, *(s.host for s in report.sightings)]))
    colours = {host: PALETTE[n] if n < len(PALETTE) else OTHER_HOSTS for n, host in enumerate(hosts)}
    body: dict[str, Any] = {"case": case_id, "colours": colours, "per_host": len(drawn.timeline.hosts) <= len(PALETTE),
                            **drawn.to_json()}  # fmt: skip
    return JSONResponse(body)


@router.get("/cases/{case_id}/sightings/{sighting_id}/preview")
def preview(request: Request, case_id: str, sighting_id: int, user: Account) -> Response:
    """Blurred and greyscale, made here: the picture itself never reaches the browser (CSS blur would send it)."""
    sighting = _sighting(request, user, case_id, sighting_id)
    made = kept_previews(dashboard(request).vault, case_id, [(sighting.id, sighting.media_url)],
                         radius=user.blur).by_sighting.get(sighting.id)  # fmt: skip
    if made is None:
        raise HTTPException(404, "no picture of this sighting is kept")
    return Response(made.jpeg, media_type="image/jpeg")


@router.post("/cases/{case_id}/sightings/{sighting_id}/reveal")
def reveal(request: Request, case_id: str, sighting_id: int, user: Account) -> Response:
    """Let this session see one sighting's picture once, and log who asked. The picture is served by
    `revealed_picture`; the grant is used up by it, so a reload shows the preview again."""
    require(user, Role.ANALYST)
    sighting = _sighting(request, user, case_id, sighting_id)
    if user.daily_reveals is not None and _reveals_today(request, user) >= user.daily_reveals:
        raise HTTPException(429, f"your own limit of {user.daily_reveals} reveals a day is reached (change it in Settings)")
    dashboard(request).store.log_event(AuditEvent(utc_now(), user.name, "reveal", case_id,
                                                  {"sighting": sighting.id, "via": "dashboard"}))  # fmt: skip
    granted = [s for s in request.session.get(_REVEALED, []) if s != sighting.id]
    request.session[_REVEALED] = [*granted, sighting.id][-20:]
    return RedirectResponse(f"/cases/{case_id}#sighting-{sighting.id}", status_code=303)


@router.get("/cases/{case_id}/sightings/{sighting_id}/picture")
def revealed_picture(request: Request, case_id: str, sighting_id: int, user: Account) -> Response:
    require(user, Role.ANALYST)
    sighting = _sighting(request, user, case_id, sighting_id)
    granted = request.session.get(_REVEALED, [])
    if sighting.id not in granted:
        raise HTTPException(403, "reveal this sighting first")
    request.session[_REVEALED] = [s for s in granted if s != sighting.id]
    picture = kept_picture(dashboard(request).vault, case_id, sighting.id, sighting.media_url)
    if picture is None:
        raise HTTPException(404, "no picture of this sighting is kept")
    return Response(_reencoded(picture.data), media_type="image/jpeg")


@router.post("/cases/{case_id}/access")
def set_access(request: Request, case_id: str, user: Account, names: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Admins open a case to the named accounts only (empty: to everyone). Unknown names are refused, so a
    typo does not lock out the analyst it was meant for."""
    require(user, Role.ADMIN)
    case = visible_case(request, user, case_id)
    wanted = names.replace(",", " ").lower().split()
    if unknown := open_case_to(dashboard(request).store, case.id, wanted, actor=user.name, via="dashboard"):
        raise HTTPException(400, f"names: no account called {', '.join(unknown)}")
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


def _reveals_today(request: Request, user: User) -> int:
    today = utc_now()[:10] + "T00:00:00Z"
    limit = (user.daily_reveals or 0) + 1
    return len(dashboard(request).store.recent_audit_events(actor=user.name, action="reveal", since=today, limit=limit))


def _reencoded(data: bytes) -> bytes:
    """The picture's pixels only: whatever else the file held (EXIF, a location, a comment) stays behind."""
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def _report(request: Request, user: User, case_id: str) -> Report:
    return build_report(dashboard(request).store, visible_case(request, user, case_id).id)


def _sighting(request: Request, user: User, case_id: str, sighting_id: int) -> Sighting:
    """The case's sighting, or 404: an id from another case is not found here, whatever it is there."""
    visible_case(request, user, case_id)
    found = next((s for s in dashboard(request).store.sightings(case_id) if s.id == sighting_id), None)
    if found is None or found.rejected:
        raise HTTPException(404, "no such sighting in this case")
    return found


def _last(notice: Notice) -> str:
    return max(t for t in (notice.created_at, notice.sent_at, notice.closed_at) if t)
