"""The sites page: each registry entry's last visit (how it ended, what failed and why) and next one, as
`spreadtrace site status` reads them, and the hosts to watch that the visible cases' reports name, each
added to the registry by one click (analysts and admins; audited) through `spreadtrace site add`'s own
`crawler.sites.add_site`."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from crawler.errors import SiteConfigError
from crawler.sites import SiteRegistry, add_site
from dashboards.web.context import Dashboard, current_user, dashboard, render, require, visible_cases
from spreadtrace.status import site_statuses
from tracker.clock import utc_now
from tracker.models import AuditEvent, User
from tracker.pictures import build_pictures
from tracker.pictures.watch import WatchedHost
from tracker.report import build_report
from tracker.states import PageOutcome, Role

router = APIRouter()
Account = Annotated[User, Depends(current_user)]
REASONS_SHOWN = 4  # per site; the rest are counted, the journal keeps them all


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A host to watch, over every visible case whose report names it."""

    host: str
    links: int
    pages: int
    cases: tuple[str, ...]
    example_url: str
    first_seen: str
    last_seen: str


@router.get("/sites")
def sites_page(request: Request, user: Account) -> Response:
    board = dashboard(request)
    try:
        registry, problem = SiteRegistry.load(board.sites_file), None
    except SiteConfigError as exc:  # a hand edit gone wrong: say so, and show what can be shown
        registry, problem = SiteRegistry(board.sites_file), str(exc)
    rows = [_with_failures(board, row, registry) for row in site_statuses(board.store, board.home, list(registry))]
    added = request.query_params.get("added")
    return render(request, "sites.html.j2", user=user, sites=rows, problem=problem, registry=board.sites_file,
                  suggestions=_suggestions(request, user, registry), may_watch=user.role is not Role.VIEWER,
                  added=added if added in {row["site"] for row in rows} else None)  # fmt: skip


@router.post("/sites/watch")
def watch_host(request: Request, user: Account, host: Annotated[str, Form(max_length=300)] = "") -> Response:
    """Add a suggested host to the registry as `spreadtrace site add` would, with the CLI's defaults: its
    front page and the page the copies linked to first as start URLs, its own domain, visited daily."""
    require(user, Role.ANALYST)
    host = host.strip().lower()
    if not host or not host.isprintable() or " " in host:
        raise HTTPException(400, "host: expected a host name such as imgdrop.example")
    board = dashboard(request)
    try:
        registry = SiteRegistry.load(board.sites_file)
    except SiteConfigError as exc:
        raise HTTPException(409, f"the site registry cannot be read, so nothing was added: {exc}") from None
    try:
        known = registry.site_of(f"http://{host}/")
    except ValueError:  # "[::1" and the like: not a host
        raise HTTPException(400, "host: expected a host name such as imgdrop.example") from None
    if known is not None:
        raise HTTPException(409, f"{host} is watched already: site {known} covers it")
    suggestion = next((s for s in _suggestions(request, user, registry) if s.host == host), None)
    if suggestion is None:
        raise HTTPException(400, f"host: {host} is not among the hosts to watch of the cases you can see")
    name, start_urls, domain = _entry(suggestion)
    if any(site.name == name for site in registry):
        raise HTTPException(409, f"a site named {name} exists already and does not cover {host}: add it with spreadtrace site add")
    try:
        add_site(board.sites_file, name, start_urls, allowed_domains=(domain,))
    except SiteConfigError as exc:  # the name taken meanwhile (a second click), or a link the registry refuses
        raise HTTPException(409, str(exc)) from None
    detail: dict[str, object] = {"site": name, "host": host, "start_urls": start_urls, "cases": list(suggestion.cases),
                                 "registry": str(board.sites_file), "via": "dashboard"}  # fmt: skip
    board.store.log_event(AuditEvent(utc_now(), user.name, "site-add", None, detail))
    return RedirectResponse(f"/sites?added={name}#site-{name}", status_code=303)


def _suggestions(request: Request, user: User, registry: SiteRegistry) -> list[Suggestion]:
    """The report's hosts to watch (`tracker.pictures.watch`, as the HTML report lists them), of each case
    ``user`` may see, merged by host; the registry as it is now decides what is still unwatched."""
    store = dashboard(request).store
    merged: dict[str, list[tuple[str, WatchedHost]]] = {}
    for case in visible_cases(request, user):
        for watched in build_pictures(store, build_report(store, case.id), registry.site_of).hosts_to_watch:
            merged.setdefault(watched.host, []).append((case.id, watched))
    found = []
    for host, named in merged.items():
        hosts = [w for _, w in named]
        first = min(hosts, key=lambda w: (w.first_seen, w.example_url))
        found.append(Suggestion(host, sum(w.links for w in hosts), sum(w.pages for w in hosts), tuple(c for c, _ in named),
                                first.example_url, first.first_seen, max(w.last_seen for w in hosts)))  # fmt: skip
    return sorted(found, key=lambda s: (-s.links, -s.pages, s.host))


def _entry(suggestion: Suggestion) -> tuple[str, list[str], str]:
    """The new site's name (the host, spelt as site names are), start URLs and domain."""
    example = urlsplit(suggestion.example_url)
    netloc = example.netloc.rpartition("@")[2]  # a link's user:password never goes into the registry
    name = re.sub(r"[^a-z0-9]+", "-", netloc.lower()).strip("-")[:64].strip("-")
    linked = example._replace(netloc=netloc, fragment="").geturl()
    return name, list(dict.fromkeys([f"{example.scheme}://{netloc}/", linked])), example.hostname or ""


def _with_failures(board: Dashboard, row: dict[str, Any], registry: SiteRegistry) -> dict[str, Any]:
    """The status row, with the site's entry and why its last visit's pages failed or were skipped, as its
    journal recorded them (a visit stopped or timed out says nothing itself: it resumes next run)."""
    site = registry.get(row["site"])
    reasons: Counter[str] = Counter()
    if row["visit_id"] is not None:
        for page in board.store.page_visits(row["visit_id"]):
            if page.outcome in (PageOutcome.FAILED, PageOutcome.SKIPPED):
                reasons[f"{page.outcome}: {page.reason or 'no reason recorded'}"] += 1
    ranked = reasons.most_common()
    return {**row, "start_urls": site.start_urls, "allowed_domains": site.allowed_domains,
            "reasons": ranked[:REASONS_SHOWN], "more_reasons": sum(n for _, n in ranked[REASONS_SHOWN:])}  # fmt: skip
