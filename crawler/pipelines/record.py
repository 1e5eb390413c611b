"""Hash each media file's original bytes once per SHA-256 and hand every observation to the tracker.

Bytes are hashed in worker processes (`crawler.hashing`), several files at once, as soon as their item
arrives; records are made on one thread per crawler, in the order items arrive, each waiting for its own
file's hashes: the reactor never waits for a hash. An item that only refers to bytes another page's item
carries (the same file on two pages) waits, on that thread, until those bytes are recorded. A page's own
item comes after its media's, so the visit journal marks a page done only when everything it showed is
recorded.

Once the crawl is stopping (`crawler.stop`), nothing more is recorded: a decode in progress ends at its
next frame, and items still queued are dropped with their bodies. Their pages stay claimed and not done,
which is exactly what the next run resumes. A full disk met while recording stops the crawl the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from functools import partial
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor, threads
from twisted.python.threadpool import ThreadPool

from crawler.components import component
from crawler.hashing import HashingPool, StopFlag, failure_reason, pool_for, pool_of
from crawler.items import MediaItem, PageContext, PageItem
from crawler.spool import Spooled
from crawler.stop import CrawlStop, storage_error
from crawler.tracking import tracker_of
from matcher import HashingStopped, MediaHashes
from tracker import ClaimState, Observation, PageState, Tracker
from tracker.clock import utc_now
from tracker.models import HttpExchange, PageVisit, Validators

logger = logging.getLogger(__name__)


class RecordPipeline:
    def __init__(self, crawler: Crawler, tracker: Tracker, stop: CrawlStop, hashing: HashingPool | None = None) -> None:
        self.crawler = crawler
        self.tracker = tracker
        self.stop = stop
        self._own_hashing = hashing is None  # run on its own (`scrapy crawl`): no runner handed one in
        self.hashing = hashing or pool_for(crawler.settings)
        self._stop_flag: StopFlag = self.hashing.stop_flag()
        stop.add_listener(self._stop_flag.set)
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="spreadtrace-record")
        self._hashing: dict[str, Future[MediaHashes]] = {}  # SHA-256 -> its hashes, being computed
        self._waiting: dict[str, list[MediaItem]] = {}  # SHA-256 -> items whose bytes another item carries
        self._sightings: set[int] = set()  # seen this visit: a copy shown under two URLs is counted once

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, tracker_of(crawler), component(crawler, CrawlStop), pool_of(crawler))

    @property
    def stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def open_spider(self, spider: Any = None) -> None:
        self._pool.start()

    def close_spider(self, spider: Any = None) -> None:
        self._pool.stop()  # waits for queued records: nothing observed is dropped at a normal end
        if self._own_hashing:
            self.hashing.close()
        if self.stop.stopping:  # cut short: what waits is left to the run that resumes the visit
            self._waiting.clear()
            return
        for items in self._waiting.values():  # bytes that never arrived: observed, but unchecked
            for item in items:
                item.sha256, item.error = None, "the file's bytes were not kept this visit"
                self._observe(item, None)
        self._waiting.clear()

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        work: Callable[[Any], Any]
        if isinstance(item, MediaItem):
            work = partial(self._record, hashed=self._start_hashing(item))
        elif isinstance(item, PageItem):
            work = self._finish_page
        else:
            return item
        recorded = threads.deferToThreadPool(reactor, self._pool, self._guarded, work, item)
        return await maybe_deferred_to_future(recorded)

    def _start_hashing(self, item: MediaItem) -> Future[MediaHashes] | None:
        """Hand the item's bytes to a worker now, unless they are known or already being hashed; the record
        thread waits for the result when the item's turn comes."""
        if item.payload is None or item.sha256 is None or item.error is not None or self.stop.stopping:
            return None
        if (hashed := self._hashing.get(item.sha256)) is not None:
            return hashed
        if self.tracker.media_state(item.sha256).known:
            return None
        hashed = self._hashing[item.sha256] = self.hashing.submit(item.payload.path, self._stop_flag)
        return hashed

    # -- on the record thread ------------------------------------------------------------------------

    def _guarded(self, work: Callable[[Any], Any], item: Any) -> Any:
        """Record ``item`` unless the crawl is stopping; a full disk stops it."""
        if self.stop.stopping:
            _release(item)
            return item
        try:
            return work(item)
        except HashingStopped:
            return item
        except Exception as exc:
            _release(item)
            disk = storage_error(exc)
            if disk is None:
                raise
            self.stop.stop_from_thread(disk)
            return item

    def _record(self, item: MediaItem, hashed: Future[MediaHashes] | None) -> MediaItem:
        # The original bytes are not kept (hashes only): the spooled file is closed once the item is
        # recorded, after a capture of its sighting has sealed it into the evidence (tracker.evidence).
        payload, item.payload = item.payload, None
        try:
            if item.sha256 is None or item.error is not None:
                self._observe(item, item.error)
                return item
            if payload is not None:  # the one item of this visit that downloaded the bytes
                self.tracker.visits.remember(Validators(item.media_url, item.etag, item.last_modified, item.sha256,
                                                        item.http_status, item.content_type, utc_now()))  # fmt: skip
                error = self._hash_once(item.sha256, payload, item.media_url, hashed)
            else:
                state = self.tracker.media_state(item.sha256)
                if not state.known:
                    self._waiting.setdefault(item.sha256, []).append(item)
                    return item
                error = state.error
            self._observe(item, error)
            for waiting in self._waiting.pop(item.sha256, []):
                self._observe(waiting, error)
            return item
        finally:
            if payload is not None:
                payload.close()

    def _observe(self, item: MediaItem, error: str | None) -> None:
        observed_at = utc_now()
        for page in item.pages:
            note = page.note
            if page.state in (PageState.REMOVED, PageState.GONE) and item.sha256 is not None:
                note = f"{note}; the file itself is still served at its URL"
            sightings = self.tracker.observe(
                Observation(
                    observed_at=observed_at, media_url=item.media_url, page_url=page.page_url, site=item.site,
                    http_status=item.http_status, sha256=item.sha256, content_type=item.content_type,
                    size=item.size, error=error, claimed_at=page.claimed_at, claimed_source=page.claimed_source,
                    visit_id=item.visit_id, page_state=page.state, note=note,
                ),
                partial(_exchanges, item, page, observed_at),
            )  # fmt: skip
            self.stats.inc_value("spreadtrace/observation/count")
            new = {s.id for s in sightings} - self._sightings
            if new:
                self._sightings |= new
                item.sightings += len(new)
                self.stats.inc_value("spreadtrace/match/count", len(new))
                logger.info("match: %s on %s", item.media_url, page.page_url, extra={"site": item.site})

    def _finish_page(self, item: PageItem) -> PageItem:
        page = PageVisit(item.visit_id, item.url, item.role, ClaimState.DONE, item.http_status, item.final_url, item.outcome,
                         item.reason, item.metadata)  # fmt: skip
        self.tracker.visits.finish_page(page, item.links, item.reading)
        self.stats.inc_value(f"spreadtrace/page/{item.outcome}")
        return item

    def _hash_once(self, sha256: str, body: Spooled, media_url: str, hashed: Future[MediaHashes] | None) -> str | None:
        """Record the hashes of unseen bytes (spooled to disk, hashed by a worker); return why they cannot
        be hashed, or None."""
        try:
            state = self.tracker.media_state(sha256)
            if state.known:  # recorded since (the same bytes under another URL)
                self.stats.inc_value("spreadtrace/media/already_hashed")
                return state.error
            if hashed is None:  # never handed to a worker: the crawl was stopping
                raise HashingStopped("hashing stopped: the crawl is stopping")
            try:
                hashes = hashed.result()
            except CancelledError:
                raise HashingStopped("hashing stopped: the crawl is stopping") from None
            except Exception as exc:
                reason = failure_reason(exc)
                if reason is None:
                    raise
                logger.warning("skipped %s: %s", media_url, reason)
                self.stats.inc_value("spreadtrace/media/unhashable")
                self.tracker.record_unhashable(sha256, body.size, reason)
                return reason
        finally:
            if hashed is not None and self._hashing.get(sha256) is hashed:
                del self._hashing[sha256]
        self.tracker.record_media(hashes)
        self.stats.inc_value("spreadtrace/media/hashed")
        if hashes.kind == "video":
            self.stats.inc_value("spreadtrace/media/video_hashed")
        return None


def _exchanges(item: MediaItem, page: PageContext, observed_at: str) -> list[HttpExchange]:
    """What a capture of ``item`` on ``page`` keeps: the page as fetched, then the media. Media bytes this
    item did not download itself (another page's item did, or a 304 answered) are named by their digest."""
    media = item.exchange
    if media is None or (isinstance(media.body, Path) and not media.body.exists()):
        media = HttpExchange(item.media_url, observed_at, item.http_status or 0, payload_sha256=item.sha256)
    return [page.exchange, media] if page.exchange is not None else [media]


def _release(item: Any) -> None:
    if isinstance(item, MediaItem) and item.payload is not None:
        item.payload.close()
        item.payload = None


__all__ = ["RecordPipeline"]
