"""Log in and out. Every attempt, refused or not, is an audit event; wrong passwords are rate-limited
(`dashboards.web.limits`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dashboards.web.accounts import authenticate
from dashboards.web.context import current_user, dashboard, render
from tracker.clock import utc_now, utc_now_precise
from tracker.models import AuditEvent, User

router = APIRouter()


def client_address(request: Request) -> str:
    # The socket's peer: behind a reverse proxy every client is the proxy, and the per-address limit then
    # limits everyone together (the per-account one still holds). No X-Forwarded-For: anyone can forge it.
    return request.client.host if request.client else "unknown"


@router.get("/login")
def login_page(request: Request) -> Response:
    if isinstance(request.session.get("user"), str):
        return RedirectResponse("/cases", status_code=303)
    return render(request, "login.html.j2")


@router.post("/login")
def login(request: Request, name: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=1024)] = "") -> Response:  # fmt: skip
    board = dashboard(request)
    address = client_address(request)
    name = name.strip().lower()
    if board.limiter.blocked(name, address):
        _log(request, name, "login-refused", {"address": address, "why": "too many wrong passwords"})
        return render(request, "login.html.j2", 429, error="Too many wrong passwords: wait 15 minutes and try again.")
    user = authenticate(board.store, name, password) if name and password else None
    if user is None:
        board.limiter.failed(name, address)
        _log(request, name, "login-failed", {"address": address})
        return render(request, "login.html.j2", 401, error="Wrong name or password.")
    board.limiter.succeeded(name)
    request.session.clear()  # nothing from before the login carries over into the account's session
    request.session["user"] = user.name
    request.session["since"] = utc_now_precise()
    _log(request, user.name, "login", {"address": address})
    return RedirectResponse("/cases", status_code=303)


@router.post("/logout")
def logout(request: Request, user: Annotated[User, Depends(current_user)]) -> Response:
    request.session.clear()
    # A signed cookie cannot be taken back: the account's sessions begun before now stop counting instead.
    dashboard(request).store.end_sessions(user.name, utc_now_precise())
    _log(request, user.name, "logout", {"address": client_address(request)})
    return RedirectResponse("/login", status_code=303)


def _log(request: Request, actor: str, action: str, detail: dict[str, object]) -> None:
    dashboard(request).store.log_event(AuditEvent(utc_now(), actor or "(no name)", action, None, detail))
