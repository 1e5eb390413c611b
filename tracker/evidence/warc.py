"""WARC files of what a capture fetched: the archive format courts and archivists already read (ISO 28500).

Each HTTP exchange becomes a request and a response record (WARC 1.1) with its full headers, the body as
received, ``WARC-IP-Address``, and SHA-256 block and payload digests (warcio writes SHA-1 unless told
otherwise); the file opens with a warcinfo record naming spreadtrace, its version, the collector and the
case. Bodies stream from disk: a video's response is never held in memory.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from tracker.models import HttpExchange

WARC_VERSION = "1.1"


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


def write_warc(target: BinaryIO, exchanges: Iterable[HttpExchange], info: Mapping[str, Any], filename: str = "") -> list[WarcRecordRef]:
    """Write a gzipped WARC of ``exchanges`` to ``target``, after a warcinfo record of ``info``; each
    exchange's redirects come before it, as the crawler met them."""
    writer = _Sha256Writer(target, gzip=True, warc_version=WARC_VERSION)
    writer.write_record(writer.create_warcinfo_record(filename, dict(info)))
    return [_write_exchange(writer, hop) for exchange in exchanges for hop in (*exchange.redirects, exchange)]


@dataclass(frozen=True, slots=True)
class WarcResource:
    """A thing kept whole rather than fetched (a screenshot): a WARC ``resource`` record of ``body``."""

    url: str  # a screenshot's is ``urn:view:PAGE_URL``, as Browsertrix names them
    date: str
    media_type: str
    body: BinaryIO  # read from where it stands, ``length`` bytes
    length: int


def write_resources(target: BinaryIO, resources: Iterable[WarcResource], info: Mapping[str, Any], filename: str = "") -> None:
    """Write a gzipped WARC of ``resources`` to ``target``, after a warcinfo record of ``info``; each body is
    streamed, and the iterable may open each only when it is asked for the next."""
    writer = _Sha256Writer(target, gzip=True, warc_version=WARC_VERSION)
    writer.write_record(writer.create_warcinfo_record(filename, dict(info)))
    for resource in resources:
        record = writer.create_warc_record(resource.url, "resource", payload=resource.body, length=resource.length,
                                           warc_content_type=resource.media_type,
                                           warc_headers_dict={"WARC-Date": resource.date})  # fmt: skip
        writer.write_record(record)


def _write_exchange(writer: _Sha256Writer, exchange: HttpExchange) -> WarcRecordRef:
    date = exchange.fetched_at
    common = {"WARC-Date": date, **({"WARC-IP-Address": exchange.ip} if exchange.ip else {})}
    request_headers = StatusAndHeaders(f"{exchange.method} {_request_target(exchange.url)} HTTP/1.1",
                                       list(exchange.request_headers), is_http_request=True)  # fmt: skip
    request = writer.create_warc_record(exchange.url, "request", payload=io.BytesIO(b""), length=0,
                                        http_headers=request_headers, warc_headers_dict=dict(common))  # fmt: skip
    status = f"{exchange.status} {_reason(exchange.status)}"
    response_headers = StatusAndHeaders(status, list(exchange.response_headers), protocol="HTTP/1.1")
    if exchange.body is None and exchange.payload_sha256 is not None:
        # The bytes are not at hand (a 304 for a known file; a file captured with another page): a revisit
        # record names them by their digest, as web archives record a payload they already hold.
        digest = "sha256:" + base64.b32encode(bytes.fromhex(exchange.payload_sha256)).decode()
        revisit = {**common, "WARC-Profile": writer.REVISIT_PROFILE_1_1, "WARC-Payload-Digest": digest}
        response = writer.create_warc_record(exchange.url, "revisit", http_headers=response_headers, warc_headers_dict=revisit)
        writer.write_request_response_pair(request, response)
    else:
        body = exchange.body if exchange.body is not None else b""
        with open(body, "rb") if isinstance(body, Path) else io.BytesIO(body) as stream:
            length = stream.seek(0, io.SEEK_END)
            stream.seek(0)
            response = writer.create_warc_record(exchange.url, "response", payload=stream, length=length,
                                                 http_headers=response_headers, warc_headers_dict=dict(common))  # fmt: skip
            writer.write_request_response_pair(request, response)
    return WarcRecordRef(exchange.url, response.rec_headers.get_header("WARC-Record-ID"), date, exchange.status,
                         response.rec_headers.get_header("WARC-Payload-Digest"))  # fmt: skip


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _request_target(url: str) -> str:
    """What the request line names: the URL's path and query."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
