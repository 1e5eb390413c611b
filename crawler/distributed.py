"""Distributed visits on Redis: workers share one scrapy-redis frontier per visit, and agree on the visit.

`DistributedWorker` is this process's part (a component the visit extension builds when
SPREADTRACE_DISTRIBUTED is on); `Coordinator` holds the Redis side.

Keys, per site: ``spreadtrace:SITE:visit`` names the visit in progress; under ``spreadtrace:SITE:VISIT:``
live the request queue (scrapy-redis), one heartbeat key per live worker, and the seeder's key. The first
worker to join a visit no live worker holds becomes its seeder: it queues the start pages, the re-checks and
the pages a killed run left claimed but unfinished. A worker out of work waits while pages are queued or
another worker is busy (it may queue more). The last worker out, with the queue empty, ends the visit.

Each host's politeness (delay and concurrency) is shared by every worker too: `crawler.host_rate`. A Redis
that goes away mid-crawl stops the crawl with reason ``error`` (`redis_unreachable`); the visit stays open,
and the next run resumes it.
"""

from __future__ import annotations

import uuid
from typing import Any, Self
from urllib.parse import urlsplit

import redis
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawler.components import component
from crawler.stop import ERROR, CrawlStop

HEARTBEAT_SECONDS = 10
HEARTBEAT_TTL = 30
# A Redis that stops answering (a partition, a stopped server) is an error after this long, not a hang.
REDIS_TIMEOUT_SECONDS = 10.0
_SHARED_POLITENESS_HANDLER = "crawler.host_rate.SharedPolitenessHandler"


def redis_unreachable(url: str, exc: Exception) -> str:
    """The stop reason for a Redis that went away; the URL without its password, which is no log's business."""
    parts = urlsplit(url)
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return f"{ERROR}: Redis at {shown} is unreachable ({exc}); the visit stops, and the next run resumes it"


def stop_for_redis(crawler: Crawler, exc: Exception) -> str:
    """Stop the crawl for a Redis that went away (the first reason given wins); the reason, for exceptions."""
    reason = redis_unreachable(crawler.settings["SPREADTRACE_REDIS_URL"], exc)
    component(crawler, CrawlStop).stop(reason)
    return reason


class Coordinator:
    def __init__(self, url: str, site: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_connect_timeout=REDIS_TIMEOUT_SECONDS)  # fmt: skip
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
        """scrapy-redis for this crawler: a shared priority queue, kept when a worker stops; and each host's
        politeness shared by every worker (`crawler.host_rate`)."""
        values: dict[str, Any] = {
            "SCHEDULER": "crawler.distributed.SharedScheduler",
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
            # One delay and one concurrency per host for all workers, not one per worker (crawler/host_rate.py).
            "DOWNLOAD_HANDLERS": {**settings.getdict("DOWNLOAD_HANDLERS"), "http": _SHARED_POLITENESS_HANDLER,
                                  "https": _SHARED_POLITENESS_HANDLER},  # fmt: skip
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
        """True when this was the last worker out and nothing is queued: the visit is over. Without Redis
        that cannot be known: the visit stays open (the crawl was stopped already), and a later run ends it."""
        try:
            return self.coordinator.leave()
        except redis.RedisError:
            return False

    def spider_opened(self, spider: Any) -> None:
        # Made here, not in from_crawler: a LoopingCall imports the reactor, which must not be installed early.
        self._heartbeat = task.LoopingCall(self._beat)
        self._heartbeat.start(HEARTBEAT_SECONDS, now=False)

    def _beat(self) -> None:
        try:
            self.coordinator.beat()
        except redis.RedisError as exc:
            stop_for_redis(self.crawler, exc)

    def spider_idle(self, spider: Any) -> None:
        try:
            waiting = self.coordinator.keep_waiting()
        except redis.RedisError as exc:
            stop_for_redis(self.crawler, exc)
            return
        if waiting:
            raise DontCloseSpider("other workers may still queue pages")

    def response_received(self, response: Response, request: Any, spider: Any) -> None:
        try:
            self.coordinator.mark("busy")
        except redis.RedisError as exc:
            stop_for_redis(self.crawler, exc)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()


class SharedScheduler(Scheduler):  # type: ignore[misc]  # scrapy-redis has no type hints
    """scrapy-redis's scheduler, stopping the crawl when Redis goes away rather than raising into the
    engine's loop (whose heartbeat would die, leaving an idle worker waiting forever). A request not queued
    then is not lost: the journal has it claimed, and the next run resumes it."""

    def enqueue_request(self, request: Request) -> bool:
        try:
            return bool(super().enqueue_request(request))
        except redis.RedisError as exc:
            stop_for_redis(self.spider.crawler, exc)
            return False

    def next_request(self) -> Request | None:
        try:
            request: Request | None = super().next_request()
        except redis.RedisError as exc:
            stop_for_redis(self.spider.crawler, exc)
            return None
        return request

    def has_pending_requests(self) -> bool:
        try:
            return bool(super().has_pending_requests())
        except redis.RedisError as exc:
            stop_for_redis(self.spider.crawler, exc)
            return False
