"""Whole-media hashes compared by Hamming distance: pHash, dHash and videohash, each one `HashMatcher`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from matcher.hashers.base import SignalType
from matcher.index.multi import MultiIndex
from matcher.matchers.base import Query, closest, hex_rows
from matcher.policy import SignalAgreement
from matcher.signal import Signal


class HashMatcher:
    """One hash per media (a reference has a few: as is, mirrored), compared at one threshold.

    With an index (pHash), the query's hash proposes every reference with a hash within the threshold; the
    ids in the index are reference ids, as only which reference matched is asked. Without one (dHash,
    videohash), the hash is only compared with the candidates other signals propose and shown beside the
    decision: the policy never lets it decide, so a reference it alone would find is no candidate at all.
    """

    def __init__(self, hasher: SignalType, threshold: int, index: MultiIndex | None) -> None:
        self.kind = hasher.name
        self.hasher = hasher
        self.threshold = threshold
        self.index = index
        self._signals: dict[int, list[Signal]] = defaultdict(list)

    def add(self, reference_id: int, signal: Signal) -> None:
        self._signals[reference_id].append(signal)
        if self.index is not None:
            self.index.add([reference_id], hex_rows([signal]))

    def remove(self, reference_id: int) -> None:
        if self._signals.pop(reference_id, None) is not None and self.index is not None:
            self.index.remove([reference_id])

    def candidates(self, query: Query) -> Iterable[int]:
        signal = query.first(self.kind)
        if self.index is None or signal is None:
            return ()
        return [reference_id for reference_id, _ in self.index.search(hex_rows([signal]), self.threshold)[0]]

    def compare(self, query: Query, reference_id: int) -> SignalAgreement:
        """The query's (first) hash against the nearest of the reference's."""
        signal = query.first(self.kind)
        return closest(self.hasher, [signal] if signal else [], self._signals.get(reference_id, []), self.threshold)
