"""A visit's life in the journal, as a Scrapy component: begun (resumed, or joined on Redis) when the crawler
is made, its pages claimed as the spider finds them, ended when the crawl closes having run to its end.

The journal is the tracker's (`tracker.journal`); this component is how a crawler uses it, so the spider
turns pages into items and asks only "may I fetch this page?".
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Self
from urllib.parse import urldefrag

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.misc import build_from_crawler

from crawler.distributed import DistributedWorker
from crawler.frontier import Frontier
from crawler.sites import Site
from crawler.stop import storage_error
from crawler.tracking import tracker_of
from tracker import PageOutcome, PageRole, Tracker
from tracker.journal import Rechecks
from tracker.models import PendingPage, Visit

VISIT_ID_STAT = "spreadtrace/visit/id"
FINISHED_STAT = "spreadtrace/visit/finished"
FRONTIER_PEAK_STAT = "spreadtrace/frontier/peak_in_memory"
# URLs this worker asked the journal about, remembered so a page linked from every page is asked once; the
# oldest are forgotten (the journal still answers for them), so memory stays flat on any site.
_REMEMBERED_URLS = 20_000


def _only_pages(settings: BaseSettings) -> frozenset[str] | None:
    """SPREADTRACE_ONLY_PAGES: the pages a targeted check visits (a JSON list), or None for a whole visit."""
    raw = settings.get("SPREADTRACE_ONLY_PAGES") or ""
    if not raw:
        return None
    pages = json.loads(raw) if isinstance(raw, str) else raw
    return frozenset(page_key(str(url)) for url in pages)


def page_key(url: str) -> str:
    """The URL a page is known by: links that differ only by fragment are one page."""
    return urldefrag(url)[0]


class VisitExtension:
    def __init__(self, crawler: Crawler, tracker: Tracker, visit: Visit, budget: int,
                 worker: DistributedWorker | None) -> None:  # fmt: skip
        self.crawler = crawler
        self.tracker = tracker
        self.visit = visit
        self.budget = budget
        self.worker = worker
        self.rechecks: Rechecks = tracker.visits.rechecks(visit.site)
        # A targeted check (a notice's deadline): exactly these pages and their known media, nothing else.
        self.only: frozenset[str] | None = _only_pages(crawler.settings)
        if self.only is not None:
            self.rechecks = {page: media for page, media in self.rechecks.items() if page in self.only}
            self.only = self.only | {media for known in self.rechecks.values() for media in known}
        # Distributed workers queue on Redis, not in memory: no frontier of their own.
        in_memory = crawler.settings.getint("SPREADTRACE_FRONTIER_IN_MEMORY")
        self.frontier = Frontier(tracker, visit.id, in_memory) if worker is None else None
        self._asked: OrderedDict[str, None] = OrderedDict()
        self._refused_for_budget = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        site = getattr(crawler.spider, "site", None)
        if not isinstance(site, Site):
            raise NotConfigured("the spider visits no registered site")
        tracker = tracker_of(crawler)
        settings = crawler.settings
        resume = settings.getbool("SPREADTRACE_RESUME")
        worker = _optional_worker(crawler)
        visit_id = worker.join(tracker.visits.propose(site.name, resume=resume)) if worker is not None else None
        visit = tracker.visits.begin(site.name, visit_id=visit_id, resume=resume)
        budget = site.max_pages or settings.getint("SPREADTRACE_MAX_PAGES_PER_VISIT")
        extension = cls(crawler, tracker, visit, budget, worker)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    @property
    def seeds(self) -> bool:
        """Whether this worker queues the start, pending and re-check pages (distributed: only one does)."""
        return self.worker is None or self.worker.seeder

    def claim(self, url: str, role: PageRole) -> str | None:
        """The page's URL (fragment dropped) if this worker should fetch it now, else None: claimed before,
        over the page budget, or claimed and left in the journal for the frontier to hand out later.
        Re-checks are outside the budget."""
        url = page_key(url)
        if self.only is not None and url not in self.only:
            return None
        if url in self._asked:
            self._asked.move_to_end(url)
            return None
        self._asked[url] = None
        if len(self._asked) > _REMEMBERED_URLS:
            self._asked.popitem(last=False)
        budget = None if role is PageRole.RECHECK else self.budget
        position = self.tracker.visits.claim(self.visit.id, url, role, budget=budget)
        if position is None:
            self._refused_for_budget = self._refused_for_budget or budget is not None
            return None
        return url if self.frontier is None or self.frontier.admit(position) else None

    def resume(self) -> bool:
        """Whether a killed run of this visit left pages claimed and never finished: they are handed out
        first, through the frontier (or, distributed, by `pending`)."""
        if not self.tracker.visits.pending(self.visit.id, limit=1):
            return False
        if self.frontier is not None:
            self.frontier.resume()
        return True

    def pending(self) -> Iterator[PendingPage]:
        """Every page a killed run of this visit left, read from the journal a batch at a time (a
        distributed seeder queues them all on Redis)."""
        after = 0
        while batch := self.tracker.visits.pending(self.visit.id, after=after):
            yield from batch
            after = batch[-1].position

    def fetched(self) -> list[PendingPage]:
        """A page's response (or failure) is in: the pages to hand out next, if the frontier is running low."""
        if self.frontier is None:
            return []
        self.frontier.fetched()
        return self.frontier.refill()

    def refill(self, *, idle: bool = False) -> list[PendingPage]:
        """The pages to hand out now (``idle``: Scrapy holds none), if any wait in the journal."""
        return [] if self.frontier is None else self.frontier.refill(idle=idle)

    def spider_closed(self, spider: Any, reason: str) -> None:
        finished = reason == "finished"
        if self.worker is not None:
            finished = self.worker.leave() and finished
        stats = self.crawler.stats
        assert stats is not None
        if finished and self._over_budget():  # said, so nobody reads "finished" as "saw the whole site"
            reason = f"finished: page budget of {self.budget:,} pages reached"
            stats.set_value("finish_reason", reason)
        stats.set_value(VISIT_ID_STAT, self.visit.id)
        stats.set_value(FINISHED_STAT, finished)
        if self.frontier is not None:
            stats.set_value(FRONTIER_PEAK_STAT, self.frontier.peak)
        if not finished:  # a killed, stopped or timed-out visit stays open, and the next run resumes it
            return
        try:
            self.tracker.visits.finish(self.visit.id, VisitCounts.of(stats).detail(reason))
        except Exception as exc:
            if (disk := storage_error(exc)) is None:
                raise
            stats.set_value(FINISHED_STAT, False)
            stats.set_value("finish_reason", disk)

    def _over_budget(self) -> bool:
        return self._refused_for_budget and self.tracker.visits.claimed(self.visit) >= self.budget


@dataclass(frozen=True, slots=True)
class VisitCounts:
    """What a visit did, from the crawler's stats: kept with the visit, shown by `crawl` and `site status`.
    ``pages`` counts the pages that answered (online, removed, or a media file)."""

    pages: int
    media: int
    observations: int
    hashed: int
    unhashable: int
    sightings: int
    removed_pages: int
    failed_pages: int
    skipped_pages: int

    @classmethod
    def of(cls, stats: StatsCollector) -> VisitCounts:
        def count(key: str) -> int:
            return int(stats.get_value(key, 0))

        pages = {outcome: count(f"spreadtrace/page/{outcome}") for outcome in PageOutcome}
        return cls(
            pages=pages[PageOutcome.ONLINE] + pages[PageOutcome.REMOVED] + pages[PageOutcome.MEDIA],
            media=count("spreadtrace/media/fetched"),
            observations=count("spreadtrace/observation/count"),
            hashed=count("spreadtrace/media/hashed"),
            unhashable=count("spreadtrace/media/unhashable"),
            sightings=count("spreadtrace/match/count"),
            removed_pages=pages[PageOutcome.REMOVED],
            failed_pages=pages[PageOutcome.FAILED],
            skipped_pages=pages[PageOutcome.SKIPPED],
        )

    def detail(self, finish_reason: str) -> dict[str, object]:
        return {**asdict(self), "finish_reason": finish_reason}


def _optional_worker(crawler: Crawler) -> DistributedWorker | None:
    try:
        return build_from_crawler(DistributedWorker, crawler)
    except NotConfigured:
        return None
