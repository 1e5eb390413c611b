"""Distributed visits on Redis: workers share one scrapy-redis frontier per visit, and agree on the visit.

Keys, per site: ``spreadtrace:SITE:visit`` names the visit in progress; under ``spreadtrace:SITE:VISIT:``
live the request queue (scrapy-redis), one heartbeat key per live worker, and the seeder's key. The first
worker to join a visit no live worker holds becomes its seeder: it queues the start pages, the re-checks and
the pages a killed run left claimed but unfinished. A worker out of work waits while pages are queued or
another worker is busy (it may queue more). The last worker out, with the queue empty, ends the visit.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis
from scrapy.settings import BaseSettings

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
