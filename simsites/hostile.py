"""Hostile hosts for tests and benchmarks: servers that stall, trickle, never answer, hide a body's size or
send the crawler somewhere it must not go, and a forward proxy that counts what passes through it.

The simulated sites (`simsites.server`) misbehave the way ordinary hosting sites do; these misbehave on
purpose. A `HostileServer` binds a loopback address and maps paths to answers: an `Answer` is a callable
that writes the whole exchange through an `Exchange`, so a new kind of misbehaviour is a few lines:

    with HostileServer("127.0.0.2") as site:
        site.route("/", page('<video src="/v.mp4"></video>'))
        site.route("/v.mp4", trickle("video/mp4", head=mp4[:32], rate=1.0))  # then one byte a second
        ...crawl site.url("/")...
        assert site.requests["/v.mp4"] == 1 and site.hits("/v.mp4")[0].hung_up

Every connection and every request is counted (`connections`, `requests`, `hits`), so a test can say "this
host was never asked", and each `Hit` says whether the client hung up before the answer was complete.
Long answers wait on the server's stop event and watch the socket, so they end when the client gives up
or the server stops, never by themselves. HTTP/1.0: one request per connection, close-delimited bodies
where an answer gives no Content-Length.

`CountingProxy` is a plain-HTTP forward proxy (absolute-URI requests, as ``http_proxy`` clients send):
it counts each URL, forwards the request with a ``Via`` header the origin can check, and streams the
answer back.
"""

from __future__ import annotations

import http.client
import itertools
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

VIA = "1.1 counting-proxy"  # what `CountingProxy` adds to every request it forwards
_CHUNK = 64 * 1024
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
                         "transfer-encoding", "upgrade"})  # fmt: skip


@dataclass
class Hit:
    """One request a server received: what was asked, when, what was sent back, and how it ended."""

    path: str
    target: str  # the request target as sent: an absolute URI when it came through a proxy
    headers: dict[str, str]
    client: str  # the peer's address
    started: float  # time.monotonic()
    ended: float | None = None
    sent: int = 0  # body bytes written
    hung_up: bool = False  # the client closed the connection before the answer was complete


class Exchange:
    """One request, as an `Answer` sees it: send the head, write the body, wait without outliving anyone."""

    def __init__(self, handler: BaseHTTPRequestHandler, hit: Hit, stopping: threading.Event) -> None:
        self.handler = handler
        self.hit = hit
        self._stopping = stopping

    def head(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.handler.send_response(status)
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.flush()

    def write(self, data: bytes) -> bool:
        """Send ``data``; False (and the hit marked hung up) when the client is gone."""
        try:
            self.handler.wfile.write(data)
            self.handler.wfile.flush()
        except OSError:
            self.hit.hung_up = True
            return False
        self.hit.sent += len(data)
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False as soon as the client hangs up or the server stops."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(left, 0.05)):
                return False
            if self.client_gone():
                self.hit.hung_up = True
                return False
        return True

    def client_gone(self) -> bool:
        """Whether the client closed its end (HTTP/1.0: it sends nothing more after the request)."""
        sock = self.handler.connection
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


Answer = Callable[[Exchange], None]


def page(html: str, status: int = 200) -> Answer:
    """An HTML page."""
    return blob(html.encode(), "text/html; charset=utf-8", status=status)


def blob(
    body: bytes | Callable[[], Iterable[bytes]], content_type: str, *, size: int | None = None, length: bool = True,
    status: int = 200,
) -> Answer:  # fmt: skip
    """A body sent as fast as the client reads it. ``body`` may be a function returning chunks (a large body
    generated as it is sent, never held whole; give its ``size`` for the Content-Length). ``length=False``
    sends no Content-Length: the body ends when the connection closes, and the client cannot know its size."""
    if isinstance(body, bytes):
        data, size = body, len(body)
        body = lambda: (data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK))  # noqa: E731

    chunks = body

    def answer(exchange: Exchange) -> None:
        headers = {"Content-Type": content_type}
        if length and size is not None:
            headers["Content-Length"] = str(size)
        exchange.head(status, headers)
        for chunk in chunks():
            if not exchange.write(chunk):
                return

    return answer


def trickle(content_type: str, *, head: bytes = b"", rate: float = 1.0, length: int | None = None,
            filler: bytes = b"\0") -> Answer:  # fmt: skip
    """Headers at once, then ``head`` at once, then one byte of ``filler`` every 1/``rate`` seconds, until the
    client gives up or the server stops. ``length`` is the Content-Length to claim (None: none sent)."""

    def answer(exchange: Exchange) -> None:
        if not _begin(exchange, content_type, head, length):
            return
        for byte in itertools.cycle(filler):
            if not exchange.wait(1.0 / rate) or not exchange.write(bytes([byte])):
                return

    return answer


def stall(content_type: str, *, head: bytes = b"", length: int | None = None) -> Answer:
    """Headers (and ``head``) at once, then nothing more, ever: a body that stops arriving."""

    def answer(exchange: Exchange) -> None:
        if not _begin(exchange, content_type, head, length):
            return
        while exchange.wait(3600):
            pass

    return answer


def _begin(exchange: Exchange, content_type: str, head: bytes, length: int | None) -> bool:
    """Send the status line, headers and ``head``; False if the client already hung up."""
    headers = {"Content-Type": content_type}
    if length is not None:
        headers["Content-Length"] = str(length)
    exchange.head(200, headers)
    return not head or exchange.write(head)


def silent() -> Answer:
    """Read the request, then never answer: not even a status line."""

    def answer(exchange: Exchange) -> None:
        while exchange.wait(3600):
            pass

    return answer


def redirect(location: str, status: int = 302) -> Answer:
    def answer(exchange: Exchange) -> None:
        exchange.head(status, {"Location": location, "Content-Length": "0"})

    return answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: Any) -> None:
        super().__init__(address, handler)
        self.owner = owner

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner._connected()
        super().process_request(request, client_address)


class _Listener:
    """A threading HTTP server on ``host`` and a free port, counting connections; a context manager."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, host: str, name: str) -> None:
        self.name = name
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server = _Server((host, 0), self.handler, self)
        self.host, self.port = str(self._server.server_address[0]), int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def _connected(self) -> None:
        with self.lock:
            self.connections += 1

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # long answers end at once
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class HostileServer(_Listener):
    """Paths mapped to `Answer`s on one loopback address; unknown paths answer 404."""

    def __init__(self, host: str = "127.0.0.1", name: str = "hostile") -> None:
        self.routes: dict[str, Answer] = {}
        self.requests: Counter[str] = Counter()  # by path
        self.log: list[Hit] = []
        self.handler = _handler_for(self)
        super().__init__(host, name)

    def route(self, path: str, answer: Answer) -> None:
        self.routes[path] = answer

    def hits(self, path: str | None = None) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.log if path is None or hit.path == path]

    def sent(self, path: str) -> int:
        """Body bytes sent so far on ``path``, over every request."""
        return sum(hit.sent for hit in self.hits(path))

    def _record(self, handler: BaseHTTPRequestHandler) -> Hit:
        path = urlsplit(handler.path).path
        hit = Hit(path, handler.path, dict(handler.headers.items()), handler.client_address[0], time.monotonic())
        with self.lock:
            self.requests[path] += 1
            self.log.append(hit)
        return hit


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "hostile/1"
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            hit = server._record(self)
            answer = server.routes.get(hit.path) or page("<h1>404 Not Found</h1>", status=404)
            try:
                answer(Exchange(self, hit, server.stopping))
            except OSError:
                hit.hung_up = True
            finally:
                hit.ended = time.monotonic()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class CountingProxy(_Listener):
    """A forward proxy for plain HTTP: counts each absolute URI asked for, forwards it with a ``Via`` header
    and streams the answer back. Point a client at it with ``http_proxy=proxy.base_url``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: Counter[str] = Counter()  # by absolute URL
        self.handler = _proxy_handler(self)
        super().__init__(host, "counting-proxy")


def _proxy_handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "counting-proxy/1"
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:  # noqa: N802
            target = urlsplit(self.path)
            if target.scheme != "http" or not target.hostname:
                self.send_error(400, "absolute http:// URI expected")
                return
            with proxy.lock:
                proxy.requests[self.path] += 1
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers.update({"Via": VIA, "Connection": "close"})
            origin = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=3600)
            try:
                origin.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
                answer = origin.getresponse()
                self.send_response(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP | {"server", "date"}:  # send_response wrote its own
                        self.send_header(name, value)
                self.end_headers()
                for chunk in _read(answer):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except OSError:
                pass  # either end hung up: close both
            finally:
                origin.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _read(answer: http.client.HTTPResponse) -> Iterator[bytes]:
    while chunk := answer.read1(_CHUNK):
        yield chunk
