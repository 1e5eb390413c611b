"""Exit codes, and how the CLI maps exceptions onto them (as ThreatExchange's ReturnCode)."""

from __future__ import annotations

import enum

from crawler.errors import CrawlerError
from matcher import MatcherError
from tracker import StoreUnavailable, TrackerError


class ReturnCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # the command ran, and none of its work could be done
    USER_ERROR = 2  # bad arguments, unknown names, malformed input
    UNAVAILABLE = 3  # a store or service could not be reached


class UserError(Exception):
    """Raised by commands for a mistake in what the user asked; printed as one line, exit 2."""


def return_code_for(exc: BaseException) -> ReturnCode | None:
    if isinstance(exc, StoreUnavailable):
        return ReturnCode.UNAVAILABLE
    if isinstance(exc, UserError | TrackerError | CrawlerError | MatcherError):
        return ReturnCode.USER_ERROR
    return None
