"""Run one visit of some sites in this process, with a live progress display.

One Tracker serves every site's crawler (one store, one copy of the reference indexes). A Twisted reactor
cannot restart, so this runs once per process: the CLI's `crawl` and `demo` call it once; tests run it
through the CLI in a subprocess.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.ossignal import install_shutdown_handlers, signal_names

from crawler.config import match_policy
from crawler.hashing import hand_pool, pool_for
from crawler.screenshots import END_WAIT_TIMEOUTS, screenshot_pool
from crawler.items import MediaItem
from crawler.sites import Site
from crawler.spiders.site import SiteSpider
from crawler.components import component
from crawler.stop import SHUTDOWN, CrawlStop
from crawler.tracking import evidence_recorder, hand_tracker
from crawler.visit import FINISHED_STAT, VISIT_ID_STAT, VisitCounts
from tracker import Tracker


@dataclass(frozen=True, slots=True)
class VisitSummary:
    site: str
    counts: VisitCounts
    finish_reason: str
    visit_id: str | None = None
    finished: bool = False  # False: cut short (or others still working), resumed by the next run


class _SiteCounter:
    """Counts one crawler's pages, media and matches from its signals, into a progress line."""

    def __init__(self, crawler: Crawler, progress: Progress | None, site: str) -> None:
        self.site, self.progress = site, progress
        self.pages = self.media = self.sightings = 0
        self.task = progress.add_task(site, total=None, detail="starting") if progress else None
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    def response_received(self, response: Response, request: Any, spider: Any) -> None:
        if "media_url" in request.meta:
            self.media += 1
        elif "spreadtrace_role" in request.meta:
            self.pages += 1
        self._show()

    def item_scraped(self, item: Any, response: Any, spider: Any) -> None:
        if isinstance(item, MediaItem):
            self.sightings += item.sightings
        self._show()

    def spider_closed(self, spider: Any, reason: str) -> None:
        self._show(done=reason)

    def _show(self, done: str | None = None) -> None:
        if self.progress is None or self.task is None:
            return
        detail = f"{self.pages} pages, {self.media} media, [bold]{self.sightings} sightings[/bold]"
        if done:
            detail += f" — {done}"
        self.progress.update(self.task, detail=detail)


def run_visits(settings: Settings, sites: Sequence[Site], console: Console | None = None) -> list[VisitSummary]:
    """Visit each site once, concurrently, and return what each visit did."""
    show_progress = settings.getbool("SPREADTRACE_PROGRESS") and console is not None
    settings = settings.copy()
    settings.set("LOG_INSTALL_ROOT_HANDLER", console is None, priority="cmdline")
    tracker = Tracker.open(settings["SPREADTRACE_STORE_URI"], match_policy(settings))
    tracker.evidence = evidence_recorder(settings)
    tracker.capture_every = settings.get("SPREADTRACE_CAPTURE_WHY") or None
    shots = screenshot_pool(settings, {site.name: site for site in sites}, tracker.evidence) if tracker.evidence else None
    if tracker.evidence is not None:
        tracker.evidence.screenshots = shots
    hashing = pool_for(settings)
    try:
        hand_tracker(settings, tracker)
        hand_pool(settings, hashing)
        process = CrawlerProcess(settings)
        if console is not None:
            _log_through_rich(console, settings.get("LOG_LEVEL"))
        progress = None
        if show_progress:
            progress = Progress(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(), console=console, transient=False,
            )  # fmt: skip
        crawlers = []
        for site in sites:
            crawler = process.create_crawler(SiteSpider)
            counter = _SiteCounter(crawler, progress, site.name)
            process.crawl(crawler, site=site)
            crawlers.append((crawler, counter))
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor

        # Our own SIGINT/SIGTERM handling: the stop is announced first (downloads and hashing give up at
        # once), then each spider closes; a second signal stops the reactor outright.
        reactor.callWhenRunning(install_shutdown_handlers, partial(_shut_down, [c for c, _ in crawlers]))
        if progress is not None:
            with progress:
                process.start(install_signal_handlers=False)
        else:
            process.start(install_signal_handlers=False)
        return [_summary(crawler, counter) for crawler, counter in crawlers]
    finally:
        hashing.close()
        if shots is not None:  # the last captures' screenshots, then the rest are owed to the next visit
            shots.close(wait_s=END_WAIT_TIMEOUTS * settings.getfloat("SPREADTRACE_SCREENSHOT_TIMEOUT"))
        tracker.close()


def _shut_down(crawlers: list[Crawler], signum: int, _: Any) -> None:
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor

    install_shutdown_handlers(_kill)
    why = f"{SHUTDOWN} ({signal_names.get(signum, signum)})"
    for crawler in crawlers:
        if crawler.crawling:
            reactor.callFromThread(component(crawler, CrawlStop).stop, why)


def _kill(signum: int, _: Any) -> None:
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor

    install_shutdown_handlers(signal.SIG_IGN)
    logging.getLogger(__name__).warning("second %s: stopping now", signal_names.get(signum, signum))
    reactor.callFromThread(reactor.stop)


def _summary(crawler: Crawler, counter: _SiteCounter) -> VisitSummary:
    stats = crawler.stats
    assert stats is not None
    return VisitSummary(
        site=counter.site,
        counts=VisitCounts.of(stats),
        finish_reason=str(stats.get_value("finish_reason", "unknown")),
        visit_id=stats.get_value(VISIT_ID_STAT),
        finished=bool(stats.get_value(FINISHED_STAT, False)),
    )


def _log_through_rich(console: Console, level: str) -> None:
    """Log lines print above the live display on a terminal, and as one plain line each elsewhere."""
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    else:
        handler = logging.StreamHandler(console.file)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.setLevel(level)  # on the handler: Scrapy sets its own loggers' levels
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The spider says "skipped URL: larger than the cap" for media; Scrapy's own line would repeat it.
    logging.getLogger("scrapy.core.downloader.handlers.http11").setLevel(logging.ERROR)
