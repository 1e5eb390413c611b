"""Exit codes, and how the CLI maps exceptions onto them (as ThreatExchange's ReturnCode).

Every failure ends in one line, ``error: `` and `describe(exc)`, whatever the exception holds: control
characters and line breaks in it (a file name, a label) are escaped, so a message is always one line.
"""

from __future__ import annotations

import enum
import errno

from crawler.errors import CrawlerError
from matcher import MatcherError
from matcher.hashlist import escape_controls
from tracker import StoreUnavailable, TrackerError
from tracker.chromium import ChromiumMissing
from tracker.evidence.errors import KeyMissing, TimestampFailed


class ReturnCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # the command ran, and none of its work could be done
    USER_ERROR = 2  # bad arguments, unknown names, malformed input
    UNAVAILABLE = 3  # a store, a folder or a service could not be used: read-only, full, missing, locked


class UserError(Exception):
    """Raised by commands for a mistake in what the user asked; printed as one line, exit 2."""


# What the system's refusal means for the user; the rest say what the C library says.
_OS_REASONS = {
    errno.ENOSPC: "disk is full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EFBIG: "file too large (a size limit of the file system or the process)",
    errno.EEXIST: "a file is in the way of a folder",  # the CLI's mkdirs: exist_ok covers folders only
}
# A path the user named that is wrong, rather than a disk or folder that cannot be used.
_OS_USER_ERRORS = frozenset({errno.ENOENT, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EEXIST})


def return_code_for(exc: BaseException) -> ReturnCode | None:
    """The exit code for ``exc``, or None for an exception that is a bug (its traceback is wanted)."""
    if isinstance(exc, StoreUnavailable | KeyMissing | TimestampFailed | ChromiumMissing):
        return ReturnCode.UNAVAILABLE
    if isinstance(exc, UserError | TrackerError | CrawlerError | MatcherError):
        return ReturnCode.USER_ERROR
    if isinstance(exc, OSError):
        return ReturnCode.USER_ERROR if exc.errno in _OS_USER_ERRORS else ReturnCode.UNAVAILABLE
    return None


def describe(exc: BaseException) -> str:
    """The text after ``error: ``: one line, naming the file where an OSError names one."""
    if isinstance(exc, OSError) and exc.errno is not None:
        reason = _OS_REASONS.get(exc.errno) or (exc.strerror or str(exc)).lower()
        if exc.filename is None:
            return one_line(reason)
        verb = "write" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG) else "use"
        return one_line(f"cannot {verb} {exc.filename}: {reason}")
    return one_line(str(exc))


def one_line(text: str) -> str:
    return escape_controls(text)
