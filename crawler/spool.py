"""A download handler that writes large media bodies to disk as they arrive, never holding them in memory.

Scrapy keeps every response body in memory (scrapy/scrapy#3880, #4620; streaming is not released). For
a video of a few gigabytes that is not an option, so requests marked ``meta["spreadtrace_spool"]`` are
fetched here with Twisted's own HTTP client: each chunk goes to a temporary file and into a SHA-256 as
it arrives, and the response handed back has an empty body and the file's path, digest and size in
``meta["spreadtrace_spooled"]``. Every other request goes to Scrapy's HTTP/1.1 handler as usual.

The handler sits below the downloader middlewares, so robots.txt, the User-Agent, retries, redirects,
delays and per-domain concurrency apply to spooled requests as to any other.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import Agent, ResponseDone
from twisted.web.http_headers import Headers as TxHeaders

from crawler.errors import MediaTooLarge


@dataclass(frozen=True, slots=True)
class Spooled:
    """A body on disk: where, its SHA-256 and its size. The consumer deletes the file."""

    path: Path
    sha256: str
    size: int


class SpoolingDownloadHandler(HTTP11DownloadHandler):
    async def download_request(self, request: Request) -> Response:
        if not request.meta.get("spreadtrace_spool"):
            return await super().download_request(request)
        from twisted.internet import reactor  # the one Scrapy installed: importing it earlier would install another

        _reactor: Any = reactor
        maxsize = int(request.meta.get("download_maxsize") or 0)
        timeout = float(request.meta.get("download_timeout") or 180)
        agent = Agent(_reactor, contextFactory=self._contextFactory, connectTimeout=timeout, pool=self._pool)  # type: ignore[no-untyped-call]
        headers = TxHeaders({k: list(v) for k, v in request.headers.items()})
        pending = agent.request(request.method.encode(), request.url.encode(), headers, None)
        timer = _reactor.callLater(timeout, pending.cancel)
        try:
            txresponse: Any = await maybe_deferred_to_future(pending)
            declared = txresponse.length if isinstance(txresponse.length, int) else None
            if maxsize and declared is not None and declared > maxsize:
                txresponse.deliverBody(_Discard())
                raise MediaTooLarge(declared, maxsize, request.url)
            spool = Spool(maxsize, request.url)
            finished: Deferred[None] = Deferred()
            txresponse.deliverBody(_SpoolWriter(spool, finished))
            await maybe_deferred_to_future(finished)
        finally:
            if timer.active():
                timer.cancel()
        response_headers = Headers({k: v for k, v in txresponse.headers.getAllRawHeaders()})
        request.meta["spreadtrace_spooled"] = spool.result()
        cls = responsetypes.from_args(headers=response_headers, url=request.url)
        return cls(url=request.url, status=txresponse.code, headers=response_headers, body=b"", request=request, flags=["spooled"])


class Spool:
    """A temporary file that counts and hashes what is written to it, and refuses to grow past ``maxsize``."""

    def __init__(self, maxsize: int, url: str) -> None:
        self.maxsize = maxsize
        self.url = url
        handle, name = tempfile.mkstemp(prefix="spreadtrace-media-")
        self.path = Path(name)
        self._file: IO[bytes] = os.fdopen(handle, "wb")
        self._sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.maxsize and self.size > self.maxsize:
            raise MediaTooLarge(self.size, self.maxsize, self.url)
        self._file.write(data)
        self._sha256.update(data)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    def result(self) -> Spooled:
        self._file.close()
        return Spooled(self.path, self._sha256.hexdigest(), self.size)


class _SpoolWriter(Protocol):
    def __init__(self, spool: Spool, finished: Deferred[None]) -> None:
        self.spool = spool
        self.finished = finished

    def dataReceived(self, data: bytes) -> None:
        if self.finished.called:
            return
        try:
            self.spool.write(data)
        except (MediaTooLarge, OSError) as exc:
            self.spool.discard()
            assert self.transport is not None
            self.transport.stopProducing()
            self.finished.errback(Failure(exc))  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.finished.called:
            return
        if reason.check(ResponseDone):  # type: ignore[no-untyped-call]
            self.finished.callback(None)
        else:
            self.spool.discard()
            self.finished.errback(reason)


class _Discard(Protocol):
    def dataReceived(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.stopProducing()

    def connectionLost(self, reason: Any = connectionDone) -> None:
        pass
