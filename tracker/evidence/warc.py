"""WARC files of what a capture fetched: the archive format courts and archivists already read (ISO 28500).

Each HTTP exchange becomes a request and a response record (WARC 1.1) with its full headers, the body as
received, ``WARC-IP-Address``, and SHA-256 block and payload digests (warcio writes SHA-1 unless told
otherwise); the file opens with a warcinfo record naming spreadtrace, its version, the collector and the
case. Bodies stream from disk: a video's response is never held in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

WARC_VERSION = "1.1"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and its response, as fetched. ``body`` is the response body as received: a file
    (streamed) or bytes. ``fetched_at`` is ISO 8601 UTC."""

    url: str
    fetched_at: str
    status: int
    reason: str
    response_headers: Sequence[tuple[str, str]]
    body: Path | bytes
    request_headers: Sequence[tuple[str, str]] = ()
    method: str = "GET"
    ip: str | None = None
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True, slots=True)
class WarcRecordRef:
    """Where a response record landed: for the CDXJ index of an export."""

    url: str
    record_id: str
    fetched_at: str
    status: int
    payload_digest: str


class _Sha256Writer(WARCWriter):  # type: ignore[misc]  # warcio has no type hints
    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


def write_warc(target: BinaryIO, exchanges: Iterable[Exchange], info: Mapping[str, Any], filename: str = "") -> list[WarcRecordRef]:
    """Write a gzipped WARC of ``exchanges`` to ``target``, after a warcinfo record of ``info``."""
    writer = _Sha256Writer(target, gzip=True, warc_version=WARC_VERSION)
    writer.write_record(writer.create_warcinfo_record(filename, dict(info)))
    written = []
    for exchange in exchanges:
        written.append(_write_exchange(writer, exchange))
    return written


def _write_exchange(writer: _Sha256Writer, exchange: Exchange) -> WarcRecordRef:
    date = exchange.fetched_at if exchange.fetched_at.endswith("Z") else exchange.fetched_at + "Z"
    common = {"WARC-Date": date, **({"WARC-IP-Address": exchange.ip} if exchange.ip else {})}
    target = _request_target(exchange.url)
    request_headers = StatusAndHeaders(f"{exchange.method} {target} {exchange.protocol}", list(exchange.request_headers),
                                       is_http_request=True)  # fmt: skip
    request = writer.create_warc_record(exchange.url, "request", payload=io.BytesIO(b""), length=0,
                                        http_headers=request_headers, warc_headers_dict=dict(common))  # fmt: skip
    response_headers = StatusAndHeaders(f"{exchange.status} {exchange.reason}", list(exchange.response_headers),
                                        protocol=exchange.protocol)  # fmt: skip
    body = open(exchange.body, "rb") if isinstance(exchange.body, Path) else io.BytesIO(exchange.body)
    with body:
        length = body.seek(0, io.SEEK_END)
        body.seek(0)
        response = writer.create_warc_record(exchange.url, "response", payload=body, length=length,
                                             http_headers=response_headers, warc_headers_dict=dict(common))  # fmt: skip
        writer.write_request_response_pair(request, response)
    return WarcRecordRef(exchange.url, response.rec_headers.get_header("WARC-Record-ID"), date, exchange.status,
                         response.rec_headers.get_header("WARC-Payload-Digest"))  # fmt: skip


def _request_target(url: str) -> str:
    """What the request line names: the URL's path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
