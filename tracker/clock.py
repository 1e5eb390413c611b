"""Timestamps: UTC, second precision, ISO 8601 with a Z, so that text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return format_utc(datetime.now(UTC))


def utc_now_precise() -> str:
    """Now to the microsecond, for ordering events a second apart or less (a login just after a logout).
    Compare only with others of its own form: "05.1Z" sorts before "05Z"."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str) -> datetime:
    """A timestamp of ours (or any ISO 8601 time with a zone) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_claimed_time(text: str) -> str | None:
    """A page's own date (JSON-LD uploadDate, <time datetime>) in our form, or None if unreadable.

    A date without a zone is taken as UTC; a bare date as its midnight.
    """
    try:
        return format_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        return None
