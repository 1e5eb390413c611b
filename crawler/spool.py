"""A download handler that writes media bodies to disk as they arrive, never holding them in memory.

Scrapy keeps every response body in memory (scrapy/scrapy#3880, #4620; streaming is not released), so a
page that embeds forty 30 MB images would hold all forty at once. Requests marked
``meta["spreadtrace_spool"]`` (every media file) are fetched here instead: each chunk goes to a nameless
temporary file and into a SHA-256 as it arrives, and the response handed back has an empty body and the
file in ``meta["spreadtrace_spooled"]``. Every other request goes to Scrapy's HTTP/1.1 handler as usual.

The handler reuses Scrapy's own agent (`_ScrapyAgent`: proxies from ``meta["proxy"]``, the bind address,
TLS settings, the whole-download timeout) and replaces only how the body is read. On top of Scrapy's
timeout it gives up on a host that stops sending: ``SPREADTRACE_READ_TIMEOUT`` seconds without a byte,
before or after the headers (a body that trickles a byte a second is bounded by the whole-download
timeout, ``download_timeout``).

The file has no name (``O_TMPFILE``): when the process dies, even by SIGKILL, the kernel frees it, and no
piece of a reported video is left in a temporary folder. Readers open it through ``/proc/self/fd``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _ScrapyAgent
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import Request, Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import UNKNOWN_LENGTH

from crawler.errors import MediaTooLarge

logger = logging.getLogger(__name__)


class Spooled:
    """A body on disk: its open, nameless file, its SHA-256 and size. Whoever holds it closes it once
    done (the pipeline, after hashing); closing frees the disk and runs the ``on_close`` callbacks."""

    def __init__(self, file: IO[bytes], sha256: str, size: int) -> None:
        self.file = file
        self.sha256 = sha256
        self.size = size
        self._on_close: list[Callable[[], object]] = []

    @property
    def path(self) -> Path:
        """A path that opens this file (for decoders that want one) while it is open, in this process and in
        the hashing workers (same user): /proc/PID, not /proc/self."""
        return Path(f"/proc/{os.getpid()}/fd/{self.file.fileno()}")

    def head(self, size: int) -> bytes:
        return os.pread(self.file.fileno(), size, 0)

    def read_bytes(self) -> bytes:
        return os.pread(self.file.fileno(), self.size, 0)

    def on_close(self, callback: Callable[[], object]) -> None:
        self._on_close.append(callback)

    def close(self) -> None:
        if self.file.closed:
            return
        self.file.close()
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()

    def __del__(self) -> None:  # a body dropped unclosed by a bug must not keep its in-flight slot
        if not self.file.closed:
            logger.warning("a spooled body of %d bytes was dropped without being closed", self.size)
            self.close()


class Spool:
    """A nameless temporary file that counts and hashes what is written to it, and refuses to grow past
    ``maxsize``."""

    def __init__(self, maxsize: int, url: str) -> None:
        self.maxsize = maxsize
        self.url = url
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="spreadtrace-media-")  # noqa: SIM115 - handed on
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

    def result(self) -> Spooled:
        self._file.flush()
        return Spooled(self._file, self._sha256.hexdigest(), self.size)


class ReadTimeout(DownloadTimeoutError):
    """The host stopped sending: no byte for the read timeout."""


class SpoolingDownloadHandler(HTTP11DownloadHandler):
    async def download_request(self, request: Request) -> Response:
        if not request.meta.get("spreadtrace_spool"):
            return await super().download_request(request)
        agent = _SpoolingAgent(
            contextFactory=self._contextFactory, bindAddress=self._bind_address, pool=self._pool,
            maxsize=self._default_maxsize, fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            read_timeout=self._crawler.settings.getfloat("SPREADTRACE_READ_TIMEOUT"),
        )  # fmt: skip
        with wrap_twisted_exceptions():
            return await maybe_deferred_to_future(agent.download_request(request))


class _SpoolingAgent(_ScrapyAgent):
    """Scrapy's agent, with the body read into a `Spool` and a read timeout on top of its own."""

    def __init__(self, *, read_timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.read_timeout = read_timeout
        self._stalled: str | None = None
        self._waiting_for_headers: Any = None

    def download_request(self, request: Request) -> Deferred[Response]:
        from twisted.internet import reactor as _reactor  # the one Scrapy installed: importing earlier would install another

        reactor: Any = _reactor

        done = super().download_request(request)
        if self.read_timeout > 0:
            self._waiting_for_headers = reactor.callLater(
                self.read_timeout, self._stall, done, f"no data for {self.read_timeout:g} s: no response at all"
            )
        done.addBoth(self._explained)
        return done

    def _stall(self, pending: Deferred[Any], why: str) -> None:
        self._stalled = why
        pending.cancel()

    def _explained(self, result: Any) -> Any:
        if self._waiting_for_headers is not None and self._waiting_for_headers.active():
            self._waiting_for_headers.cancel()
        if isinstance(result, Failure) and self._stalled:  # whatever the cancel surfaced as (ResponseNeverReceived...)
            raise ReadTimeout(self._stalled)
        return result

    def _cb_bodyready(self, txresponse: Any, request: Request) -> Any:
        if self._waiting_for_headers is not None and self._waiting_for_headers.active():
            self._waiting_for_headers.cancel()
        maxsize = int(request.meta.get("download_maxsize", self._maxsize) or 0)
        declared = None if txresponse.length == UNKNOWN_LENGTH else int(txresponse.length)
        if maxsize and declared is not None and declared > maxsize:
            txresponse._transport._producer.abortConnection()
            raise MediaTooLarge(declared, maxsize, request.url)
        spool = Spool(maxsize, request.url)
        if declared == 0:  # Twisted never finishes delivering an empty body
            request.meta["spreadtrace_spooled"] = spool.result()
            return _done(txresponse)
        finished: Deferred[Any] = Deferred(partial(_abandon, txresponse=txresponse, spool=spool))
        txresponse.deliverBody(_SpoolReader(finished, txresponse, spool, request, self))
        self._txresponse = txresponse  # for Scrapy's whole-download timeout
        return finished


def _done(txresponse: Any) -> dict[str, Any]:
    """What Scrapy's handler builds the response from: with the server's IP address and TLS certificate,
    which Scrapy's connection protocol attached to the response (a capture records both)."""
    return {"txresponse": txresponse, "certificate": getattr(txresponse, "_scrapy_certificate", None),
            "ip_address": getattr(txresponse, "_scrapy_ip_address", None)}  # fmt: skip


def _abandon(_: Any, txresponse: Any, spool: Spool) -> None:
    txresponse._transport._producer.abortConnection()
    spool.discard()


class _SpoolReader(Protocol):
    def __init__(self, finished: Deferred[Any], txresponse: Any, spool: Spool, request: Request, agent: _SpoolingAgent) -> None:
        from twisted.internet import reactor as _reactor

        reactor: Any = _reactor

        self.finished = finished
        self.txresponse = txresponse
        self.spool = spool
        self.request = request
        self.agent = agent
        self._idle: Any = None
        if agent.read_timeout > 0:
            self._idle = reactor.callLater(agent.read_timeout, self._stalled)

    def _stalled(self) -> None:
        self.agent._stall(self.finished, f"no data for {self.agent.read_timeout:g} s after {self.spool.size:,} bytes")

    def _stop_timer(self) -> None:
        if self._idle is not None and self._idle.active():
            self._idle.cancel()

    def dataReceived(self, data: bytes) -> None:
        if self.finished.called:
            return
        if self._idle is not None:
            self._idle.reset(self.agent.read_timeout)
        try:
            self.spool.write(data)
        except (MediaTooLarge, OSError) as exc:
            self._stop_timer()
            self.spool.discard()
            assert self.transport is not None
            self.transport.stopProducing()
            self.finished.errback(Failure(exc))  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._stop_timer()
        if self.finished.called:
            return
        # PotentialDataLoss: no Content-Length, the body ends when the connection does (HTTP/1.0 style).
        if reason.check(ResponseDone, PotentialDataLoss):  # type: ignore[no-untyped-call]
            self.request.meta["spreadtrace_spooled"] = self.spool.result()
            self.finished.callback(_done(self.txresponse))
            return
        self.spool.discard()
        declared = self.txresponse.length
        if declared != UNKNOWN_LENGTH:
            self.finished.errback(Failure(ConnectionError(  # type: ignore[no-untyped-call]
                f"the connection closed after {self.spool.size:,} of {declared:,} bytes")))  # fmt: skip
        else:
            self.finished.errback(reason)
