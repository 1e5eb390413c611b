"""Fetch each media URL once per visit: conditionally when its bytes are known, always streamed to disk.

At most SPREADTRACE_MEDIA_IN_FLIGHT bodies exist at once, downloading or waiting to be hashed: a slot is
taken before the download and given back when the pipeline closes the body. Disk use is bounded by that
number times the media caps, memory by the one body being hashed, whatever a page embeds.

Media are fetched from the page's own callback through the engine's downloader (middlewares apply:
robots.txt, the private-address guard, Retry-After, redirects, size caps; the scheduler does not), so one
worker records everything a page shows. A file embedded on many pages is downloaded once; later pages get
the outcome without the bytes, and the pipeline records them once the first page's item is hashed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Self

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError
from scrapy.http import Response
from twisted.internet.defer import CancelledError

from crawler.content import SNIFF_BYTES, Content, classify, header, media_type
from crawler.spool import Spooled
from crawler.components import component
from crawler.exchange import exchange_of
from crawler.stop import CrawlStop, storage_error
from crawler.tracking import tracker_of
from tracker import Tracker
from tracker.clock import utc_now
from tracker.models import HttpExchange, Validators

logger = logging.getLogger(__name__)
_REMEMBERED = 2048  # media outcomes remembered per visit


@dataclass(frozen=True, slots=True)
class MediaResult:
    """What a media URL answered: status, bytes' SHA-256 (None: no bytes), or why not."""

    status: int | None
    content_type: str | None
    sha256: str | None
    error: str | None
    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None
    content: Content | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A fetch's result, with the bytes (a spooled file the consumer closes) for the one caller that
    downloaded them."""

    result: MediaResult
    payload: Spooled | None = None
    exchange: HttpExchange | None = None  # this fetch, for a capture: only with the one that downloaded it


class MediaFetcher:
    stop: CrawlStop  # another extension: looked up when the spider opens, once all are built

    def __init__(self, crawler: Crawler, tracker: Tracker, limits: MediaLimits) -> None:
        self.crawler = crawler
        self.tracker = tracker
        self.limits = limits
        self._outcomes: OrderedDict[str, asyncio.Future[MediaResult]] = OrderedDict()
        self._slots: asyncio.Semaphore | None = None  # made on the crawl's event loop, when first needed
        self._downloads: set[asyncio.Future[Response]] = set()

    def spider_opened(self, spider: object) -> None:
        self.stop = component(self.crawler, CrawlStop)
        self.stop.add_listener(self._abandon_downloads)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        limits = MediaLimits(
            image_cap=settings.getint("SPREADTRACE_IMAGE_MAX_BYTES"), video_cap=settings.getint("SPREADTRACE_VIDEO_MAX_BYTES"),
            timeout=settings.getfloat("SPREADTRACE_MEDIA_TIMEOUT"), in_flight=max(1, settings.getint("SPREADTRACE_MEDIA_IN_FLIGHT")),
        )  # fmt: skip
        fetcher = cls(crawler, tracker_of(crawler), limits)
        crawler.signals.connect(fetcher.spider_opened, signal=signals.spider_opened)
        return fetcher

    def known_page(self, url: str) -> bool:
        """Whether ``url`` answered with an HTML page last time: a link to follow, not media to fetch."""
        known = self.tracker.visits.validators(url)
        return known is not None and known.sha256 is None and classify(known.content_type, b"") is Content.PAGE

    async def fetch(self, url: str, kind: str) -> Fetched:
        pending = self._outcomes.get(url)
        if pending is not None:
            self._outcomes.move_to_end(url)
            return Fetched(await asyncio.shield(pending))
        future: asyncio.Future[MediaResult] = asyncio.get_running_loop().create_future()
        self._outcomes[url] = future
        if len(self._outcomes) > _REMEMBERED:
            self._outcomes.popitem(last=False)
        try:
            fetched = await self._download(url, kind)
        except Exception as exc:  # a bug here must not lose the page's other observations
            if (disk := storage_error(exc)) is not None:
                self.stop.stop(disk)
            else:
                logger.exception("fetching %s failed", url)
            fetched = Fetched(MediaResult(None, None, None, f"{type(exc).__name__}: {exc}"))
        except BaseException:  # cancelled (the page was cut short): pages waiting on this URL must not wait forever
            future.set_result(MediaResult(None, None, None, "not fetched: the crawl stopped first"))
            self._outcomes.pop(url, None)
            raise
        future.set_result(fetched.result)
        return fetched

    async def _download(self, url: str, kind: str) -> Fetched:
        known = self.tracker.visits.validators(url)
        headers: dict[str, str] = {}
        if known is not None and known.sha256 is not None:  # conditional: an unchanged file costs a 304
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        video = kind == "video" or (known is not None and media_type(known.content_type).startswith("video/"))
        cap = self.limits.video_cap if video else self.limits.image_cap
        meta = {"allow_offsite": True, "dont_cache": True, "media_url": url, "spreadtrace_spool": True,
                "download_maxsize": cap, "download_timeout": self.limits.timeout}  # fmt: skip
        request = scrapy.Request(url, headers=headers, meta=meta, dont_filter=True)
        assert self.crawler.engine is not None and self.crawler.stats is not None
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.in_flight)
        slots, loop = self._slots, asyncio.get_running_loop()
        await slots.acquire()
        download = asyncio.ensure_future(self.crawler.engine.download_async(request))
        self._downloads.add(download)
        try:
            response = await download
        except (Exception, asyncio.CancelledError) as exc:
            slots.release()
            if self.stop.stopping:  # abandoned: the pipeline records nothing more this run
                return Fetched(MediaResult(None, None, None, f"not fetched: {self.stop.reason}"))
            if isinstance(exc, asyncio.CancelledError):
                raise
            reason = _reason(exc)
            logger.warning("skipped %s: %s", url, reason)
            return Fetched(MediaResult(None, None, None, reason))
        finally:
            self._downloads.discard(download)
        self.crawler.stats.inc_value("spreadtrace/media/fetched")
        fetched = self._outcome(url, response, known)
        if fetched.payload is None:
            slots.release()
        else:  # given back by whoever closes the body, on whatever thread: the pipeline hashes on its own
            fetched.payload.on_close(partial(loop.call_soon_threadsafe, slots.release))
        return fetched

    def _outcome(self, url: str, response: Response, known: Validators | None) -> Fetched:
        spooled: Spooled | None = response.meta.get("spreadtrace_spooled")
        content_type = header(response.headers, b"Content-Type")
        declared = media_type(content_type) or None
        if "cached" in response.flags or response.status != 200 or spooled is None:
            if spooled is not None:  # an error page written to disk: not evidence of anything
                spooled.close()
            if "cached" in response.flags:
                return Fetched(MediaResult(None, None, None, "answered from an HTTP cache, not the site"))
            if response.status == 304 and known is not None and known.sha256 is not None:
                return Fetched(MediaResult(304, known.content_type, known.sha256, None, known.etag, known.last_modified,
                                           content=classify(known.content_type, b"")),
                               exchange=exchange_of(response, None, known.sha256))  # fmt: skip
            return Fetched(MediaResult(response.status, declared, None, f"HTTP {response.status}"))
        etag, modified = header(response.headers, b"ETag"), header(response.headers, b"Last-Modified")
        content = classify(content_type, spooled.head(SNIFF_BYTES))
        result = MediaResult(200, declared, spooled.sha256, None, etag, modified, spooled.size, content)
        if content.is_media:
            return Fetched(result, spooled, exchange_of(response, spooled.path))
        spooled.close()
        if content is Content.PAGE:  # remembered, so the next visit follows a link to it as a page at once
            self.tracker.visits.remember(Validators(url, etag, modified, None, 200, content_type, utc_now()))
        return Fetched(_refused(result))

    def _abandon_downloads(self) -> None:
        for download in list(self._downloads):
            download.cancel()


def _refused(result: MediaResult) -> MediaResult:
    """Bytes that are not media: observed (a known copy's URL now serving a page has changed), never hashed."""
    what = "an HTML page" if result.content is Content.PAGE else f"neither image nor video ({result.content_type or 'no Content-Type'})"
    return MediaResult(result.status, result.content_type, result.sha256, f"not media: {what}", result.etag,
                       result.last_modified, result.size, result.content)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What one media download may cost: bytes (images, videos), seconds, and how many bodies at once."""

    image_cap: int
    video_cap: int
    timeout: float
    in_flight: int


def _reason(exc: Exception) -> str:
    """One line a person can read, never a Failure's repr."""
    if isinstance(exc, DownloadCancelledError | CancelledError):  # Scrapy cancels a body over the cap
        return "download cancelled: larger than the media cap, or the crawl is stopping"
    return str(exc) or type(exc).__name__
