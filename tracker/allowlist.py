"""The allowlist: media analysts rejected as copies of a reference, so that they are never its candidates again.

A rejection (`tracker.review`) puts the media's SHA-256 and its PDQ hashes on the allowlist of the one
reference it was a candidate of: a picture that is not one reference may be a true copy of another (the
same background, another picture of the same case or of another case). The `Tracker` holds every entry in
memory, a few per rejection, and drops a candidate the allowlist holds before it becomes a sighting.
See docs/architecture.md ("Review queue").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from matcher import MatchDecision, MatchPolicy, Signal
from tracker.models import AllowEntry

SHA256 = "sha256"
PDQ = "pdq"


def usable_pdq(signals: Sequence[Signal], policy: MatchPolicy) -> list[str]:
    """The media's PDQ hashes (hex) worth comparing: below the matcher's minimum quality a PDQ hash says
    little (a flat picture), and flat pictures' hashes lie near each other."""
    return sorted({s.value for s in signals if s.kind == PDQ and (s.quality is None or s.quality >= policy.pdq_min_quality)})


def near_rejected(media: Collection[int], rejected: Collection[int], to_reference: int | None, max_distance: int) -> bool:
    """Whether a media's PDQ hashes (``media``) make it a near duplicate of rejected media: one of them within
    ``max_distance`` bits of a rejected hash, and nearer to it than to the reference (``to_reference``, the
    matcher's PDQ distance; None when it compared none).

    Why "nearer": a rejected look-alike lies 32-48 bits from the reference (the gray zone), so a true copy
    of the reference, a few bits from it, can lie within 31 bits of the look-alike too. Dropping it would
    hide a real copy; it is nearer to the reference, so it stays a candidate. A re-encoded look-alike lies
    a few bits from the rejected hash and far from the reference, and is dropped."""
    for code in media:
        for other in rejected:
            distance = (code ^ other).bit_count()
            if distance <= max_distance and (to_reference is None or distance < to_reference):
                return True
    return False


class Allowlist:
    """Every reference's allowlist, in memory: SHA-256s in a set, PDQ hashes as integers compared one by one
    (a reference has a few, one or two per rejection)."""

    def __init__(self, policy: MatchPolicy, entries: Iterable[AllowEntry] = ()) -> None:
        self.max_distance = policy.pdq_max_distance
        self._sha256: dict[int, set[str]] = {}
        self._pdq: dict[int, set[int]] = {}
        self.add(entries)

    def add(self, entries: Iterable[AllowEntry]) -> None:
        for entry in entries:
            if entry.kind == SHA256:
                self._sha256.setdefault(entry.reference_id, set()).add(entry.value)
            elif entry.kind == PDQ:
                self._pdq.setdefault(entry.reference_id, set()).add(int(entry.value, 16))

    def __len__(self) -> int:
        return sum(map(len, self._sha256.values())) + sum(map(len, self._pdq.values()))

    def covers(self, reference_id: int) -> bool:
        """Whether anything of ``reference_id`` was rejected (most references: nothing, and no more is asked)."""
        return reference_id in self._sha256 or reference_id in self._pdq

    def holds(self, reference_id: int, sha256: str, pdq: Sequence[int], to_reference: int | None) -> bool:
        """Whether the media (its SHA-256, its usable PDQ hashes as integers, its PDQ distance to the
        reference as the matcher measured it) is on ``reference_id``'s allowlist: the same bytes, or a near
        duplicate (`near_rejected`)."""
        if sha256 in self._sha256.get(reference_id, ()):
            return True
        rejected = self._pdq.get(reference_id)
        if not rejected or not pdq:
            return False
        return near_rejected(pdq, rejected, to_reference, self.max_distance)


def pdq_distance(decision: MatchDecision) -> int | None:
    """The PDQ distance the matcher measured between the media and the decision's reference, if it did."""
    return next((s.distance for s in decision.signals if s.kind == PDQ), None)
