"""A visit's life in the journal, as a Scrapy component: begun (resumed, or joined on Redis) when the crawler
is made, its pages claimed as the spider finds them, ended when the crawl closes having run to its end.

The journal is the tracker's (`tracker.journal`); this component is how a crawler uses it, so the spider
turns pages into items and asks only "may I fetch this page?".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Self
from urllib.parse import urldefrag

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.misc import build_from_crawler

from crawler.distributed import DistributedWorker
from crawler.sites import Site
from crawler.stop import storage_error
from crawler.tracking import tracker_of
from tracker import PageOutcome, PageRole, Tracker
from tracker.journal import Rechecks
from tracker.models import Visit

VISIT_ID_STAT = "spreadtrace/visit/id"
FINISHED_STAT = "spreadtrace/visit/finished"


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
        self._asked: set[str] = set()  # the journal is asked once per URL by this worker
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
        or over the page budget. Re-checks are outside the budget."""
        url = page_key(url)
        if url in self._asked:
            return None
        self._asked.add(url)
        budget = None if role is PageRole.RECHECK else self.budget
        if self.tracker.visits.claim(self.visit.id, url, role, budget=budget):
            return url
        self._refused_for_budget = self._refused_for_budget or budget is not None
        return None

    def pending(self) -> list[tuple[str, PageRole]]:
        """Pages a killed run of this visit claimed and never finished; taken as claimed by this worker."""
        pending = self.tracker.visits.pending(self.visit.id)
        self._asked.update(url for url, _ in pending)
        return pending

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
