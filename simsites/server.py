"""A real HTTP server per simulated site, on loopback, serving prepared resources from memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class SiteServer:
    """One site: path -> Resource, served by a ThreadingHTTPServer on ``host`` and a free port."""

    def __init__(self, name: str, host: str) -> None:
        self.name = name
        self.resources: dict[str, Resource] = {}
        self._server = _bind(host, self)
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"site-{name}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _bind(host: str, site: SiteServer) -> ThreadingHTTPServer:
    """Bind ``host``, or 127.0.0.1 where the system has no such loopback address (not Linux)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "simsite/1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = urlsplit(self.path).path
            resource = site.resources.get(path) or Resource(b"<h1>404 Not Found</h1>", status=404)
            self.send_response(resource.status)
            self.send_header("Content-Type", resource.content_type)
            self.send_header("Content-Length", str(len(resource.body)))
            for name, value in resource.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(resource.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    for candidate in (host, "127.0.0.1"):
        try:
            server = ThreadingHTTPServer((candidate, 0), Handler)
        except OSError:
            continue
        server.daemon_threads = True
        return server
    raise OSError(f"cannot bind a loopback address for site {site.name!r}")
