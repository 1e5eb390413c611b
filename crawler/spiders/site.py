"""One generic spider for every registered site: follow its pages, fetch the media they show, and re-check
every copy already on record.

The unit of work is a page. A page's media are fetched from its own callback (through the downloader and
its middlewares, not the scheduler), so one worker records everything a page shows, and the visit journal
(`tracker.VisitStore`) can mark the page done once its observations are recorded. That journal, not
Scrapy's dupefilter, decides which pages a visit fetches: it survives a SIGKILL (pages claimed but not done
are fetched again on resume) and is shared by distributed workers. Every request bypasses the HTTP cache,
and a response that still comes from one is never evidence that a page is online.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import task
from twisted.python.failure import Failure

from crawler.distributed import HEARTBEAT_SECONDS, Coordinator
from crawler.discovery import MediaRef, discover_media, media_from_selectors, page_metadata
from crawler.errors import MediaTooLarge
from crawler.items import MediaItem, PageContext, PageItem
from crawler.record_store import crawl_store
from crawler.sites import Site, SiteRegistry
from crawler.spool import Spooled
from tracker import Store
from tracker.models import Visit

# Where a site sends a page it took down: its front page, or a sign-in wall.
_LOGIN_PATH = re.compile(r"/(log-?in|sign-?in|signin|account|auth|session)s?\b", re.IGNORECASE)
_MEDIA_CACHE_SIZE = 2048  # media outcomes remembered per visit, so a file embedded on many pages is fetched once


@dataclass(frozen=True, slots=True)
class MediaResult:
    status: int | None
    content_type: str | None
    sha256: str | None
    error: str | None
    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None


class SiteSpider(scrapy.Spider):
    name = "site"
    allowed_domains: list[str]
    max_pages: int
    media_max_bytes: int
    video_max_bytes: int
    links: LinkExtractor
    store: Store
    visit: Visit
    coordinator: Coordinator | None
    _heartbeat: task.LoopingCall | None = None
    registry: SiteRegistry
    _follow: tuple[re.Pattern[str], ...]
    _deny: tuple[re.Pattern[str], ...]
    _removed: tuple[re.Pattern[str], ...]

    def __init__(self, site: Site | str, visit_id: str | None = None, seed: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_name = site if isinstance(site, str) else site.name
        self.site: Site | None = site if isinstance(site, Site) else None
        self.visit_id = visit_id
        self.seed = seed  # distributed: only one worker puts the start, pending and re-check pages in the queue
        self._media: OrderedDict[str, asyncio.Future[MediaResult]] = OrderedDict()
        self._pages: set[str] = set()  # claimed by this worker: the journal is asked once per URL
        self._known: dict[str, set[str]] = {}  # page URL -> media URLs with a sighting there

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SiteSpider:
        spider: SiteSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.registry = SiteRegistry.load(Path(settings["SPREADTRACE_SITES_FILE"]))
        if spider.site is None:  # `scrapy crawl site -a site=NAME` from the repository root
            spider.site = spider.registry.get(spider.site_name)
        site = spider.site
        # Settings are still open in from_crawler (Scrapy >= 2.11): each site gets its own politeness.
        if site.delay is not None:
            settings.set("DOWNLOAD_DELAY", site.delay, priority="spider")
            settings.set("AUTOTHROTTLE_START_DELAY", site.delay, priority="spider")
        if site.concurrency is not None:
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", site.concurrency, priority="spider")
        settings.set("ROBOTSTXT_OBEY", site.robots, priority="spider")
        spider.allowed_domains = list(site.allowed_domains)
        spider.max_pages = site.max_pages or settings.getint("SPREADTRACE_MAX_PAGES_PER_VISIT")
        spider.media_max_bytes = settings.getint("SPREADTRACE_IMAGE_MAX_BYTES")
        spider.video_max_bytes = settings.getint("SPREADTRACE_VIDEO_MAX_BYTES")
        # Domains are checked by hostname in _follows (Site.covers): LinkExtractor's allow_domains compares the host
        # *with its port*, so it would refuse every link of a site served on a non-default port.
        spider.links = LinkExtractor()
        # Compiled once: they are tried on every link and every page.
        spider._follow, spider._deny, spider._removed = site.follow_patterns(), site.deny_patterns(), site.removed_patterns()
        spider.store = crawl_store(crawler)
        spider.coordinator = None
        if settings.getbool("SPREADTRACE_DISTRIBUTED"):
            coordinator = Coordinator(settings["SPREADTRACE_REDIS_URL"], site.name)
            unfinished = [v.id for v in spider.store.visits(site.name, 50) if v.finished_at is None]
            resume = settings.getbool("SPREADTRACE_RESUME") and unfinished
            spider.visit_id = coordinator.join(unfinished[0] if resume else f"{site.name}-{uuid.uuid4().hex[:12]}")
            spider.seed = coordinator.seeder
            coordinator.apply(settings)
            spider.coordinator = coordinator
            crawler.signals.connect(spider._beat_start, signal=signals.spider_opened)
            crawler.signals.connect(spider._beat_stop, signal=signals.spider_closed)
            crawler.signals.connect(spider._idle, signal=signals.spider_idle)
            crawler.signals.connect(spider._busy, signal=signals.response_received)
        spider.visit = spider.store.begin_visit(
            site.name, spider.visit_id, resume=settings.getbool("SPREADTRACE_RESUME")
        )
        for sighting in spider.store.sightings_of_site(site.name):
            spider._known.setdefault(sighting.page_url, set()).add(sighting.media_url)
        return spider

    def _beat_start(self, spider: Any) -> None:
        assert self.coordinator is not None
        # Made here, not in from_crawler: a LoopingCall imports the reactor, which must not be installed early.
        self._heartbeat = task.LoopingCall(self.coordinator.beat)
        self._heartbeat.start(HEARTBEAT_SECONDS, now=False)

    def _idle(self, spider: Any) -> None:
        assert self.coordinator is not None
        if self.coordinator.keep_waiting():
            raise DontCloseSpider("other workers may still queue pages")

    def _busy(self, response: Response, request: Any, spider: Any) -> None:
        assert self.coordinator is not None
        self.coordinator.mark("busy")

    def _beat_stop(self, spider: Any, reason: str) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()

    # -- which pages -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        assert self.site is not None
        if not self.seed:
            return
        pending = self.store.pending_pages(self.visit.id)  # claimed by a killed run of this visit, not done
        if pending:
            self.logger.warning("resuming visit %s of %s: %d pages left", self.visit.id, self.site.name, len(pending))
        for url in self.site.start_urls:
            request = self._claim(url, "start")
            if request is not None:
                yield request
        for url, role in pending:
            self._pages.add(url)
            yield self._page_request(url, role)
        for url in self._known:  # every page with a sighting is re-checked, whatever the page budget
            request = self._claim(url, "recheck", cap=None)
            if request is not None:
                yield request

    def _claim(self, url: str, role: str, cap: int | None | bool = True) -> scrapy.Request | None:
        if url in self._pages:
            return None
        self._pages.add(url)
        limit = self.max_pages if cap is True else None
        if not self.store.claim_page(self.visit.id, url, role, limit):
            return None
        return self._page_request(url, role)

    def _page_request(self, url: str, role: str) -> scrapy.Request:
        meta = {"spreadtrace_role": role, "dont_cache": True, "handle_httpstatus_list": [404, 410]}
        return scrapy.Request(url, callback=self.parse, errback=self.page_failed, meta=meta, dont_filter=True)

    def _follows(self, url: str) -> bool:
        assert self.site is not None
        if not self.site.covers(url) or any(p.search(url) for p in self._deny):
            return False
        return not self._follow or any(p.search(url) for p in self._follow)

    # -- pages -------------------------------------------------------------------------------------

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        assert self.site is not None
        page_url = _original_url(response)
        role = response.meta.get("spreadtrace_role", "link")
        known = self._known.get(page_url, set())
        if "cached" in response.flags:  # only if someone turned the HTTP cache on: still never evidence
            for item in self._unchecked(page_url, known, "answered from an HTTP cache, not the site"):
                yield item
            yield self._page_item(page_url, role, "failed", response, "answered from an HTTP cache, not the site")
            return
        removed = self._removal(response, role)
        if removed is not None:
            note = f"page removed: {removed}"
            results = await asyncio.gather(*(self._media_item(m, "image", PageContext(page_url, state="removed", note=note)) for m in sorted(known)))
            for item in results:
                yield item
            yield self._page_item(page_url, role, "removed", response, removed)
            return
        if not isinstance(response, TextResponse):
            reason = f"not an HTML page ({_content_type(response)})"
            self.logger.warning("skipped %s: %s", response.url, reason)
            yield self._page_item(page_url, role, "failed", response, reason)
            return
        refs = discover_media(response.selector, response.url)
        shown = {ref.url for ref in refs}
        for ref in media_from_selectors(response.selector, response.url, self.site.media):
            if ref.url not in shown:
                refs.append(ref)
                shown.add(ref.url)
        contexts = [(ref, PageContext(page_url, ref.claimed_at, ref.claimed_source)) for ref in refs]
        gone = [
            (MediaRef(m, "sighting"), PageContext(page_url, state="gone", note="page is up but no longer shows it"))
            for m in sorted(known - shown)
        ]  # fmt: skip
        for item in await asyncio.gather(*(self._media_item(r.url, r.kind, ctx) for r, ctx in contexts + gone)):
            yield item
        outbound: list[tuple[str, str | None]] = []
        page_host = urlsplit(page_url).netloc
        for link in self.links.extract_links(response):
            if urlsplit(link.url).netloc != page_host:  # spread: where this page points people to
                outbound.append((link.url, self.registry.site_of(link.url)))
            if self._follows(link.url):
                request = self._claim(link.url, "link")
                if request is not None:
                    yield request
        metadata = page_metadata(response.selector, self.site.metadata)
        yield self._page_item(page_url, role, "online", response, None, metadata, outbound)

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        page_url = request.meta.get("redirect_urls", [request.url])[0]
        status = None
        if isinstance(failure.value, HttpError):
            status = failure.value.response.status
            reason = f"HTTP {status}"
        else:
            reason = failure.getErrorMessage() or type(failure.value).__name__
        self.logger.warning("page %s failed: %s", page_url, reason)
        yield from self._unchecked(page_url, self._known.get(page_url, set()), f"page check failed: {reason}")
        yield PageItem(self.site_name, self.visit.id, page_url, request.meta.get("spreadtrace_role", "link"), "failed",
                       status, None, reason)  # fmt: skip

    def _unchecked(self, page_url: str, media_urls: set[str], reason: str) -> Iterator[MediaItem]:
        """Observations that a check was tried and showed nothing: they change no sighting's status."""
        for media_url in sorted(media_urls):
            yield MediaItem(self.site_name, media_url, [PageContext(page_url, state="unknown", note=reason)],
                            error=reason, visit_id=self.visit.id)  # fmt: skip

    def _removal(self, response: Response, role: str) -> str | None:
        """Why this answer means the page was taken down, or None."""
        assert self.site is not None
        if response.status in (404, 410):
            return f"HTTP {response.status}"
        redirects = response.meta.get("redirect_urls")
        if redirects and role != "start":
            final = urlsplit(response.url)
            if final.path in ("", "/") or response.url in self.site.start_urls or _LOGIN_PATH.search(final.path):
                return f"redirected to {response.url}"
        if isinstance(response, TextResponse) and self.site.removed_text:
            text = response.text
            for pattern in self._removed:
                found = pattern.search(text)
                if found:
                    return f"page says {found.group(0)!r}"
        return None

    def _page_item(
        self, url: str, role: str, outcome: str, response: Response, reason: str | None,
        metadata: dict[str, dict[str, str]] | None = None, links: list[tuple[str, str | None]] | None = None,
    ) -> PageItem:  # fmt: skip
        return PageItem(
            self.site_name, self.visit.id, url, role, outcome, response.status, response.url, reason, metadata or {},
            links or [],
        )  # fmt: skip

    # -- media -------------------------------------------------------------------------------------

    async def _media_item(self, media_url: str, kind: str, page: PageContext) -> MediaItem:
        result, payload = await self._fetch_once(media_url, kind)
        item = MediaItem(
            self.site_name, media_url, [page], result.status, result.content_type, sha256=result.sha256,
            error=result.error, visit_id=self.visit.id, etag=result.etag, last_modified=result.last_modified,
            size=result.size,
        )  # fmt: skip
        if isinstance(payload, Path):
            item.spool_path = payload
        elif payload is not None:
            item.body = payload
        return item

    async def _fetch_once(self, media_url: str, kind: str) -> tuple[MediaResult, bytes | Path | None]:
        """Fetch a media URL once per visit; later pages get the outcome without the bytes (the pipeline
        records them after the first page's item has been hashed)."""
        pending = self._media.get(media_url)
        if pending is not None:
            self._media.move_to_end(media_url)
            return await asyncio.shield(pending), None
        future: asyncio.Future[MediaResult] = asyncio.get_running_loop().create_future()
        self._media[media_url] = future
        if len(self._media) > _MEDIA_CACHE_SIZE:
            self._media.popitem(last=False)
        try:
            result, payload = await self._download(media_url, kind)
        except Exception as exc:  # a bug here must not lose the page's other observations
            self.logger.exception("fetching %s failed", media_url)
            result, payload = MediaResult(None, None, None, f"{type(exc).__name__}: {exc}"), None
        future.set_result(result)
        return result, payload

    async def _download(self, media_url: str, kind: str) -> tuple[MediaResult, bytes | Path | None]:
        known = self.store.validators(media_url)
        headers: dict[str, str] = {}
        if known is not None and known.sha256 is not None:  # conditional: an unchanged file costs a 304
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        video = kind == "video" or (known is not None and (known.content_type or "").startswith("video/"))
        meta = {
            "allow_offsite": True, "dont_cache": True, "media_url": media_url, "spreadtrace_spool": video,
            "download_maxsize": self.video_max_bytes if video else self.media_max_bytes,
        }  # fmt: skip
        request = scrapy.Request(media_url, headers=headers, meta=meta, dont_filter=True)
        assert self.crawler.engine is not None
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            if not isinstance(exc, MediaTooLarge) and ("maxsize" in reason.lower() or "max size" in reason.lower()):
                reason = f"larger than the {meta['download_maxsize']:,}-byte media cap"
            self.logger.warning("skipped %s: %s", media_url, reason)
            return MediaResult(None, None, None, reason), None
        spooled: Spooled | None = response.meta.get("spreadtrace_spooled")
        content_type = _content_type(response)
        if "cached" in response.flags or response.status != 200:
            if spooled is not None:  # an error page written to disk: not evidence of anything
                spooled.path.unlink(missing_ok=True)
            if "cached" in response.flags:
                return MediaResult(None, None, None, "answered from an HTTP cache, not the site"), None
            if response.status == 304 and known is not None and known.sha256 is not None:
                return MediaResult(304, known.content_type, known.sha256, None, known.etag, known.last_modified), None
            return MediaResult(response.status, content_type, None, f"HTTP {response.status}"), None
        etag = _header(response, b"ETag")
        modified = _header(response, b"Last-Modified")
        if spooled is not None:
            return MediaResult(200, content_type, spooled.sha256, None, etag, modified, spooled.size), spooled.path
        body = response.body
        return MediaResult(200, content_type, hashlib.sha256(body).hexdigest(), None, etag, modified, len(body)), body


def _original_url(response: Response) -> str:
    redirects = response.meta.get("redirect_urls")
    return str(redirects[0]) if redirects else response.url


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _content_type(response: Response) -> str | None:
    value = _header(response, b"Content-Type")
    return value.split(";")[0].strip() if value else None
