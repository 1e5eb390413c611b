"""The record's closed vocabularies: a sighting's status, a page's role and outcome in a visit, and so on.

Each is a `StrEnum`, so its value is what the store and the JSON report hold, and a typo is an error at
once instead of a row no query ever finds (a report once counted only "online" as online and missed every
copy that had "reappeared").
"""

from __future__ import annotations

import enum

from matcher import Verdict

__all__ = [
    "AlertKind", "Basis", "Channel", "ClaimState", "DeliveryOutcome", "PageOutcome", "PageRole", "PageState", "Review",
    "Role", "Status", "Verdict", "VisitOutcome",
]  # fmt: skip


class Role(enum.StrEnum):
    """What a dashboard account may do: an admin everything (and reads the audit log), an analyst works the
    cases (reveals, reviews, notices), a viewer only looks at blurred previews and counts."""

    ADMIN = "admin"
    ANALYST = "analyst"
    VIEWER = "viewer"


class Status(enum.StrEnum):
    """Where a sighting stands. ``REAPPEARED`` is online again after ``REMOVED`` or ``CHANGED``."""

    ONLINE = "online"
    REMOVED = "removed"
    CHANGED = "changed"
    REAPPEARED = "reappeared"

    @property
    def still_online(self) -> bool:
        return self in (Status.ONLINE, Status.REAPPEARED)


class Review(enum.StrEnum):
    """What an analyst decided of a sighting (`tracker.review`); a sighting no one decided has none.

    Apart from `Verdict`, which is the matcher's word: a rejected candidate keeps the verdict the matcher
    gave it, so the record shows both what the matcher said and what a person decided."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class PageState(enum.StrEnum):
    """What a page said of one media URL on one visit; an observation carries it."""

    SHOWN = "shown"
    GONE = "gone"  # the page is up but no longer shows it
    REMOVED = "removed"  # the page itself is gone
    UNKNOWN = "unknown"  # the check failed, or the answer came from a cache: it says nothing


class PageRole(enum.StrEnum):
    """Why a visit fetched a page."""

    START = "start"
    LINK = "link"
    RECHECK = "recheck"  # it carries a sighting: re-checked every visit, outside the page budget


class PageOutcome(enum.StrEnum):
    """How a page answered."""

    ONLINE = "online"
    REMOVED = "removed"
    FAILED = "failed"
    SKIPPED = "skipped"  # not fetched on purpose: robots.txt, a refused address
    MEDIA = "media"  # the URL serves a media file, recorded as media of the page that linked it


class ClaimState(enum.StrEnum):
    """A page in a visit's journal: claimed (a killed run leaves it so) or done."""

    QUEUED = "queued"
    DONE = "done"


class VisitOutcome(enum.StrEnum):
    FINISHED = "finished"


class Basis(enum.StrEnum):
    """Whose word a time is: the page's own claim, or our observation."""

    CLAIMED = "claimed"
    OBSERVED = "observed"


class AlertKind(enum.StrEnum):
    """What an alert tells a case's contacts (`tracker.alerts`)."""

    NEW_SIGHTING = "new_sighting"
    REAPPEARED = "reappeared"  # a copy online again after it was removed or changed
    OVERDUE_NOTICE = "overdue_notice"  # a takedown notice's deadline passed with copies still online


class Channel(enum.StrEnum):
    """How a contact is reached."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryOutcome(enum.StrEnum):
    """Where one alert's delivery to one contact stands."""

    SENDING = "sending"  # claimed by a run that has not said how it went (still at it, or killed)
    DELIVERED = "delivered"
    FAILED = "failed"
