"""Screenshots of captured pages, taken apart from the crawl so a page that hangs Chromium never stalls it.

A bounded pool of worker processes (`crawler.screenshot_worker`), each with its own Chromium; at most
``backlog`` screenshots wait for one, and a capture beyond that is owed rather than queued (taken at the
next visit), as are those still waiting when the crawl's end has waited long enough. pebble, as for hashing: a worker whose Chromium hangs in a script is killed at its task's
deadline and replaced, and only that screenshot fails. Every outcome goes back to the `EvidenceRecorder`,
which settles the sighting or notes why its screenshot is still owed.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from pebble import ProcessExpired, ProcessPool
from scrapy.settings import BaseSettings

from crawler.screenshot_worker import ShotFailed, ShotJob, ShotSettings, init_worker, shoot
from crawler.sites import Site
from tracker.chromium import ChromiumMissing, find_chromium
from tracker.evidence import CustodyEntry, EvidenceRecorder
from tracker.models import Sighting

logger = logging.getLogger(__name__)

_GRACE_SECONDS = 30.0  # beyond the page's own timeout, before a worker is taken for hung and killed
_TASKS_PER_WORKER = 50  # then the worker (and its Chromium) is replaced: browsers grow
# Screenshots that may wait for a worker. A waiting one is a few bytes, and one not queued waits for the
# next visit (a day, and the page may be gone by then), so the bound is generous: it is there for a site
# that shows hundreds of copies at once, not for memory.
_BACKLOG_PER_WORKER = 50
# The crawl's end waits this many page timeouts for the screenshots still waiting; the rest are owed.
END_WAIT_TIMEOUTS = 4


class ScreenshotPool:
    def __init__(self, settings: ShotSettings, workers: int, backlog: int, sites: Mapping[str, Site],
                 recorder: EvidenceRecorder) -> None:  # fmt: skip
        self.settings = settings
        self.backlog = backlog
        self.sites = sites
        self.recorder = recorder
        self._waiting: set[Future[int]] = set()
        self._lock = threading.Lock()
        self._all_done = threading.Condition(self._lock)
        self._pool = ProcessPool(max_workers=workers, max_tasks=_TASKS_PER_WORKER, initializer=init_worker,
                                 initargs=(settings,), context=multiprocessing.get_context("spawn"))  # fmt: skip

    def request(self, sighting: Sighting, capture: CustodyEntry) -> str | None:
        """Queue the screenshot of ``sighting``'s page for ``capture``: None, or why it was not queued."""
        site = self.sites.get(sighting.site or "")
        private = site if site is not None and site.allow_private else None
        job = ShotJob(sighting.case_id, sighting.id, capture.seq, sighting.page_url, private)
        with self._lock:
            if len(self._waiting) >= self.backlog:
                return f"not taken: {self.backlog} screenshots were already waiting"
            future: Future[int] = self._pool.schedule(shoot, (job,), timeout=self.settings.timeout_s * 2 + _GRACE_SECONDS)
            self._waiting.add(future)
        future.add_done_callback(lambda done: self._done(sighting, done))
        return None

    def close(self, wait_s: float) -> None:
        """Give waiting screenshots up to ``wait_s`` seconds, then end the workers; those not taken by then
        are owed (the next visit takes them)."""
        with self._all_done:
            self._all_done.wait_for(lambda: not self._waiting, timeout=wait_s)
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=10)

    def _done(self, sighting: Sighting, future: Future[int]) -> None:
        try:
            future.result()
            self.recorder.screenshot_taken(sighting)
        except Exception as exc:  # every failure is owed, whatever it is: the crawl goes on
            reason = _reason(exc, self.settings)
            logger.warning("screenshot of sighting %d (%s) not taken: %s", sighting.id, sighting.page_url, reason)
            try:
                self.recorder.screenshot_failed(sighting, reason)
            except OSError as write_error:
                logger.error("could not note the owed screenshot of sighting %d: %s", sighting.id, write_error)
        finally:
            with self._all_done:
                self._waiting.discard(future)
                self._all_done.notify_all()


def _reason(exc: BaseException, settings: ShotSettings) -> str:
    if isinstance(exc, ShotFailed):
        return str(exc)
    if isinstance(exc, FutureTimeout):
        return f"timeout: Chromium did not finish within {settings.timeout_s * 2 + _GRACE_SECONDS:g} s and was killed"
    if isinstance(exc, ProcessExpired):
        return f"failed: the screenshot worker died (exit code {exc.exitcode})"
    if isinstance(exc, CancelledError):
        return "not taken: the crawl ended first"
    first = (str(exc).strip().splitlines() or [""])[0]  # Playwright appends the browser's whole log
    return f"failed: {type(exc).__name__}: {first}"


def screenshot_pool(settings: BaseSettings, sites: Mapping[str, Site], recorder: EvidenceRecorder) -> ScreenshotPool | None:
    """The crawl's pool, or None: SPREADTRACE_SCREENSHOTS off, or no Chromium (said once, as an error:
    captures go on without screenshots)."""
    if not settings.getbool("SPREADTRACE_SCREENSHOTS"):
        return None
    try:
        chromium = find_chromium(settings.get("SPREADTRACE_CHROMIUM"))
    except ChromiumMissing as exc:
        logger.error("screenshots are off: %s", exc)
        return None
    shot = ShotSettings(
        home=str(Path(settings["SPREADTRACE_HOME"])), keys=settings.get("SPREADTRACE_EVIDENCE_KEYS", ""),
        chromium=str(chromium), organisation=recorder.collector.organisation, analyst=recorder.collector.analyst,
        tool=recorder.collector.tool, user_agent=settings.get("USER_AGENT") or "",
        timeout_s=settings.getfloat("SPREADTRACE_SCREENSHOT_TIMEOUT"),
        max_height=settings.getint("SPREADTRACE_SCREENSHOT_MAX_HEIGHT"),
    )  # fmt: skip
    workers = settings.getint("SPREADTRACE_SCREENSHOT_WORKERS")
    return ScreenshotPool(shot, workers, workers * _BACKLOG_PER_WORKER, sites, recorder)
