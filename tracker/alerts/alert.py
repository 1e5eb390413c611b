"""An alert: one event of a case (a new sighting, a reappearance, an overdue notice) as its contacts hear of it.

An alert never carries the picture: it is made of links, hashes, times and statuses only, and checks so
itself when made. A link must be http(s) and of a sane length: a ``data:`` URI, or a query string long
enough to smuggle the bytes in, would put the material into an inbox or a chat channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tracker.states import AlertKind, Status

# Longest link an alert carries. Browsers take about 2,000 characters in practice; a link far longer
# than any page URL is data, not an address.
MAX_URL_LENGTH = 4096
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


class UnsafeAlert(ValueError):
    """Raised by `Alert` made with something that is not a link, hash, time or status."""


def safe_link(url: str | None) -> str | None:
    """``url`` when an alert may carry it: http(s), no control characters, at most MAX_URL_LENGTH; else None."""
    if url is None or len(url) > MAX_URL_LENGTH or _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


@dataclass(frozen=True, slots=True)
class Alert:
    """One event of a case. ``at`` is when it happened: the sighting first seen, the copy seen online again,
    the notice found overdue. A sighting's alerts name its place (host, page, media URL, SHA-256 of the
    bytes) and its status at the time; an overdue notice's, its id, deadline and the URLs still online.
    """

    kind: AlertKind
    case_id: str
    at: str
    sighting_id: int | None = None
    host: str | None = None
    page_url: str | None = None
    media_url: str | None = None
    media_sha256: str | None = None
    status: Status | None = None
    notice_id: str | None = None
    deadline: str | None = None
    urls_online: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("page_url", "media_url"):
            url = getattr(self, name)
            if url is not None and safe_link(url) is None:
                raise UnsafeAlert(f"alert {name}: not an http(s) link an alert may carry ({url[:60]!r}...)")
        for url in self.urls_online:
            if safe_link(url) is None:
                raise UnsafeAlert(f"alert urls_online: not an http(s) link an alert may carry ({url[:60]!r}...)")
        if self.media_sha256 is not None and not _SHA256.fullmatch(self.media_sha256):
            raise UnsafeAlert(f"alert media_sha256: not a SHA-256 ({self.media_sha256[:70]!r})")
        for name in ("case_id", "at", "host", "notice_id", "deadline"):
            text = getattr(self, name)
            if text is not None and (len(text) > 256 or _CONTROL.search(text)):
                raise UnsafeAlert(f"alert {name}: more than a name or a time ({text[:60]!r}...)")
        if self.kind is AlertKind.OVERDUE_NOTICE:
            if self.notice_id is None:
                raise UnsafeAlert("an overdue_notice alert needs its notice_id")
        elif self.sighting_id is None:
            raise UnsafeAlert(f"a {self.kind} alert needs its sighting_id")

    @property
    def key(self) -> str:
        """What makes this alert itself, delivered once per contact: a sighting is new once, reappears once
        at a given time, and a notice is overdue once per deadline."""
        if self.kind is AlertKind.NEW_SIGHTING:
            return f"{self.kind}:{self.sighting_id}"
        if self.kind is AlertKind.REAPPEARED:
            return f"{self.kind}:{self.sighting_id}:{self.at}"
        return f"{self.kind}:{self.notice_id}:{self.deadline}"

    def as_dict(self) -> dict[str, Any]:
        """The alert as the webhook's JSON carries it (docs/alerts.md); fields that do not apply are left out."""
        fields: dict[str, Any] = {"key": self.key, "kind": str(self.kind), "case": self.case_id, "at": self.at}
        for name in ("sighting_id", "host", "page_url", "media_url", "media_sha256", "notice_id", "deadline"):
            if (value := getattr(self, name)) is not None:
                fields[name] = value
        if self.status is not None:
            fields["status"] = str(self.status)
        if self.kind is AlertKind.OVERDUE_NOTICE:
            fields["urls_online"] = list(self.urls_online)
        return fields

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> Alert:
        """The alert `as_dict` gave (a delivery kept in the store, to retry)."""
        status = fields.get("status")
        return cls(
            AlertKind(fields["kind"]), fields["case"], fields["at"], fields.get("sighting_id"), fields.get("host"),
            fields.get("page_url"), fields.get("media_url"), fields.get("media_sha256"),
            None if status is None else Status(status), fields.get("notice_id"), fields.get("deadline"),
            tuple(fields.get("urls_online", ())),
        )  # fmt: skip
