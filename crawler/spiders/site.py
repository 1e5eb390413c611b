"""One generic spider for every registered site: it turns each page into items (the media it shows, what
it claims about itself, where it links) and re-checks every copy already on record.

The spider decides nothing about the visit and downloads no media itself: `crawler.visit.VisitExtension`
says which pages this worker fetches (the tracker's journal), `crawler.media_fetch.MediaFetcher` fetches
each media URL once per visit. Whether a URL is a page or a media file is decided by its response
(`crawler.content`), never by its extension: a wiki's ``File:Photo.jpg`` is a page. Every request bypasses
the HTTP cache, and an answer that still comes from one is never evidence that a page is online.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, IgnoreRequest, StopDownload
from scrapy.http import Headers, Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from crawler.components import component
from crawler.content import SNIFF_BYTES, Content, classify, header, media_type
from crawler.discovery import MediaRef, discover_media, media_from_selectors, page_metadata
from crawler.exchange import exchange_of
from crawler.items import MediaItem, PageContext, PageItem
from crawler.media_fetch import Fetched, MediaFetcher
from crawler.middlewares import PrivateAddressRefused
from crawler.reading import Reading
from crawler.sites import Site, SiteRegistry
from crawler.stop import CrawlStop, storage_error
from crawler.visit import VisitExtension, page_key
from tracker import PageOutcome, PageRole, PageState
from tracker.clock import utc_now
from tracker.models import PageReading, PendingPage

# Where a site sends a page it took down: its front page, or a sign-in wall.
_LOGIN_PATH = re.compile(r"/(log-?in|sign-?in|signin|account|auth|session)s?\b", re.IGNORECASE)
_LINKED = "a[href]"  # a link to what looks like a media file: a file, or a page about one
K = TypeVar("K")


class SiteSpider(scrapy.Spider):
    name = "site"
    allowed_domains: list[str]
    registry: SiteRegistry
    links: LinkExtractor
    max_links: int
    _follow: tuple[re.Pattern[str], ...]
    _deny: tuple[re.Pattern[str], ...]
    _removed: tuple[re.Pattern[str], ...]

    def __init__(self, site: Site | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_name = site if isinstance(site, str) else site.name
        self.site: Site | None = site if isinstance(site, Site) else None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider: SiteSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.registry = SiteRegistry.load(Path(settings["SPREADTRACE_SITES_FILE"]))
        if spider.site is None:  # `scrapy crawl site -a site=NAME` from the repository root
            spider.site = spider.registry.get(spider.site_name)
        site = spider.site
        # Settings are still open in from_crawler: each site gets its own politeness.
        if site.delay is not None:
            settings.set("DOWNLOAD_DELAY", site.delay, priority="spider")
            settings.set("AUTOTHROTTLE_START_DELAY", site.delay, priority="spider")
        if site.concurrency is not None:
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", site.concurrency, priority="spider")
        settings.set("ROBOTSTXT_OBEY", site.robots, priority="spider")
        spider.allowed_domains = list(site.allowed_domains)
        # Domains are checked by hostname in _follows (Site.covers): LinkExtractor's allow_domains compares the
        # host with its port. No denied extensions: whether ".jpg" is a page is the response's to say.
        spider.links = LinkExtractor(deny_extensions=())
        spider._follow, spider._deny, spider._removed = site.follow_patterns(), site.deny_patterns(), site.removed_patterns()
        spider.max_links = site.max_links or settings.getint("SPREADTRACE_MAX_LINKS_PER_PAGE")
        crawler.signals.connect(spider.headers_received, signal=signals.headers_received)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    # The visit and the fetcher are extensions, built after the spider: looked up when first needed.
    @cached_property
    def visit(self) -> VisitExtension:
        return component(self.crawler, VisitExtension)

    @cached_property
    def fetcher(self) -> MediaFetcher:
        return component(self.crawler, MediaFetcher)

    @cached_property
    def stopper(self) -> CrawlStop:
        return component(self.crawler, CrawlStop)

    # -- which pages -------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        assert self.site is not None
        visit = self.visit
        if not visit.seeds:  # distributed: another worker queues the start, pending and re-check pages
            return
        if visit.resume():
            self.logger.warning("resuming visit %s of %s: the pages it left come first", visit.visit.id, self.site.name)
            if visit.frontier is None:  # distributed: queued on Redis, all of them
                for page in visit.pending():
                    yield self._page_request(page.url, page.role)
        for url in self.site.start_urls:
            if claimed := visit.claim(url, PageRole.START):
                yield self._page_request(claimed, PageRole.START)
        for url in visit.rechecks:  # every page with a sighting is re-checked, whatever the page budget
            if claimed := visit.claim(url, PageRole.RECHECK):
                yield self._page_request(claimed, PageRole.RECHECK)
        for request in self._refill(visit.refill()):
            yield request

    def spider_idle(self, spider: Any) -> None:
        """Nothing left in Scrapy: pages may still wait in the journal (the frontier spilled)."""
        if self.stopper.stopping:
            return
        requests = list(self._refill(self.visit.refill(idle=True)))
        engine = self.crawler.engine
        if requests and engine is not None:
            for request in requests:
                engine.crawl(request)
            raise DontCloseSpider("pages wait in the journal")

    def _refill(self, pages: Iterable[PendingPage]) -> Iterator[scrapy.Request]:
        return (self._page_request(page.url, page.role) for page in pages)

    def _page_request(self, url: str, role: PageRole, linked_from: str | None = None) -> scrapy.Request:
        meta: dict[str, Any] = {"spreadtrace_role": role, "spreadtrace_page": url, "dont_cache": True,
                                "handle_httpstatus_list": [404, 410]}  # fmt: skip
        if linked_from is not None:
            meta["spreadtrace_from"] = linked_from
        headers: dict[str, str] = {}
        last = self.visit.tracker.visits.reading(url)
        if last is not None and Reading.from_content(last.content) is not None:  # conditional: unchanged costs a 304
            if last.etag:
                headers["If-None-Match"] = last.etag
            if last.last_modified:
                headers["If-Modified-Since"] = last.last_modified
            meta["handle_httpstatus_list"] = [304, 404, 410]
        return scrapy.Request(url, headers=headers, callback=self.parse, errback=self.page_failed, meta=meta, dont_filter=True)

    def _follows(self, url: str) -> bool:
        assert self.site is not None
        if not self.site.covers(url) or any(p.search(url) for p in self._deny):
            return False
        return not self._follow or any(p.search(url) for p in self._follow)

    def headers_received(self, headers: Headers, body_length: int, request: scrapy.Request, spider: Any) -> None:
        """A followed link that answers with an image or a video is a media file: stop the page download
        (pages have the page cap, not the media caps) and let the fetcher take it."""
        if "spreadtrace_role" in request.meta and classify(header(headers, b"Content-Type"), b"").is_media:
            raise StopDownload(fail=False)

    # -- pages -------------------------------------------------------------------------------------

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        page_url = str(response.meta.get("spreadtrace_page") or page_key(_original_url(response)))
        role = PageRole(response.meta.get("spreadtrace_role", PageRole.LINK))
        for request in self._refill(self.visit.fetched()):
            yield request
        try:
            async for item in self._page(response, page_url, role):
                yield item
        except Exception as exc:  # a page that breaks the parser is recorded as failed, never left queued
            if (disk := storage_error(exc)) is not None:  # not the page's fault: the crawl cannot go on
                self.stopper.stop(disk)
                return
            self.logger.exception("page %s could not be read", page_url)
            yield self._page_item(page_url, role, PageOutcome.FAILED, response, f"could not be read: {type(exc).__name__}: {exc}")

    async def _page(self, response: Response, page_url: str, role: PageRole) -> AsyncIterator[Any]:
        known = self.visit.rechecks.get(page_url, {})
        if "cached" in response.flags:  # only if someone turned the HTTP cache on: still never evidence
            reason = "answered from an HTTP cache, not the site"
            for item in self._unchecked(page_url, known, reason):
                yield item
            yield self._page_item(page_url, role, PageOutcome.FAILED, response, reason)
            return
        removed = self._removal(response, role)
        if removed is not None:
            context = PageContext(page_url, state=PageState.REMOVED, note=f"page removed: {removed}",
                                  exchange=exchange_of(response, response.body))  # the 404 proves the removal
            async for item in self._media_items((m, "image", context) for m in sorted(known)):
                yield item
            yield self._page_item(page_url, role, PageOutcome.REMOVED, response, removed)
            return
        if response.status == 304:  # unchanged since it was last read: act on that reading
            last = self.visit.tracker.visits.reading(page_url)
            reading = Reading.from_content(last.content) if last is not None else None
            if last is None or reading is None:  # asked conditionally only with a reading kept: a race, at worst
                reason = "answered 304 Not Modified, but no reading of it is kept"
                for item in self._unchecked(page_url, known, reason):
                    yield item
                yield self._page_item(page_url, role, PageOutcome.FAILED, response, reason)
                return
            async for item in self._act(reading, page_url, role, known, response, None, f"not modified since {last.read_at}"):
                yield item
            return
        declared = header(response.headers, b"Content-Type")
        content = classify(declared, response.body[:SNIFF_BYTES])
        if content.is_media:
            linked_from = str(response.meta.get("spreadtrace_from") or page_url)
            async for item in self._media_items([(page_url, str(content), PageContext(linked_from))]):
                yield item
            yield self._page_item(page_url, role, PageOutcome.MEDIA, response, f"a {content} file, media of {linked_from}")
            return
        if content is not Content.PAGE or not isinstance(response, TextResponse):
            reason = f"neither an HTML page nor media ({media_type(declared) or 'no Content-Type'})"
            self.logger.warning("skipped %s: %s", response.url, reason)
            for item in self._unchecked(page_url, known, reason):
                yield item
            yield self._page_item(page_url, role, PageOutcome.SKIPPED, response, reason)
            return
        async for item in self._html_page(response, page_url, role, known):
            yield item

    async def _html_page(self, response: TextResponse, page_url: str, role: PageRole, known: dict[str, str | None]) -> AsyncIterator[Any]:
        reading = self._read(response, page_url)
        etag, modified = header(response.headers, b"ETag"), header(response.headers, b"Last-Modified")
        kept = PageReading(page_url, etag, modified, utc_now(), reading.to_content()) if etag or modified else None
        async for item in self._act(reading, page_url, role, known, response, kept):
            yield item

    def _read(self, response: TextResponse, page_url: str) -> Reading:
        assert self.site is not None
        refs = discover_media(response.selector, response.url)
        links = self.links.extract_links(response)
        if len(links) > self.max_links:  # a page of 5,000 links is a trap (or a sitemap): bounded either way
            self.logger.warning("page %s has %d links: only the first %d are followed and recorded", page_url, len(links), self.max_links)
            links = links[: self.max_links]
        shown = {ref.url for ref in refs}
        for ref in media_from_selectors(response.selector, response.url, self.site.media):  # the site's own selectors
            if ref.url not in shown:
                refs.append(ref)
                shown.add(ref.url)
        metadata = page_metadata(response.selector, self.site.metadata)
        return Reading(tuple(refs), tuple(page_key(link.url) for link in links), metadata)

    async def _act(
        self, reading: Reading, page_url: str, role: PageRole, known: dict[str, str | None], response: Response,
        kept: PageReading | None, reason: str | None = None,
    ) -> AsyncIterator[Any]:  # fmt: skip
        """Fetch what the page shows, follow where it links, and finish it: from a page just read, or from
        its last reading when it answered 304."""
        refs = list(reading.media)
        shown = {ref.url for ref in refs}
        exchange = exchange_of(response, None if response.status == 304 else response.body)
        # Links to known copies: a file behind a URL without an extension, found through a followed link, is
        # media this page shows, not a link to follow.
        for url in reading.links:
            if url in known and url not in shown:
                refs.append(MediaRef(url, _LINKED))
                shown.add(url)
        media: list[MediaRef] = []
        for ref in refs:  # a link to "x.jpg" that answered with a page last time is a page: follow it
            if ref.found_in == _LINKED and self._follows(ref.url) and self.fetcher.known_page(ref.url):
                if claimed := self.visit.claim(ref.url, PageRole.LINK):
                    yield self._page_request(claimed, PageRole.LINK, page_url)
            else:
                media.append(ref)
        shown_bytes: set[str] = set()
        async for ref, outcome in _as_fetched(self.fetcher, [(ref, ref.url, ref.kind) for ref in media]):
            if ref.found_in == _LINKED and outcome.result.content is Content.PAGE:
                if self._follows(ref.url) and (claimed := self.visit.claim(ref.url, PageRole.LINK)):
                    yield self._page_request(claimed, PageRole.LINK, page_url)
                continue  # a link to a page, not media shown here
            item = self._item(ref.url, PageContext(page_url, ref.claimed_at, ref.claimed_source, exchange=exchange), outcome)
            shown_bytes.update([item.sha256] if item.sha256 else [])
            yield item
        # Copies on record that the page no longer shows, unless it shows their bytes under another URL (a
        # cache-busting query string that changed): fetched anyway, to say whether the file is still served.
        gone = [url for url in sorted(set(known) - shown) if known[url] is None or known[url] not in shown_bytes]
        context = PageContext(page_url, state=PageState.GONE, note="page is up but no longer shows it", exchange=exchange)
        async for item in self._media_items((url, "image", context) for url in gone):
            yield item
        outbound: list[tuple[str, str | None]] = []
        page_host = urlsplit(page_url).netloc
        for url in reading.links:
            if url in shown or url == page_url:
                continue
            if urlsplit(url).netloc != page_host:  # spread: where this page points people to
                outbound.append((url, self.registry.site_of(url)))
            if self._follows(url) and (claimed := self.visit.claim(url, PageRole.LINK)):
                yield self._page_request(claimed, PageRole.LINK, page_url)
        yield self._page_item(page_url, role, PageOutcome.ONLINE, response, reason, reading.metadata, outbound, kept)

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        yield from self._refill(self.visit.fetched())
        page_url = str(request.meta.get("spreadtrace_page") or page_key(request.url))
        role = PageRole(request.meta.get("spreadtrace_role", PageRole.LINK))
        status, outcome = None, PageOutcome.FAILED
        if isinstance(failure.value, HttpError):
            status = failure.value.response.status
            reason = f"HTTP {status}"
        elif isinstance(failure.value, PrivateAddressRefused):  # our own rules said no: skipped, not failed
            outcome, reason = PageOutcome.SKIPPED, str(failure.value)
        elif isinstance(failure.value, IgnoreRequest) and "robots.txt" in str(failure.value):
            outcome, reason = PageOutcome.SKIPPED, "disallowed by robots.txt"
        elif isinstance(failure.value, IgnoreRequest):  # a redirect loop, say: the site's failure
            reason = str(failure.value) or type(failure.value).__name__
        elif isinstance(failure.value, DownloadCancelledError | CancelledError):  # Scrapy's cap, body undeclared
            reason = f"larger than the {self.settings.getint('DOWNLOAD_MAXSIZE'):,}-byte page cap (DOWNLOAD_MAXSIZE)"
        else:
            reason = failure.getErrorMessage() or type(failure.value).__name__
        if self.stopper.stopping:  # cut short by the stop, not the site's failure: nothing of it is recorded
            self.logger.debug("page %s not fetched: %s (the crawl is stopping)", page_url, reason)
        elif isinstance(failure.value, PrivateAddressRefused):  # most likely a site entry to fix: say so
            self.logger.warning("page %s skipped: %s", page_url, reason)
        elif outcome is PageOutcome.SKIPPED:  # robots.txt: in the journal, expected, not worth a warning
            self.logger.info("page %s skipped: %s", page_url, reason)
        else:
            self.logger.warning("page %s failed: %s", page_url, reason)
        yield from self._unchecked(page_url, self.visit.rechecks.get(page_url, {}), f"page check failed: {reason}")
        yield PageItem(self.site_name, self.visit.visit.id, page_url, role, outcome, status, None, reason)

    def _unchecked(self, page_url: str, media_urls: Iterable[str], reason: str) -> Iterator[MediaItem]:
        """Observations that a check was tried and showed nothing: they change no sighting's status."""
        for media_url in sorted(media_urls):
            yield MediaItem(self.site_name, media_url, [PageContext(page_url, state=PageState.UNKNOWN, note=reason)],
                            error=reason, visit_id=self.visit.visit.id)  # fmt: skip

    def _removal(self, response: Response, role: PageRole) -> str | None:
        """Why this answer means the page was taken down, or None."""
        assert self.site is not None
        if response.status in (404, 410):
            return f"HTTP {response.status}"
        redirects = response.meta.get("redirect_urls")
        if redirects and role is not PageRole.START:
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
        self, url: str, role: PageRole, outcome: PageOutcome, response: Response, reason: str | None,
        metadata: dict[str, dict[str, str]] | None = None, links: list[tuple[str, str | None]] | None = None,
        reading: PageReading | None = None,
    ) -> PageItem:  # fmt: skip
        return PageItem(self.site_name, self.visit.visit.id, url, role, outcome, response.status, response.url, reason,
                        metadata or {}, links or [], reading)  # fmt: skip

    # -- media -------------------------------------------------------------------------------------

    async def _media_items(self, wanted: Iterable[tuple[str, str, PageContext]]) -> AsyncIterator[MediaItem]:
        async for (url, page), outcome in _as_fetched(self.fetcher, [((url, page), url, kind) for url, kind, page in wanted]):
            yield self._item(url, page, outcome)

    def _item(self, media_url: str, page: PageContext, fetched: Fetched) -> MediaItem:
        result = fetched.result
        item = MediaItem(
            self.site_name, media_url, [page], result.status, result.content_type, sha256=result.sha256,
            error=result.error, visit_id=self.visit.visit.id, etag=result.etag, last_modified=result.last_modified,
            size=result.size, exchange=fetched.exchange,
        )  # fmt: skip
        item.payload = fetched.payload
        return item


async def _as_fetched(fetcher: MediaFetcher, wanted: list[tuple[K, str, str]]) -> AsyncIterator[tuple[K, Fetched]]:
    """Fetch every (key, url, kind) at once and hand each outcome on as soon as it is in: a body is
    hashed (and its in-flight slot given back) without waiting for the page's slowest file."""
    if not wanted:
        return

    async def one(key: K, url: str, kind: str) -> tuple[K, Fetched]:
        return key, await fetcher.fetch(url, kind)

    tasks = [asyncio.ensure_future(one(*entry)) for entry in wanted]
    handed: set[int] = set()
    try:
        for done in asyncio.as_completed(tasks):
            key, fetched = await done
            handed.add(id(fetched))
            yield key, fetched
    finally:  # a page cut short: a body fetched for it and not handed on must not stay open
        for task in tasks:
            if not task.done():
                task.cancel()
            elif not task.cancelled() and task.exception() is None:
                fetched = task.result()[1]
                if id(fetched) not in handed and fetched.payload is not None:
                    fetched.payload.close()


def _original_url(response: Response) -> str:
    redirects = response.meta.get("redirect_urls")
    return str(redirects[0]) if redirects else response.url
