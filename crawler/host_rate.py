"""One politeness per host for every distributed worker, held in Redis (docs/architecture.md, Distributed).

Scrapy keeps its download delay and per-host concurrency in each process, so N workers on one site would
ask its host N times as often. With SPREADTRACE_DISTRIBUTED on, `crawler.distributed.Coordinator.apply`
makes `SharedPolitenessHandler` the HTTP(S) download handler: right before a request is sent (a page, a
media file fetched through ``engine.download_async``, robots.txt), the worker takes one of the host's
concurrency places and reserves the host's next send time, both in one Lua script on Redis, then waits for
that time without blocking the reactor.

Keys, per host (the URL's hostname, as Scrapy's own download slots): ``spreadtrace:host:HOST:next`` holds
the last send time handed out and expires one delay after it; ``spreadtrace:host:HOST:leases`` is a sorted
set of the requests in flight, each scored by when its lease expires, and the key expires with its last
lease. A worker renews its leases while their downloads run, so a killed worker frees its places within
`LEASE_SECONDS`. Times are Redis's own clock (``TIME``): workers whose clocks disagree still agree on it.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis
import redis.asyncio
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from crawler.distributed import REDIS_TIMEOUT_SECONDS, stop_for_redis
from crawler.spool import SpoolingDownloadHandler

# A lease outlives a killed worker by at most this long; live workers renew theirs three times as often.
LEASE_SECONDS = 30.0
# How often a request waiting for a place on a full host asks again (places free when downloads end).
FULL_HOST_POLL_SECONDS = 0.1
# A turn woken later than this share of the spacing is given up for a new one (see `HostTurns.turn`).
LATE_SHARE = 0.1

# KEYS: next, leases. ARGV: lease id, spacing (us), concurrency, lease (us). A lease runs from the send time.
# Returns {wait, send time} in microseconds (Redis's clock), or -1 when the host is full.
# Numbers go to redis.call as "%.0f" strings: Lua would write a microsecond clock in exponent notation.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now))
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return -1
end
local spacing = tonumber(ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]))
local at = now
if last and last + spacing > now then
  at = last + spacing
end
redis.call('SET', KEYS[1], string.format('%.0f', at), 'PX', string.format('%.0f', math.floor((at - now + spacing) / 1000) + 1))
redis.call('ZADD', KEYS[2], string.format('%.0f', at + tonumber(ARGV[4])), ARGV[1])
local longest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')[2]
redis.call('PEXPIREAT', KEYS[2], string.format('%.0f', math.floor(tonumber(longest) / 1000) + 1))
return {at - now, at}
"""

# KEYS: leases. ARGV: lease (us), then the lease ids to renew. A lease already expired stays gone (XX), and
# one still waiting for a far send time keeps its later expiry (GT).
_RENEW = """
local clock = redis.call('TIME')
local expiry = tonumber(clock[1]) * 1000000 + tonumber(clock[2]) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', 'GT', string.format('%.0f', expiry), ARGV[i])
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local longest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
  redis.call('PEXPIREAT', KEYS[1], string.format('%.0f', math.floor(tonumber(longest) / 1000) + 1))
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Turn:
    """A request's turn at a host: its lease on a place, the seconds to wait, and the send time (seconds on
    Redis's clock) that wait leads to."""

    lease: str
    wait: float
    at: float


class HostTurns:
    """Turns at each host for every worker on one Redis: a place among the host's requests in flight, and a
    send time at least ``spacing`` after the one handed out before it, whoever asked.

    Why one script for both: a send time goes only with a place, in one round trip. A time reserved first
    and a place waited for after would send the request later than its time, close behind a request
    another worker reserved after it.
    """

    def __init__(self, client: redis.asyncio.Redis, *, on_lost: Callable[[Exception], object],
                 lease_seconds: float = LEASE_SECONDS) -> None:  # fmt: skip
        self.redis = client
        self.on_lost = on_lost
        self.lease_us = int(lease_seconds * 1_000_000)
        self._reserve = client.register_script(_RESERVE)
        self._renew = client.register_script(_RENEW)
        self._owner = uuid.uuid4().hex[:12]
        self._numbers = itertools.count()
        self._held: dict[str, str] = {}  # lease id -> its host's leases key
        self._renewer: asyncio.Task[None] | None = None

    async def reserve(self, host: str, spacing: float, concurrency: int) -> Turn | None:
        """One try: a place at ``host`` and a send time, or None when ``concurrency`` requests are already
        in flight there."""
        lease = f"{self._owner}:{next(self._numbers)}"
        leases = _key(host, "leases")
        reply = await self._reserve(keys=[_key(host, "next"), leases],
                                    args=[lease, int(spacing * 1_000_000), max(1, concurrency), self.lease_us])  # fmt: skip
        if not isinstance(reply, list):
            return None
        self._held[lease] = leases
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._renew_held())
        wait_us, at_us = reply
        return Turn(lease, int(wait_us) / 1_000_000, int(at_us) / 1_000_000)

    async def release(self, lease: str) -> None:
        leases = self._held.pop(lease, None)
        if leases is not None:
            await self.redis.zrem(leases, lease)

    @asynccontextmanager
    async def turn(self, host: str, spacing: float, concurrency: int) -> AsyncIterator[Turn]:
        """Wait for a place and a send time at ``host``; the place is held until the block ends."""
        loop = asyncio.get_running_loop()
        while True:
            while (turn := await self.reserve(host, spacing, concurrency)) is None:
                await asyncio.sleep(FULL_HOST_POLL_SECONDS)
            try:
                due = loop.time() + turn.wait
                if turn.wait > 0:
                    await asyncio.sleep(turn.wait)
                late = loop.time() - due if turn.wait > 0 else 0.0
            except BaseException:
                await self._release_quietly(turn.lease)
                raise
            # Woken late (this process was busy), the request would land close behind the next worker's turn:
            # it takes a new one instead.
            if late <= spacing * LATE_SHARE:
                break
            await self._release_quietly(turn.lease)
        try:
            yield turn
        finally:
            await self._release_quietly(turn.lease)

    async def _release_quietly(self, lease: str) -> None:
        try:
            await self.release(lease)
        except redis.RedisError:
            pass  # the download's outcome stands; the lease expires, and the next turn asked for says why

    async def _renew_held(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease_us / 3_000_000)
            by_key: dict[str, list[str]] = {}
            for lease, leases in list(self._held.items()):
                by_key.setdefault(leases, []).append(lease)
            try:
                for leases, ids in by_key.items():
                    await self._renew(keys=[leases], args=[self.lease_us, *ids])
            except redis.RedisError as exc:
                self.on_lost(exc)
                return

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
        await self.redis.aclose()


def _key(host: str, suffix: str) -> str:
    return f"spreadtrace:host:{host}:{suffix}"


class SharedPolitenessUnavailable(IgnoreRequest):
    """Raised by `SharedPolitenessHandler` for a request it could not get a turn for: Redis is unreachable.
    The crawl is stopped with it (reason ``error``), so the page stays queued and the next run resumes it."""


class SharedPolitenessHandler(SpoolingDownloadHandler):
    """The crawl's download handler, each download taking its turn at its host first (`HostTurns`).

    Why a download handler and not a downloader middleware: middlewares run before Scrapy's own download
    slot, which may still hold a request back (its concurrency, its delay); a request reserved early and sent
    late would land close behind one another worker reserved after it. Here the request is sent the moment
    its turn comes.

    Scrapy's per-process slot stays in front, and AutoThrottle with it: it may raise this worker's delay for
    a slow host. The spacing reserved is the larger of the site's delay and that raised delay, so a slow
    host slows every worker, and the site's delay stays the floor between any two requests the host sees.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.delay = settings.getfloat("DOWNLOAD_DELAY")
        self.concurrency = settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        client = redis.asyncio.Redis.from_url(settings["SPREADTRACE_REDIS_URL"], socket_timeout=REDIS_TIMEOUT_SECONDS,
                                              socket_connect_timeout=REDIS_TIMEOUT_SECONDS)  # fmt: skip
        self.turns = HostTurns(client, on_lost=self._lost)

    async def download_request(self, request: Request) -> Response:
        host = urlparse_cached(request).hostname or ""
        try:
            async with self.turns.turn(host, self._spacing(request), self.concurrency):
                return await super().download_request(request)
        except redis.RedisError as exc:
            raise self._lost(exc) from exc

    def _spacing(self, request: Request) -> float:
        engine = self._crawler.engine
        slot = engine.downloader.slots.get(request.meta.get("download_slot", "")) if engine is not None else None
        return max(self.delay, slot.delay if slot is not None else 0.0)

    def _lost(self, exc: Exception) -> SharedPolitenessUnavailable:
        stop_for_redis(self._crawler, exc)
        return SharedPolitenessUnavailable("not sent: no turn at its host without Redis (the crawl is stopping)")

    async def close(self) -> None:
        await self.turns.close()
        await super().close()
