"""One generic spider for every registered site: follow its pages, fetch the media they show.

Each media URL is downloaded once per visit. Every further page that embeds it gets an observation too,
from the outcome of that one download, so the record has every (page, media) pair without re-fetching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.discovery import discover_media
from crawler.errors import MediaTooLarge
from crawler.items import MediaItem, PageContext
from crawler.sites import Site, SiteRegistry
from crawler.spool import Spooled


class SiteSpider(scrapy.Spider):
    name = "site"
    allowed_domains: list[str]
    max_pages: int
    media_max_bytes: int
    video_max_bytes: int
    links: LinkExtractor

    def __init__(self, site: Site | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site_name = site if isinstance(site, str) else site.name
        self._site = site if isinstance(site, Site) else None
        # media URL -> pages waiting for its download, or the finished item to copy for later pages
        self._media: dict[str, list[PageContext] | MediaItem] = {}
        self._pages: set[str] = set()  # page URLs requested this visit: the cap counts each once

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> SiteSpider:
        spider: SiteSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        if spider._site is None:  # `scrapy crawl site -a site=NAME` from the repository root
            spider._site = SiteRegistry.load(Path(settings["SPREADTRACE_SITES_FILE"])).get(spider.site_name)
        site = spider._site
        if site.delay is not None:  # settings are still open in from_crawler (Scrapy >= 2.11)
            settings.set("DOWNLOAD_DELAY", site.delay, priority="spider")
        spider.allowed_domains = list(site.allowed_domains)
        spider.max_pages = settings.getint("SPREADTRACE_MAX_PAGES_PER_VISIT")
        spider.media_max_bytes = settings.getint("SPREADTRACE_IMAGE_MAX_BYTES")
        spider.video_max_bytes = settings.getint("SPREADTRACE_VIDEO_MAX_BYTES")
        # Domains are checked by hostname in _page_request: LinkExtractor's allow_domains compares the
        # host *with its port*, so it would refuse every link of a site served on a non-default port.
        spider.links = LinkExtractor()
        return spider

    async def start(self) -> Any:
        assert self._site is not None
        for url in self._site.start_urls:
            yield self._page_request(url)

    def _page_request(self, url: str) -> scrapy.Request | None:
        if url in self._pages or len(self._pages) >= self.max_pages or not self._within_site(url):
            return None
        self._pages.add(url)
        return scrapy.Request(url, callback=self.parse)

    def _within_site(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.logger.warning("skipped %s: not an HTML page (%s)", response.url, _content_type(response))
            return
        for ref in discover_media(response.selector, response.url):
            page = PageContext(response.url, ref.claimed_at, ref.claimed_source)
            state = self._media.get(ref.url)
            if state is None:
                self._media[ref.url] = [page]
                video = ref.kind == "video"  # streamed to disk under its own cap (crawler/spool.py)
                meta = {
                    "allow_offsite": True,
                    "download_maxsize": self.video_max_bytes if video else self.media_max_bytes,
                    "media_url": ref.url,
                    "spreadtrace_spool": video,
                }
                yield scrapy.Request(ref.url, callback=self.parse_media, errback=self.media_failed, meta=meta)
            elif isinstance(state, list):
                state.append(page)
            else:  # downloaded already: observe it on this page as well, without fetching again
                yield MediaItem(
                    self.site_name, ref.url, [page], state.http_status, state.content_type,
                    sha256=state.sha256, error=state.error,
                )  # fmt: skip
        for link in self.links.extract_links(response):
            request = self._page_request(link.url)
            if request is not None:
                yield request

    def parse_media(self, response: Response) -> Iterator[MediaItem]:
        spooled: Spooled | None = response.meta.get("spreadtrace_spooled")
        if spooled is not None:
            item = self._finish(response.meta["media_url"], response.status, _content_type(response), sha256=spooled.sha256)
            item.spool_path = spooled.path
            yield item
            return
        yield self._finish(
            response.meta["media_url"], response.status, _content_type(response), body=response.body
        )

    def media_failed(self, failure: Failure) -> Iterator[MediaItem]:
        request = failure.request  # type: ignore[attr-defined]
        media_url = request.meta["media_url"]
        if isinstance(failure.value, HttpError):
            response = failure.value.response
            spooled: Spooled | None = response.meta.get("spreadtrace_spooled")
            if spooled is not None:  # an error page written to disk: not evidence of anything
                spooled.path.unlink(missing_ok=True)
            yield self._finish(media_url, response.status, _content_type(response), error=f"HTTP {response.status}")
            return
        reason = failure.getErrorMessage() or type(failure.value).__name__
        if not isinstance(failure.value, MediaTooLarge) and ("maxsize" in reason.lower() or "max size" in reason.lower()):
            reason = f"larger than the {request.meta['download_maxsize']:,}-byte media cap"
        self.logger.warning("skipped %s: %s", media_url, reason)
        yield self._finish(media_url, None, None, error=reason)

    def _finish(
        self, media_url: str, status: int | None, content_type: str | None, *, body: bytes | None = None,
        error: str | None = None, sha256: str | None = None,
    ) -> MediaItem:  # fmt: skip
        waiting = self._media.get(media_url)
        pages = waiting if isinstance(waiting, list) else []
        if body is not None and error is None:
            sha256 = hashlib.sha256(body).hexdigest()
        item = MediaItem(self.site_name, media_url, pages, status, content_type, body, sha256, error)
        self._media[media_url] = item
        return item


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1").split(";")[0].strip() if value else None
