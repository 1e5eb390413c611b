"""Takedown notices as the record keeps them: one per host and case, its evidence, its clock, its history."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"  # written, not sent (or a send failed: ``last_error`` says why)
    SENDING = "sending"  # handed to SMTP and not yet acknowledged: a process killed here may have sent it
    SENT = "sent"  # its clock runs until ``deadline_at``
    OVERDUE = "overdue"  # still online at the deadline; a re-notice is drafted
    REMOVED = "removed"  # every copy it names is gone: closed, with the time to removal
    REOPENED = "reopened"  # a copy came back after the notice was closed

    @property
    def open(self) -> bool:
        return self in (NoticeStatus.SENT, NoticeStatus.OVERDUE, NoticeStatus.REOPENED)


@dataclass(frozen=True, slots=True)
class NoticeItem:
    """One copy a notice names, with what proves it (custody entries of its captures)."""

    sighting_id: int
    page_url: str
    media_url: str
    media_sha256: str | None
    first_seen: str
    appeared: str
    captures: tuple[dict[str, Any], ...] = ()  # {seq, at, why, hash, warc_sha256, screenshot_sha256}


@dataclass(frozen=True, slots=True)
class Notice:
    id: int | None
    case_id: str
    host: str
    site: str | None
    template: str  # "dsa", "takeitdown", "dmca", "abuse" or an organisation's own
    recipient: str | None  # the host's abuse contact; None: drafted, flagged, not sendable
    status: NoticeStatus
    created_at: str
    items: tuple[NoticeItem, ...]
    deadline_hours: float
    subject: str
    body: str
    flag: str | None = None  # why it cannot be sent as it is
    last_error: str | None = None  # why the last send failed
    sent_at: str | None = None
    sent_via: str | None = None  # "smtp" or "web form"
    message_id: str | None = None
    deadline_at: str | None = None
    closed_at: str | None = None
    follows: int | None = None  # the notice this one re-notices
    detail: dict[str, Any] = field(default_factory=dict)  # time to removal, still-online URLs, ...

    @property
    def sighting_ids(self) -> list[int]:
        return [item.sighting_id for item in self.items]


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    notice_id: int
    at: str
    actor: str
    what: str  # "drafted", "sent", "send failed", "checked", "overdue", "removed", "reopened", ...
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
