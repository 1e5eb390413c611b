"""Distributed visits on Redis: workers share one scrapy-redis frontier per visit, and agree on the visit.

`DistributedWorker` is this process's part (a component the visit extension builds when
SPREADTRACE_DISTRIBUTED is on); `Coordinator` holds the Redis side.

Keys, per site: ``spreadtrace:SITE:visit`` names the visit in progress; under ``spreadtrace:SITE:VISIT:``
live the request queue (scrapy-redis), one heartbeat key per live worker, and the seeder's key. The first
worker to join a visit no live worker holds becomes its seeder: it queues the start pages, the re-checks and
the pages a killed run left claimed but unfinished. A worker out of work waits while pages are queued or
another worker is busy (it may queue more). The last worker out, with the queue empty, ends the visit.
"""

from __future__ import annotations

import uuid
from typing import Any, Self

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.internet import task

HEARTBEAT_SECONDS = 10
HEARTBEAT_TTL = 30


class Coordinator:
    def __init__(self, url: str, site: str) -> None:
        self.redis = redis.Redis.from_url(url)
        self.site = site
        self.worker = uuid.uuid4().hex[:12]
        self.visit_id: str | None = None
        self.seeder = False
        self.state = "busy"

    def join(self, new_visit_id: str) -> str:
        """The visit to work on: the one in progress, or ``new_visit_id``. Also decides who seeds."""
        key = f"spreadtrace:{self.site}:visit"
        self.redis.set(key, new_visit_id, nx=True)
        current = self.redis.get(key)
        self.visit_id = current.decode() if isinstance(current, bytes) else new_visit_id
        self.seeder = bool(self.redis.set(self._key("seeder"), self.worker, nx=True, ex=HEARTBEAT_TTL))
        self.beat()
        return self.visit_id

    def beat(self) -> None:
        self.redis.set(self._key(f"worker:{self.worker}"), self.state, ex=HEARTBEAT_TTL)
        if self.seeder:
            self.redis.set(self._key("seeder"), self.worker, ex=HEARTBEAT_TTL)

    def mark(self, state: str) -> None:
        """"busy" or "idle": an idle worker stays while others are busy, since they may queue more pages."""
        if state != self.state:
            self.state = state
            self.beat()

    def keep_waiting(self) -> bool:
        """Called when this worker runs out of work: wait if pages are queued or another worker is busy."""
        self.mark("idle")
        if self.redis.zcard(self.queue_key) > 0:
            return True
        others = [k for k in self.redis.scan_iter(match=self._key("worker:*"), count=100)
                  if not k.decode().endswith(self.worker)]  # fmt: skip
        return any(state == b"busy" for state in self.redis.mget(others)) if others else False

    def leave(self) -> bool:
        """Stop beating; True when no other worker is alive and nothing is queued: the visit is over."""
        self.redis.delete(self._key(f"worker:{self.worker}"))
        if self.seeder:
            self.redis.delete(self._key("seeder"))
        others = list(self.redis.scan_iter(match=self._key("worker:*"), count=100))
        if others or self.redis.zcard(self.queue_key) > 0:
            return False
        self.redis.delete(f"spreadtrace:{self.site}:visit", self.queue_key, self.dupefilter_key)
        return True

    @property
    def queue_key(self) -> str:
        return self._key("requests")

    @property
    def dupefilter_key(self) -> str:
        return self._key("dupefilter")

    def _key(self, suffix: str) -> str:
        assert self.visit_id is not None
        return f"spreadtrace:{self.site}:{self.visit_id}:{suffix}"

    def apply(self, settings: BaseSettings) -> None:
        """scrapy-redis for this crawler: a shared priority queue, kept when a worker stops."""
        values: dict[str, Any] = {
            "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
            "SCHEDULER_QUEUE_KEY": self.queue_key,
            "SCHEDULER_DUPEFILTER_KEY": self.dupefilter_key,
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "REDIS_URL": settings.get("SPREADTRACE_REDIS_URL"),
            "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
            # The engine takes requests off the queue until the downloader holds CONCURRENT_REQUESTS, delayed
            # ones included: a worker should hold only what it can fetch now and leave the rest to others.
            "CONCURRENT_REQUESTS": settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
        }
        for name, value in values.items():
            settings.set(name, value, priority="spider")


class DistributedWorker:
    """Keeps this worker in its visit: a heartbeat while it runs, "busy" while it fetches, and an idle
    worker kept waiting while another is busy or pages are queued (they may queue more)."""

    def __init__(self, crawler: Crawler, coordinator: Coordinator) -> None:
        self.crawler = crawler
        self.coordinator = coordinator
        self._heartbeat: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("SPREADTRACE_DISTRIBUTED"):
            raise NotConfigured("SPREADTRACE_DISTRIBUTED is off")
        site = getattr(crawler.spider, "site_name", None)
        if not site:
            raise NotConfigured("the spider names no site")
        worker = cls(crawler, Coordinator(settings["SPREADTRACE_REDIS_URL"], site))
        crawler.signals.connect(worker.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(worker.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(worker.response_received, signal=signals.response_received)
        crawler.signals.connect(worker.spider_closed, signal=signals.spider_closed)
        return worker

    @property
    def seeder(self) -> bool:
        return self.coordinator.seeder

    def join(self, proposed_visit_id: str) -> str:
        """The visit all workers share (``proposed_visit_id`` if none is in progress), with this crawler's
        scheduler moved onto that visit's queue on Redis."""
        visit_id = self.coordinator.join(proposed_visit_id)
        self.coordinator.apply(self.crawler.settings)
        return visit_id

    def leave(self) -> bool:
        """True when this was the last worker out and nothing is queued: the visit is over."""
        return self.coordinator.leave()

    def spider_opened(self, spider: Any) -> None:
        # Made here, not in from_crawler: a LoopingCall imports the reactor, which must not be installed early.
        self._heartbeat = task.LoopingCall(self.coordinator.beat)
        self._heartbeat.start(HEARTBEAT_SECONDS, now=False)

    def spider_idle(self, spider: Any) -> None:
        if self.coordinator.keep_waiting():
            raise DontCloseSpider("other workers may still queue pages")

    def response_received(self, response: Response, request: Any, spider: Any) -> None:
        self.coordinator.mark("busy")

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
