"""A case's contacts as the user gives them: an e-mail address, or a webhook URL, each checked before it is kept.

A webhook POST carries case data (where copies are, their hashes), so it goes over https; plain http only
when SPREADTRACE_WEBHOOK_ALLOW_HTTP is on (a receiver on loopback, in tests). Its secret signs each POST
(HMAC-SHA256, as GitHub signs its webhooks) so the receiver knows the alert came from us, unchanged.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from tracker.alerts.alert import MAX_URL_LENGTH
from tracker.errors import TrackerError

# What a relay accepts as a mailbox, conservatively: no display names, comments or quoted local parts, so
# an address can never carry a second header or recipient.
_LOCAL_PART = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
_DOMAIN = r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
_EMAIL = re.compile(f"{_LOCAL_PART}@{_DOMAIN}")


class InvalidContact(TrackerError):
    """Raised by `validate_email` and `validate_webhook` for an address or URL that cannot be a contact; the message names it."""


def validate_email(address: str) -> str:
    if not _EMAIL.fullmatch(address) or ".." in address or address.startswith("."):
        raise InvalidContact(f"{address!r} is not an e-mail address (expected name@domain.example)")
    return address


def validate_webhook(url: str, *, allow_http: bool) -> str:
    """``url`` when a webhook may be POSTed there, else InvalidContact saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidContact(f"webhook {url!r}: {exc}") from None
    if len(url) > MAX_URL_LENGTH or any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidContact(f"webhook {url[:80]!r}: not a URL (spaces, control characters, or too long)")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidContact(f"webhook {url!r}: expected an https:// URL")
    if parts.scheme == "http" and not allow_http:
        raise InvalidContact(f"webhook {url!r}: alerts carry case data, so webhooks need https "
                             "(SPREADTRACE_WEBHOOK_ALLOW_HTTP allows http, for a receiver on loopback)")  # fmt: skip
    if parts.username is not None or parts.password is not None:
        raise InvalidContact(f"webhook {parts.scheme}://…@{parts.hostname}: no credentials in the URL "
                             "(the secret signs each POST)")  # fmt: skip
    if parts.fragment or port == 0:
        raise InvalidContact(f"webhook {url!r}: a URL with a fragment or port 0 is not a receiver")
    return url


def new_secret() -> str:
    """A webhook's signing secret: 256 random bits, as hex."""
    return secrets.token_hex(32)
