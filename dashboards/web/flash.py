"""A one-line outcome carried from a POST to the page its 303 leads to ("sighting 12 confirmed"): kept in the
signed session, not the URL, so a reload or a shared link does not say it again, and nothing a user typed
travels in a query string."""

from __future__ import annotations

from fastapi import Request

_KEY = "flash"


def flash(request: Request, line: str) -> None:
    request.session[_KEY] = line


def flashed(request: Request) -> str | None:
    """The line left by the last POST, once."""
    line = request.session.pop(_KEY, None)
    return line if isinstance(line, str) else None
