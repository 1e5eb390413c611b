"""Why a crawl stops before its end, said once and heard by every part: time, disk, or an error.

Scrapy closes a spider only after every download in flight and every item queued has finished, so a
hostile video that trickles, or a queue of files waiting to be hashed, would keep a stopped crawl alive.
Here a stop is announced first: the media fetcher gives up its downloads, the pipeline drops what it has
not recorded (those pages stay claimed-but-not-done, and the next run resumes them), and a decode in
progress ends at its next frame. Then the spider is closed with the reason, which becomes the visit's.

Reasons begin with their kind (``time limit``, ``disk``, ``error``, ``shutdown``), so the CLI can map
them onto exit codes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from tracker import refused_by_disk

logger = logging.getLogger(__name__)
TIME_LIMIT, DISK, ERROR, SHUTDOWN = "time limit", "disk", "error", "shutdown"
_DISK_CHECK_SECONDS = 2.0


class CrawlStop:
    """The crawler's stop: ``event`` is set (thread-safe) once a stop is announced; ``reason`` says why."""

    def __init__(self, crawler: Crawler, time_limit: float, min_free: int, watched: list[Path]) -> None:
        self.crawler = crawler
        self.time_limit = time_limit
        self.min_free = min_free
        self.watched = watched
        self.event = threading.Event()
        self._lock = threading.Lock()
        self.reason: str | None = None
        self._listeners: list[Callable[[], None]] = []
        self._timer: Any = None
        self._disk_check: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        home = settings.get("SPREADTRACE_HOME")
        watched = [Path(tempfile.gettempdir())] + ([Path(home)] if home else [])
        stop = cls(crawler, settings.getfloat("SPREADTRACE_TIME_LIMIT"), settings.getint("SPREADTRACE_MIN_FREE_BYTES"), watched)
        crawler.signals.connect(stop.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(stop.spider_closed, signal=signals.spider_closed)
        return stop

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the reactor thread when a stop is announced, before the spider closes."""
        self._listeners.append(callback)

    @property
    def stopping(self) -> bool:
        return self.event.is_set()

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor
        if self.time_limit > 0:
            self._timer = reactor.callLater(
                self.time_limit, self.stop, f"{TIME_LIMIT} of {self.time_limit:g} s reached"
            )
        if self.min_free > 0:
            self._disk_check = task.LoopingCall(self.check_disk)
            self._disk_check.start(_DISK_CHECK_SECONDS, now=True)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self._disk_check is not None and self._disk_check.running:
            self._disk_check.stop()

    def check_disk(self) -> None:
        for path in self.watched:
            try:
                free = shutil.disk_usage(path).free
            except OSError:
                continue
            if free < self.min_free:
                self.stop(f"{DISK}: {free:,} bytes free on {path}, under SPREADTRACE_MIN_FREE_BYTES ({self.min_free:,})")
                return

    def stop(self, reason: str) -> None:
        """Announce the stop and close the spider with ``reason`` (the first reason given wins)."""
        if self._announce(reason):
            self._close()

    def stop_from_thread(self, reason: str) -> None:
        """`stop`, from a thread that is not the reactor's (the pipeline's record thread)."""
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor
        if self._announce(reason):  # at once: the record thread must not go on to the next item meanwhile
            reactor.callFromThread(self._close)

    def _announce(self, reason: str) -> bool:
        with self._lock:
            if self.event.is_set():
                return False
            self.reason = reason
            self.event.set()
        logger.warning("stopping the visit: %s", reason)
        return True

    def _close(self) -> None:
        for listener in self._listeners:
            listener()
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=self.reason or ERROR))


def storage_error(exc: BaseException) -> str | None:
    """Why writing failed, when the disk (or the store on it) refused a write (`refused_by_disk`); None for
    anything else. Such a failure stops the crawl: nothing more can be recorded, and going on would only
    lose more."""
    if not refused_by_disk(exc):
        return None
    if isinstance(exc, OSError):
        return f"{DISK}: {exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    return f"{DISK}: {exc}"


