"""PDQ in the matcher: every usable PDQ of every picture reference in one exact index, and PDQ's
quality rule. Video frames are PDQ hashes too, so a video's frames look for picture references here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from matcher.hashers.pdq import PdqHasher
from matcher.index.multi import MultiIndex
from matcher.matchers.base import Query, closest, hex_rows
from matcher.policy import MatchPolicy, SignalAgreement
from matcher.signal import Signal
from matcher.video.matching import QueryFrames

_PDQ = PdqHasher()


class PdqMatcher:
    """PDQ hashes of picture references (all orientations, sub-regions, untrimmed), indexed under their
    reference's id.

    Quality below the policy's minimum rules a hash out, on either side: such a reference hash is kept
    (to say why it was not compared) but not indexed. An imported hash without a quality is trusted, as
    the partner who sent it vouched for it. Candidates are searched out to the gray zone's radius
    (``pdq_corroborated_max_distance``), where pHash and the geometric check may still confirm a match.
    """

    kind = _PDQ.name

    def __init__(self, policy: MatchPolicy) -> None:
        self.policy = policy
        self.index = MultiIndex(_PDQ.bits)
        self._signals: dict[int, list[Signal]] = defaultdict(list)

    def usable(self, signal: Signal) -> bool:
        return signal.quality is None or signal.quality >= self.policy.pdq_min_quality

    def add(self, reference_id: int, signal: Signal) -> None:
        self._signals[reference_id].append(signal)
        if self.usable(signal):
            self.index.add([reference_id], hex_rows([signal]))

    def remove(self, reference_id: int) -> None:
        if self._signals.pop(reference_id, None) is not None:
            self.index.remove([reference_id])

    def usable_rows(self, query: Query) -> np.ndarray:
        """The query's usable PDQ hashes as index rows (none: an empty array)."""
        usable = [s for s in query.of_kind(self.kind) if self.usable(s)]
        return hex_rows(usable) if usable else np.zeros((0, _PDQ.bits // 8), np.uint8)

    def candidates(self, query: Query) -> Iterable[int]:
        rows = self.usable_rows(query)
        if not len(rows):
            return ()
        radius = max(self.policy.pdq_max_distance, self.policy.pdq_corroborated_max_distance)
        return {reference_id for found in self.index.search(rows, radius) for reference_id, _ in found}

    def compare(self, query: Query, reference_id: int) -> SignalAgreement:
        threshold, least = self.policy.pdq_max_distance, self.policy.pdq_min_quality
        pdqs = query.of_kind(self.kind)
        if not pdqs:
            return SignalAgreement(self.kind, None, threshold, False, unusable="no PDQ hash for the media")
        usable = [s for s in pdqs if self.usable(s)]
        if not usable:
            reason = f"media PDQ quality {pdqs[0].quality} < {least}"
            return SignalAgreement(self.kind, None, threshold, False, unusable=reason)
        references = [s for s in self._signals.get(reference_id, []) if self.usable(s)]
        if not references:
            return SignalAgreement(self.kind, None, threshold, False, unusable=f"reference PDQ quality < {least}")
        return closest(_PDQ, usable, references, threshold)

    def shown_in(self, video: QueryFrames) -> dict[int, list[tuple[float, int]]]:
        """Picture references shown in a video: per reference, the (time, distance) of every usable frame
        within PDQ's threshold of one of its hashes (the nearest, when several are)."""
        shown: dict[int, list[tuple[float, int]]] = defaultdict(list)
        if not len(video.times):
            return shown
        for frame, found in enumerate(self.index.search(video.codes, self.policy.pdq_max_distance)):
            nearest: dict[int, int] = {}
            for reference_id, distance in found:  # nearest first: the first of each reference is its nearest
                nearest.setdefault(reference_id, distance)
            for reference_id, distance in nearest.items():
                shown[reference_id].append((float(video.times[frame]), distance))
        return shown
