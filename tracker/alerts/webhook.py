"""A case's alerts of one run as one signed JSON POST to one webhook (schema: docs/alerts.md).

Signed as GitHub signs its webhooks: ``X-Spreadtrace-Signature: sha256=`` HMAC-SHA256 of the exact body
under the webhook's secret, so the receiver checks the body before it parses it. ``X-Spreadtrace-Delivery``
names the POST; each alert's ``key`` names the alert, so a receiver can drop one it has seen (a run killed
after the POST and before it recorded the delivery sends it again, an hour later).

A POST that fails for a reason that may pass (no connection, a timeout, 5xx, 408, 429) is tried again
after a wait that doubles each time; one the receiver refused (another 4xx) or redirected is not: the
signature is for this URL, and a redirect is not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.alerts.alert import Alert

SCHEMA = "spreadtrace.alerts/1"
_RETRY_STATUSES = frozenset({408, 429})
_LONGEST_WAIT_S = 60.0


class WebhookFailed(RuntimeError):
    """Raised by `post` when the webhook did not take the POST; ``str`` says why, in one line."""


@dataclass(frozen=True, slots=True)
class PostPolicy:
    tries: int = 3
    backoff_s: float = 2.0  # the first wait; each next one doubles
    timeout_s: float = 10.0


def payload(case_id: str, alerts: Sequence[Alert], sent_at: str, delivery: str) -> bytes:
    document = {"schema": SCHEMA, "case": case_id, "delivery": delivery, "sent_at": sent_at, "alerts": [a.as_dict() for a in alerts]}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def post(url: str, body: bytes, secret: str, delivery: str, policy: PostPolicy, *, user_agent: str,
         sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
    """POST ``body`` to ``url``, signed, trying up to ``policy.tries`` times; raises WebhookFailed."""
    headers = {
        "Content-Type": "application/json", "User-Agent": user_agent, "X-Spreadtrace-Delivery": delivery,
        "X-Spreadtrace-Signature": signature(secret, body),
    }  # fmt: skip
    opener = urllib.request.build_opener(_NoRedirects)
    reason = "not tried"
    for attempt in range(1, max(1, policy.tries) + 1):
        wait = policy.backoff_s * 2 ** (attempt - 1)
        try:
            with opener.open(urllib.request.Request(url, body, headers, method="POST"), timeout=policy.timeout_s) as answer:
                answer.read(65536)  # drained, unread: the status is the answer
                return
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {' '.join(str(exc.reason).split())}".strip()
            exc.close()
            if not (exc.code >= 500 or exc.code in _RETRY_STATUSES):
                raise WebhookFailed(f"webhook {url}: {reason} (not retried)") from None
            wait = max(wait, _retry_after(exc.headers.get("Retry-After")))
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = _why(exc, policy.timeout_s)
        if attempt < policy.tries:
            sleep(min(wait, _LONGEST_WAIT_S))
    raise WebhookFailed(f"webhook {url}: {reason}, after {policy.tries} tries")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx is raised as an HTTPError, and refused


def _retry_after(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0  # an HTTP date: the doubling wait stands


def _why(exc: BaseException, timeout_s: float) -> str:
    inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(inner, TimeoutError):
        return f"timed out after {timeout_s:g} s"
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror.lower()
    return " ".join(str(inner).split()) or type(inner).__name__
