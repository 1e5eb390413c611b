"""Exceptions raised by the tracker. Messages name the next step."""

import errno


class TrackerError(Exception):
    """Base class for tracker errors."""


class UnknownCase(TrackerError):
    """Raised by stores and reports when a case id does not exist."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"unknown case {case_id!r} (see: spreadtrace case list)")
        self.case_id = case_id


class UnknownSighting(TrackerError):
    """Raised by stores and the review queue when a sighting id does not exist."""

    def __init__(self, sighting_id: int) -> None:
        super().__init__(f"unknown sighting {sighting_id} (see: spreadtrace review list, or spreadtrace report CASE)")
        self.sighting_id = sighting_id


class ReviewRefused(TrackerError):
    """Raised by `tracker.review` for a decision that cannot be taken: the sighting is a match already, or
    was decided before. The message says by whom and what can be done instead."""


class CaseWithdrawn(TrackerError):
    """Raised by stores adding to a case that was withdrawn: its material must not come back under its name."""

    def __init__(self, case_id: str, at: str) -> None:
        super().__init__(f"case {case_id!r} was withdrawn at {at}; its hashes are gone (open a new case for new material)")
        self.case_id = case_id


class InvalidCaseName(TrackerError):
    """Raised by `validate_case_id` for names that cannot be a case id."""


class InvalidLabel(TrackerError):
    """Raised by `validate_label` (and so by stores adding a reference) for a label holding a control
    character or line break, which could forge a line in an exported hash list or a report."""


class StoreUnavailable(TrackerError):
    """Raised by `open_store` when the store cannot be opened or its URI is not understood."""


class StoreSchemaTooNew(TrackerError):
    """Raised by the SQLite store when the file was written by a newer spreadtrace."""


class ConcurrentWrites(TrackerError):
    """Raised by the tracker when a sighting kept changing under it through every retry of a write."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was changed by other writers through every attempt; run the command again")


# What a disk that refuses writes answers: full, over quota, over a file-size limit, an I/O error, read-only.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS})


def refused_by_disk(exc: BaseException) -> bool:
    """Whether ``exc`` is the disk, or the store on it, refusing a write: what stops a crawl (nothing more
    could be recorded) rather than failing one file. The store says which of its errors are the file's
    (`StoreUnavailable`)."""
    return (isinstance(exc, OSError) and exc.errno in DISK_ERRNOS) or isinstance(exc, StoreUnavailable)


class UnknownNotice(TrackerError):
    """Raised by stores when a takedown notice id does not exist."""
