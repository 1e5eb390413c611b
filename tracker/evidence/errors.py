"""Exceptions raised by the evidence store. Messages name the file and the next step."""

from tracker.errors import TrackerError


class EvidenceError(TrackerError):
    """Base class for evidence errors."""


class CustodyBroken(EvidenceError):
    """Raised by `CustodyLog` for a log it cannot read or extend: a line that is not an entry."""


class KeyMissing(EvidenceError):
    """Raised by `EvidenceVault` when a case's key is gone (withdrawn, or the key folder not mounted)."""


class ArtefactDamaged(EvidenceError):
    """Raised by `EvidenceVault` for an artefact that does not decrypt or does not hash to its name."""


class TimestampFailed(EvidenceError):
    """Raised by `TimestampAuthority` for a TSA that is down, slow, or answers anything but a valid token."""
