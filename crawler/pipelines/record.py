"""Hash each media file's original bytes once per SHA-256 and hand every observation to the tracker.

Records are made on one worker thread, in the order items arrive: the reactor never waits for a hash,
and a page that reuses an earlier download is recorded only after that download's bytes are hashed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import reactor, threads
from twisted.python.threadpool import ThreadPool

from crawler.config import hashing_options, match_policy
from crawler.items import MediaItem
from matcher import MediaHashes, UnhashableContent, hash_file, hash_media
from tracker import Observation, Store, Tracker, open_store
from tracker.clock import utc_now

logger = logging.getLogger(__name__)


class RecordPipeline:
    def __init__(self, crawler: Crawler, store: Store, tracker: Tracker) -> None:
        self.crawler = crawler
        self.store = store
        self.tracker = tracker
        self.hashing = hashing_options(crawler.settings)
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name="spreadtrace-record")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        uri = settings.get("SPREADTRACE_STORE_URI")
        if not uri:
            raise NotConfigured("SPREADTRACE_STORE_URI is empty")
        store = open_store(uri)
        return cls(crawler, store, Tracker(store, match_policy(settings)))

    def open_spider(self, spider: Any = None) -> None:
        self._pool.start()

    def close_spider(self, spider: Any = None) -> None:
        self._pool.stop()  # waits for queued records: nothing observed is dropped at shutdown
        self.store.close()

    async def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, MediaItem):
            return item
        recorded = threads.deferToThreadPool(reactor, self._pool, self._record, item)
        return await maybe_deferred_to_future(recorded)

    def _record(self, item: MediaItem) -> MediaItem:
        stats = self.crawler.stats
        assert stats is not None
        error = item.error
        if item.spool_path is not None and item.sha256 is not None:
            try:
                error = self._hash_once(item.sha256, item.spool_path, item.media_url)
            finally:
                item.spool_path.unlink(missing_ok=True)  # hashes only: the video itself is not kept
                item.spool_path = None
        elif item.body is not None and item.sha256 is not None:
            error = self._hash_once(item.sha256, item.body, item.media_url)
            item.body = None  # the original bytes are not kept: hashes only
        elif item.sha256 is not None:
            error = self.tracker.media_state(item.sha256).error
        observed_at = utc_now()
        for page in item.pages:
            sightings = self.tracker.observe(
                Observation(
                    observed_at=observed_at,
                    media_url=item.media_url,
                    page_url=page.page_url,
                    site=item.site,
                    http_status=item.http_status,
                    sha256=item.sha256,
                    content_type=item.content_type,
                    error=error,
                    claimed_at=page.claimed_at,
                    claimed_source=page.claimed_source,
                )
            )
            stats.inc_value("spreadtrace/observation/count")
            if sightings:
                item.sightings += len(sightings)
                stats.inc_value("spreadtrace/match/count", len(sightings))
                logger.info("match: %s on %s", item.media_url, page.page_url, extra={"site": item.site})
        return item

    def _hash_once(self, sha256: str, body: bytes | Path, media_url: str) -> str | None:
        """Hash unseen bytes (in memory, or a video spooled to disk); return why they cannot be hashed, or None."""
        stats = self.crawler.stats
        assert stats is not None
        state = self.tracker.media_state(sha256)
        if state.known:
            stats.inc_value("spreadtrace/media/already_hashed")
            return state.error
        try:
            hashes = self._hash(body)
        except UnhashableContent as exc:
            logger.warning("skipped %s: %s", media_url, exc)
            stats.inc_value("spreadtrace/media/unhashable")
            size = body.stat().st_size if isinstance(body, Path) else len(body)
            self.tracker.record_unhashable(sha256, size, str(exc))
            return str(exc)
        self.tracker.record_media(hashes)
        stats.inc_value("spreadtrace/media/hashed")
        if hashes.kind == "video":
            stats.inc_value("spreadtrace/media/video_hashed")
        return None

    def _hash(self, body: bytes | Path) -> MediaHashes:
        if isinstance(body, Path):
            return hash_file(body, **self.hashing)
        return hash_media(
            body,
            max_pixels=self.hashing["max_pixels"],
            local_features=self.hashing["local_features"],
            video_limits=self.hashing["video_limits"],
        )


__all__ = ["RecordPipeline"]
