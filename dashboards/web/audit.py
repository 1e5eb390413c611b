"""The audit log, for admins: every login, reveal, export, review decision and notice action, newest first,
filtered by who, what and which case, a page at a time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from dashboards.web.context import current_user, dashboard, render, require
from tracker.models import User
from tracker.states import Role

router = APIRouter()
PAGE = 100


@router.get("/audit")
def audit_page(request: Request, user: Annotated[User, Depends(current_user)],
               actor: Annotated[str, Query(max_length=64)] = "", action: Annotated[str, Query(max_length=64)] = "",
               case: Annotated[str, Query(max_length=200)] = "", before: Annotated[int | None, Query(ge=1)] = None) -> Response:  # fmt: skip
    require(user, Role.ADMIN)
    events = dashboard(request).store.recent_audit_events(actor=actor.strip() or None, action=action.strip() or None,
                                                          case_id=case.strip() or None, before_id=before, limit=PAGE + 1)  # fmt: skip
    more = len(events) > PAGE
    events = events[:PAGE]
    return render(request, "audit.html.j2", user=user, events=events, actor=actor, action=action, case=case,
                  older=events[-1].id if more and events else None)  # fmt: skip
