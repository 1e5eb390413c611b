"""The dashboard as one ASGI app: security headers outermost (on every answer, refusals included), then
CSRF (asgi-csrf), then signed-cookie sessions, then the routes behind a login check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import jinja2
from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from crawler.config import match_policy
from dashboards.web import audit, auth, cases, choices, evidence, overview, review, sites, takedowns
from dashboards.web.context import TEMPLATES, Dashboard, LoginRequired, render
from dashboards.web.headers import SecurityHeaders
from dashboards.web.limits import LoginLimiter
from dashboards.web.secret import session_secret
from tracker import Tracker, open_store
from tracker.evidence.vault import open_vault
from tracker.pictures.html import when

STATIC = Path(__file__).resolve().parent.parent / "static"
REPORT_SCRIPT = Path(__file__).resolve().parent.parent.parent / "tracker" / "pictures" / "templates" / "report.js"
SESSION_HOURS = 8  # a working day: a session left open overnight on a shared machine has ended
# Paths answered without a session: the login form and what it needs to look right.
PUBLIC = ("/login", "/static/dashboard.css")


class _Everywhere:
    """asgi-csrf's ``always_protect``: it skips the check on a POST that carries no cookie at all, which
    would leave the login form open to login CSRF; every path is protected instead."""

    def __contains__(self, path: object) -> bool:
        return True


def create_app(home: Path, settings: Any) -> ASGIApp:
    """The dashboard over the store and the evidence vault that ``settings`` (a spreadtrace home's) name."""
    secret = session_secret(home)
    store = open_store(settings["SPREADTRACE_STORE_URI"])
    # Every template escapes: Starlette's default (select_autoescape) goes by the file's extension, and
    # `.html.j2` is not one it knows, so a page URL a hostile site chose would have been written as markup.
    templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True))
    templates.env.filters["when"] = when
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)  # no API browser: locked down
    tracker = Tracker(store, match_policy(settings))
    api.state.dashboard = Dashboard(store, open_vault(home, settings["SPREADTRACE_EVIDENCE_KEYS"]), templates, LoginLimiter(),
                                    tracker, home, settings, Path(settings["SPREADTRACE_SITES_FILE"]))  # fmt: skip
    api.include_router(auth.router)
    api.include_router(cases.router)
    api.include_router(choices.router)
    api.include_router(audit.router)
    api.include_router(evidence.router)
    api.include_router(review.router)
    api.include_router(takedowns.router)
    api.include_router(sites.router)
    api.include_router(overview.router)
    api.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @api.get("/report/report.js")
    def report_script() -> Response:
        # The HTML report's drawing code, served as it is: the case page draws what the report draws.
        return Response(REPORT_SCRIPT.read_bytes(), media_type="text/javascript")

    @api.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    @api.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, exc: StarletteHTTPException) -> Response:
        return render(request, "error.html.j2", exc.status_code, status=exc.status_code, message=exc.detail)

    gated = _LoginGate(api)
    sessions = SessionMiddleware(gated, secret_key=secret, session_cookie="spreadtrace_session",
                                 max_age=SESSION_HOURS * 3600, same_site="strict", https_only=False)  # fmt: skip
    protected = asgi_csrf(sessions, signing_secret=secret, always_protect=_Everywhere(), cookie_samesite="Strict")
    return SecurityHeaders(protected)


class _LoginGate:
    """Anything but the login page, asked without a session, is answered by a redirect to it and nothing
    else: a route that forgot its `current_user` still shows nothing (the static vendored files included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] not in PUBLIC and not isinstance(scope["session"].get("user"), str):
            await RedirectResponse("/login", status_code=303)(scope, receive, send)
            return
        await self.app(scope, receive, send)
