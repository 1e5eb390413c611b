"""A capture's full-page screenshot, taken in a worker process of `crawler.screenshots` and sealed into the
case's vault from there (the PNG shows the reported material: it never crosses to the crawl process and
never touches the disk unsealed).

Each worker keeps one headless Chromium (`tracker.chromium`) for its life and gives each screenshot a
fresh context: no cookies, cache or storage carried from one page to the next. The page is as hostile as
any other, so:
- every request it makes passes the crawl's private-address guard (`crawler.middlewares.refused_address`);
  a site with ``allow_private`` opens only its own hosts, as in the crawl;
- WebSockets, service workers, downloads, pop-ups and dialogs go nowhere;
- loading is bounded by ``timeout_s`` and the picture by ``max_height`` (a page can claim a height of
  millions of pixels); a script that never yields is the pool's to kill (its task deadline).
A screenshot that cannot be taken raises `ShotFailed` saying why: a timeout, blocked (a refused address,
HTTP 403/429/451), or a login wall (HTTP 401/407, or a password field on the page).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.middlewares import private_address_of
from crawler.sites import Site
from tracker.chromium import launch
from tracker.clock import utc_now
from tracker.evidence import Artefact, open_vault, write_warc
from tracker.models import HttpExchange

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Response, Route

_BLOCKED_STATUS = MappingProxyType({403: "forbidden", 429: "rate limited", 451: "unavailable for legal reasons"})
_LOGIN_STATUS = frozenset({401, 407})
_MAX_REQUESTS = 500
_MAX_DOCUMENT = 10 * 1024 * 1024  # the crawl's own page cap (DOWNLOAD_MAXSIZE)  # a page that asks for more is feeding us, not showing us something


@dataclass(frozen=True, slots=True)
class ShotSettings:
    """What every worker of a crawl shares (its initializer's argument)."""

    home: str
    keys: str
    chromium: str
    organisation: str
    analyst: str
    tool: str
    user_agent: str
    timeout_s: float
    max_height: int
    width: int = 1280
    height: int = 800


@dataclass(frozen=True, slots=True)
class ShotJob:
    case_id: str
    sighting: int
    capture_seq: int
    page_url: str
    private_site: Site | None  # the sighting's site when it sets allow_private: its own hosts may be private


class ShotFailed(Exception):
    """Why a screenshot was not taken, in words for the analyst ("timeout: ...", "blocked: ...", "login wall: ...")."""


class _Worker:
    """What a worker process keeps between screenshots: its settings, and one Chromium for its life."""

    def __init__(self) -> None:
        self.settings: ShotSettings | None = None
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None

    def running_browser(self, settings: ShotSettings) -> Browser:
        if self.browser is not None and self.browser.is_connected():
            return self.browser
        from playwright.sync_api import sync_playwright

        if self.playwright is None:
            self.playwright = sync_playwright().start()
        self.browser = launch(self.playwright, settings.chromium)
        return self.browser

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
        if self.playwright is not None:
            self.playwright.stop()
        self.playwright = self.browser = None


_WORKER = _Worker()  # one per process: a pool's worker, or a process that runs `shoot` itself (the tests)


def init_worker(settings: ShotSettings) -> None:
    _WORKER.settings = settings


def close_worker() -> None:
    """Close the worker's Chromium and Playwright driver (a worker process ending does it by dying; a
    process that ran `shoot` itself, as the tests do, calls this)."""
    _WORKER.close()


def shoot(job: ShotJob) -> int:
    """Take ``job``'s screenshot and seal it as a custody entry; returns the entry's number."""
    settings = _WORKER.settings
    assert settings is not None, "init_worker was not run"
    browser = _WORKER.running_browser(settings)
    png, document, detail = _screenshot(browser, settings, job)
    vault = open_vault(Path(settings.home), settings.keys)
    info = {"software": settings.tool, "format": "WARC File Format 1.1", "browser": f"Chromium {browser.version}",
            "operator": f"{settings.organisation} / {settings.analyst}",
            "description": f"spreadtrace screenshot: case {job.case_id}, sighting {job.sighting}: the page as Chromium fetched it"}  # fmt: skip
    with tempfile.TemporaryFile() as warc:  # nameless, as every plaintext of a capture
        if document is not None:
            write_warc(warc, [document], info, f"sighting-{job.sighting}-screenshot.warc.gz")
            warc.seek(0)
        artefacts = [Artefact("screenshot", "image/png", png)] + ([Artefact("warc", "application/warc", warc)] if document else [])
        entry = vault.record(job.case_id, "screenshot", settings.analyst, {
            "sighting": job.sighting, "capture_seq": job.capture_seq, **detail,
            "browser": f"Chromium {browser.version}",
            "collector": {"organisation": settings.organisation, "analyst": settings.analyst},
            "tool": settings.tool,
        }, artefacts)  # fmt: skip
    return entry.seq


def _screenshot(browser: Browser, settings: ShotSettings, job: ShotJob) -> tuple[bytes, HttpExchange | None, dict[str, Any]]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    guard = _Guard(job.private_site)
    context = browser.new_context(
        viewport={"width": settings.width, "height": settings.height},
        user_agent=f"{settings.user_agent} (screenshot)" if settings.user_agent else None,  # a site's operator tells them apart
        service_workers="block", accept_downloads=False, ignore_https_errors=True,  # as the crawl, which fetched it
    )  # fmt: skip
    try:
        context.route("**/*", guard.route)
        context.route_web_socket("**/*", lambda ws: None)  # never connected to the server: a dead socket
        page = context.new_page()
        context.on("page", lambda other: other.close() if other != page else None)
        page.on("dialog", lambda dialog: dialog.dismiss())
        page.set_default_timeout(settings.timeout_s * 1000)
        try:
            response = page.goto(job.page_url, wait_until="load", timeout=settings.timeout_s * 1000)
        except PlaywrightTimeout:
            raise ShotFailed(f"timeout: {job.page_url} did not load within {settings.timeout_s:g} s") from None
        except PlaywrightError as exc:
            if guard.refused_document:
                raise ShotFailed(f"blocked: {guard.refused_document}") from None
            raise ShotFailed(f"failed: {job.page_url}: {_first_line(exc)}") from None
        status = response.status if response is not None else None
        _refuse_walls(page, status, job.page_url)
        height = _page_height(page)
        truncated = height > settings.max_height
        clip = {"x": 0, "y": 0, "width": settings.width, "height": settings.max_height} if truncated else None
        try:
            png = page.screenshot(full_page=True, clip=clip, animations="disabled", type="png")  # type: ignore[arg-type]
        except PlaywrightTimeout:
            raise ShotFailed(f"timeout: the screenshot of {job.page_url} took over {settings.timeout_s:g} s") from None
        taken_at = utc_now()
        document = _document(response, taken_at) if response is not None else None
        detail = {
            "page_url": job.page_url, "final_url": page.url, "taken_at": taken_at, "http_status": status,
            "viewport": {"width": settings.width, "height": settings.height},
            "page_height": height, "truncated": truncated, "refused_requests": guard.refused[:20],
            "document_in_warc": document is not None,
        }  # fmt: skip
        return png, document, detail
    finally:
        context.close()


def _document(response: Response, at: str) -> HttpExchange | None:
    """The page's own HTML as Chromium received it (headers as Chromium reports them: names lowercased), and
    the redirects before it: for a file reached through a link, the only copy of the linking page's bytes."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        body = response.body()
    except PlaywrightError:  # no body kept (a download, a crashed renderer): the picture stands alone
        return None
    if len(body) > _MAX_DOCUMENT:
        return None
    hops: list[HttpExchange] = []
    earlier = response.request.redirected_from
    while earlier is not None and len(hops) < 20:
        hop = earlier.response()
        if hop is not None:
            hops.append(HttpExchange(hop.url, at, hop.status, tuple(hop.all_headers().items()), None,
                                     tuple(earlier.all_headers().items()), earlier.method))  # fmt: skip
        earlier = earlier.redirected_from
    address = response.server_addr()
    return HttpExchange(response.url, at, response.status, tuple(response.all_headers().items()), body,
                        tuple(response.request.all_headers().items()), response.request.method,
                        ip=address["ipAddress"] if address else None, redirects=tuple(reversed(hops)))  # fmt: skip


def _refuse_walls(page: Page, status: int | None, url: str) -> None:
    if status in _LOGIN_STATUS:
        raise ShotFailed(f"login wall: {url} answered HTTP {status}")
    if status is not None and status in _BLOCKED_STATUS:
        raise ShotFailed(f"blocked: {url} answered HTTP {status} ({_BLOCKED_STATUS[status]})")
    if page.locator("input[type=password]").count():
        raise ShotFailed(f"login wall: {url} shows a password field")


def _page_height(page: Page) -> int:
    height = page.evaluate("() => Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)")
    return int(height) if isinstance(height, (int, float)) else 0


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class _Guard:
    """The crawl's private-address rule, for every request the page makes."""

    def __init__(self, private_site: Site | None) -> None:
        self.private_site = private_site
        self.verdicts: dict[str, str | None] = {}
        self.refused: list[str] = []
        self.refused_document: str | None = None
        self.requests = 0

    def route(self, route: Route) -> None:
        request = route.request
        self.requests += 1
        why = self.why_refused(request.url)
        if why is None and self.requests > _MAX_REQUESTS:
            why = f"over {_MAX_REQUESTS} requests from one page"
        if why is None:
            route.continue_()
            return
        self.refused.append(f"{request.url}: {why}")
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.refused_document = f"{request.url}: {why}"
        route.abort("blockedbyclient")

    def why_refused(self, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return None if parts.scheme in ("data", "blob") else f"scheme {parts.scheme!r}"
        if self.private_site is not None and self.private_site.covers(url):
            return None
        host = (parts.hostname or "").lower()
        if host not in self.verdicts:
            self.verdicts[host] = private_address_of(host)
        address = self.verdicts[host]
        return None if address is None else f"{host} is a private address ({address})"
