"""What every route reads: the store, the vault, the templates, who is logged in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dashboards.web.limits import LoginLimiter
from tracker.errors import UnknownCase
from tracker.evidence.vault import EvidenceVault
from tracker.models import Case, User
from tracker.service import Tracker
from tracker.states import Role
from tracker.store import Store

TEMPLATES = Path(__file__).resolve().parent / "templates"
_RANK = {Role.VIEWER: 0, Role.ANALYST: 1, Role.ADMIN: 2}


@dataclass
class Dashboard:
    store: Store
    vault: EvidenceVault
    templates: Jinja2Templates
    limiter: LoginLimiter
    tracker: Tracker  # one for the app, as the CLI's App keeps one: thread-safe, its matcher built only if used
    home: Path  # where `watch` keeps its schedule (HOME/schedule.db)
    settings: Any  # the home's (Scrapy Settings): SMTP, notice and site-registry settings, as the CLI reads them
    sites_file: Path  # the site registry, read afresh on each use: people edit it by hand too


class LoginRequired(Exception):
    """Raised by `current_user` when the request carries no live session: answered with the login page."""


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def current_user(request: Request) -> User:
    """The logged-in account, read afresh from the store: a deleted account or a changed role counts at once,
    and so does a logout elsewhere (a copy of the cookie, kept or stolen, is worth nothing after it)."""
    name, since = request.session.get("user"), request.session.get("since")
    user = dashboard(request).store.user(name) if isinstance(name, str) else None
    if user is None or (user.sessions_from is not None and (not isinstance(since, str) or since < user.sessions_from)):
        request.session.clear()
        raise LoginRequired()
    return user


def require(user: User, role: Role) -> None:
    if _RANK[user.role] < _RANK[role]:
        raise HTTPException(403, f"{user.role} accounts may not do this")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page, with the CSRF token its forms carry (asgi-csrf puts a getter in the scope)."""
    token = request.scope.get("csrftoken")
    context.setdefault("user", None)
    return dashboard(request).templates.TemplateResponse(
        request, template, {**context, "csrftoken": token() if token else ""}, status_code=status_code
    )


def visible_cases(request: Request, user: User) -> list[Case]:
    """The cases ``user`` may see on any page (withdrawn cases are gone for everyone). Every page that lists
    cases, sightings, reviews or notices reads this, so that a restriction holds on all of them."""
    store = dashboard(request).store
    access = store.case_access()
    return [case for case in store.list_cases() if case.withdrawn_at is None and _may_see(user, access.get(case.id))]


def visible_case(request: Request, user: User, case_id: str) -> Case:
    """The case, or 404 when it is unknown, withdrawn or not ``user``'s to see: a guessed id tells nothing."""
    store = dashboard(request).store
    try:
        case = store.get_case(case_id)
    except UnknownCase:
        raise HTTPException(404, "no such case") from None
    if case.id != case_id or case.withdrawn_at is not None or not _may_see(user, store.case_access().get(case.id)):
        raise HTTPException(404, "no such case")
    return case


def _may_see(user: User, open_to: frozenset[str] | None) -> bool:
    """Admins see every case; a restricted case is seen by the accounts it names only."""
    return open_to is None or user.role is Role.ADMIN or user.name in open_to
