"""Fetch each media URL once per visit: conditionally when its bytes are known, streamed to disk when a video.

Media are fetched from the page's own callback through the engine's downloader (middlewares apply:
robots.txt, the private-address guard, Retry-After, redirects, size caps; the scheduler does not), so one
worker records everything a page shows. A file embedded on many pages is downloaded once; later pages get
the outcome without the bytes, and the pipeline records them once the first page's item is hashed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawler.content import SNIFF_BYTES, Content, classify, header, media_type
from crawler.errors import MediaTooLarge
from crawler.spool import Spooled
from crawler.tracking import tracker_of
from tracker import Tracker
from tracker.clock import utc_now
from tracker.models import Validators

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
    """A fetch's result, with the bytes (in memory, or a spooled file the consumer deletes) for the one
    caller that downloaded them."""

    result: MediaResult
    payload: bytes | Path | None = None


class MediaFetcher:
    def __init__(self, crawler: Crawler, tracker: Tracker, image_cap: int, video_cap: int) -> None:
        self.crawler = crawler
        self.tracker = tracker
        self.image_cap = image_cap
        self.video_cap = video_cap
        self._outcomes: OrderedDict[str, asyncio.Future[MediaResult]] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        return cls(crawler, tracker_of(crawler), settings.getint("SPREADTRACE_IMAGE_MAX_BYTES"),
                   settings.getint("SPREADTRACE_VIDEO_MAX_BYTES"))  # fmt: skip

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
            logger.exception("fetching %s failed", url)
            fetched = Fetched(MediaResult(None, None, None, f"{type(exc).__name__}: {exc}"))
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
        cap = self.video_cap if video else self.image_cap
        meta = {"allow_offsite": True, "dont_cache": True, "media_url": url, "spreadtrace_spool": video, "download_maxsize": cap}
        request = scrapy.Request(url, headers=headers, meta=meta, dont_filter=True)
        assert self.crawler.engine is not None and self.crawler.stats is not None
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            if not isinstance(exc, MediaTooLarge) and ("maxsize" in reason.lower() or "max size" in reason.lower()):
                reason = f"larger than the {cap:,}-byte media cap"
            logger.warning("skipped %s: %s", url, reason)
            return Fetched(MediaResult(None, None, None, reason))
        self.crawler.stats.inc_value("spreadtrace/media/fetched")
        return self._outcome(url, response, known)

    def _outcome(self, url: str, response: Response, known: Validators | None) -> Fetched:
        spooled: Spooled | None = response.meta.get("spreadtrace_spooled")
        content_type = header(response.headers, b"Content-Type")
        declared = media_type(content_type) or None
        if "cached" in response.flags or response.status != 200:
            if spooled is not None:  # an error page written to disk: not evidence of anything
                spooled.path.unlink(missing_ok=True)
            if "cached" in response.flags:
                return Fetched(MediaResult(None, None, None, "answered from an HTTP cache, not the site"))
            if response.status == 304 and known is not None and known.sha256 is not None:
                return Fetched(MediaResult(304, known.content_type, known.sha256, None, known.etag, known.last_modified,
                                           content=classify(known.content_type, b"")))  # fmt: skip
            return Fetched(MediaResult(response.status, declared, None, f"HTTP {response.status}"))
        etag, modified = header(response.headers, b"ETag"), header(response.headers, b"Last-Modified")
        if spooled is not None:
            content = classify(content_type, _head(spooled.path))
            result = MediaResult(200, declared, spooled.sha256, None, etag, modified, spooled.size, content)
            if content.is_media:
                return Fetched(result, spooled.path)
            spooled.path.unlink(missing_ok=True)
            return Fetched(_refused(result))
        body = response.body
        content = classify(content_type, body[:SNIFF_BYTES])
        result = MediaResult(200, declared, hashlib.sha256(body).hexdigest(), None, etag, modified, len(body), content)
        if content.is_media:
            return Fetched(result, body)
        if content is Content.PAGE:  # remembered, so the next visit follows a link to it as a page at once
            self.tracker.visits.remember(Validators(url, etag, modified, None, 200, content_type, utc_now()))
        return Fetched(_refused(result))


def _refused(result: MediaResult) -> MediaResult:
    """Bytes that are not media: observed (a known copy's URL now serving a page has changed), never hashed."""
    what = "an HTML page" if result.content is Content.PAGE else f"neither image nor video ({result.content_type or 'no Content-Type'})"
    return MediaResult(result.status, result.content_type, result.sha256, f"not media: {what}", result.etag,
                       result.last_modified, result.size, result.content)  # fmt: skip


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(SNIFF_BYTES)
