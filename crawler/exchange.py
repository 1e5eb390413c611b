"""A Scrapy response as an `HttpExchange`: what a capture keeps of a page or media fetch."""

from __future__ import annotations

from pathlib import Path

from scrapy import Request, Spider
from scrapy.http import Headers, Response

from tracker.clock import utc_now
from tracker.models import HttpExchange

REDIRECTS_KEY = "spreadtrace_redirects"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def exchange_of(response: Response, body: bytes | Path | None, payload_sha256: str | None = None) -> HttpExchange:
    """The request and response behind ``response``, with ``body`` as the crawler has it (a page's bytes as
    decoded by Scrapy's compression middleware; a media file as received, spooled to disk)."""
    request = response.request
    return HttpExchange(
        url=response.url, fetched_at=utc_now(), status=response.status, response_headers=_pairs(response.headers),
        body=body, request_headers=_pairs(request.headers) if request is not None else (),
        method=request.method if request is not None else "GET",
        ip=str(response.ip_address) if response.ip_address is not None else None,
        certificate=_der(response), payload_sha256=payload_sha256,
        redirects=tuple(response.meta.get(REDIRECTS_KEY, ())) if request is not None else (),
    )  # fmt: skip


class RedirectRecordMiddleware:
    """Keeps each redirect a request follows (its 3xx response, headers and body) in the request's meta,
    which Scrapy's RedirectMiddleware hands to the next request: a capture then shows the whole chain, not
    only where it ended (a redirect to a "removed" page is what proves a removal). Placed after
    RedirectMiddleware (600), it sees each 3xx first."""

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if _followed(request, response):
            request.meta[REDIRECTS_KEY] = (*request.meta.get(REDIRECTS_KEY, ()), exchange_of(response, response.body))
        return response


def _followed(request: Request, response: Response) -> bool:
    """Whether RedirectMiddleware will follow ``response`` (its own rules, Scrapy 2.x)."""
    if response.status not in _REDIRECTS or b"Location" not in response.headers or request.meta.get("dont_redirect"):
        return False
    return not (request.meta.get("handle_httpstatus_all") or response.status in request.meta.get("handle_httpstatus_list", ()))


def _pairs(headers: Headers) -> tuple[tuple[str, str], ...]:
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values)


def _der(response: Response) -> bytes | None:
    certificate = response.certificate
    if certificate is None:
        return None
    try:
        from OpenSSL.crypto import FILETYPE_ASN1

        der: bytes = certificate.dump(FILETYPE_ASN1)
        return der
    except Exception:  # an odd certificate object: the capture goes on without it
        return None
