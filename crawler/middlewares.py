"""Downloader middlewares: refuse private addresses, and honour Retry-After on 429 and 503."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

logger = logging.getLogger(__name__)


class PrivateAddressRefused(IgnoreRequest):
    """A request whose host is, or resolves to, a loopback, private, link-local or reserved address."""


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def refused_address(address: str) -> bool:
    """Whether ``address`` is not a public unicast address, or is an IPv6 form that carries one that is not
    (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo): each of those reaches the IPv4 host inside."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(refused_address(str(inner)) for inner in _embedded_ipv4(ip)):
            return True
    return not ip.is_global or ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in _NAT64) or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        found.append(low32)
    return found


class PrivateAddressMiddleware:
    """No request reaches loopback, private (RFC 1918, ULA), link-local (cloud metadata at 169.254.169.254),
    shared, reserved or multicast addresses, nor an IPv6 form of one. A site that sets ``allow_private``
    opens them for its own hosts only (its start URLs' hosts and allowed domains): an embed, ``og:image``
    or redirect to any other private host is still refused, so a hostile page cannot point the crawler at
    a service on its network.

    Every request passes here, redirects and robots.txt included. The check resolves the host itself; the
    download resolves again, so a host that answers differently the second time (DNS rebinding) is a gap
    this does not close.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._verdicts: dict[str, str | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        spider = spider or self.crawler.spider
        site = getattr(spider, "site", None)
        if site is not None and site.allow_private and site.covers(request.url):
            return None
        host = urlsplit(request.url).hostname or ""
        if host not in self._verdicts:
            self._verdicts[host] = await asyncio.to_thread(private_address_of, host)
        address = self._verdicts[host]
        if address is not None:
            name = getattr(site, "name", "?")
            if site is not None and site.allow_private:
                hint = f"allow_private in site {name!r} covers only its own hosts ({', '.join(site.allowed_domains)})"
            else:
                hint = f"set allow_private = true in site {name!r} only if it is meant to be reached"
            raise PrivateAddressRefused(f"refused {request.url}: {host} is a private address ({address}); {hint}")
        return None


def private_address_of(host: str) -> str | None:
    """The first refused address ``host`` is or resolves to; None if all are public (or it does not resolve:
    the download then fails with its own DNS error). Blocking: the middleware runs it in a thread, as
    asyncio's own getaddrinfo would; screenshot workers call it directly."""
    try:
        return host if refused_address(host) else None
    except ValueError:
        pass  # a name, not an address
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        address = str(info[4][0])
        if refused_address(address):
            return address
    return None


class RetryAfterMiddleware:
    """On 429 or 503 with Retry-After, pause that host and retry after the time it asks for.

    Requests to the paused host wait here before they reach the downloader. A wait longer than
    SPREADTRACE_RETRY_AFTER_MAX gives up on the request (recorded as failed, never as removed).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("SPREADTRACE_RETRY_AFTER_MAX")
        self._paused_until: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        host = urlsplit(request.url).netloc
        wait = self._paused_until.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Any:
        if response.status not in (429, 503):
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        if wait is None:
            return response  # Scrapy's RetryMiddleware retries it on its own schedule
        host = urlsplit(request.url).netloc
        self._paused_until[host] = max(self._paused_until.get(host, 0.0), time.monotonic() + min(wait, self.max_wait))
        if wait > self.max_wait:
            logger.warning("%s asks to wait %.0f s (over SPREADTRACE_RETRY_AFTER_MAX): not retried", request.url, wait)
            return response
        assert self.crawler.spider is not None
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=f"{response.status} Retry-After {wait:g}s"
        )
        return retry if retry is not None else response


def retry_after_seconds(value: bytes | None) -> float | None:
    """Retry-After as seconds: delay-seconds or an HTTP date (RFC 9110 section 10.2.3); None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
