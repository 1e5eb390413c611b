"""Reference signals -> indexes -> decisions for one piece of media. Knows nothing of cases or URLs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from matcher.hashers import PdqHasher, PHasher, hasher_for
from matcher.index import LinearIndex
from matcher.policy import MatchDecision, MatchPolicy, SignalAgreement, decide
from matcher.signal import Signal

_PDQ = PdqHasher()
_PHASH = PHasher()


class Matcher:
    """Matches media signals against reference signals, both given as `Signal`s.

    References are opaque integer ids to the matcher; the tracker maps them to cases. Each reference's
    orientation variants are indexed, so a mirrored copy matches through the reference's mirrored hash.
    """

    def __init__(self, policy: MatchPolicy, references: Iterable[tuple[int, Sequence[Signal]]] = ()) -> None:
        self.policy = policy
        self._pdq_index: LinearIndex[tuple[int, str]] = LinearIndex(_PDQ.bits)
        self._phash_index: LinearIndex[tuple[int, str]] = LinearIndex(_PHASH.bits)
        self._signals: dict[int, list[Signal]] = defaultdict(list)
        for reference_id, signals in references:
            self.add_reference(reference_id, signals)

    def __len__(self) -> int:
        return len(self._signals)

    def add_reference(self, reference_id: int, signals: Sequence[Signal]) -> None:
        for signal in signals:
            self._signals[reference_id].append(signal)
            if signal.kind == _PDQ.name and self._pdq_usable(signal):
                self._pdq_index.add(signal.value, (reference_id, signal.variant))
            elif signal.kind == _PHASH.name:
                self._phash_index.add(signal.value, (reference_id, signal.variant))

    def match(self, signals: Sequence[Signal]) -> list[MatchDecision]:
        """Every reference the media matches, nearest first."""
        pdq = next((s for s in signals if s.kind == _PDQ.name), None)
        phash = next((s for s in signals if s.kind == _PHASH.name), None)
        candidates: set[int] = set()
        if pdq is not None and self._pdq_usable(pdq):
            hits = self._pdq_index.query(pdq.value, self.policy.pdq_max_distance)
            candidates.update(hit.entry[0] for hit in hits)
        if phash is not None:
            hits = self._phash_index.query(phash.value, self.policy.phash_max_distance)
            candidates.update(hit.entry[0] for hit in hits)
        decisions = []
        for reference_id in candidates:
            decision = decide(
                self.policy,
                reference_id,
                self._compare_pdq(reference_id, pdq),
                self._compare(reference_id, phash, _PHASH.name, self.policy.phash_max_distance),
            )
            if decision is not None:
                decisions.append(decision)
        return sorted(decisions, key=lambda d: (d.distance, d.reference_id))

    def _pdq_usable(self, signal: Signal) -> bool:
        return signal.quality is not None and signal.quality >= self.policy.pdq_min_quality

    def _compare_pdq(self, reference_id: int, pdq: Signal | None) -> SignalAgreement:
        threshold = self.policy.pdq_max_distance
        if pdq is None:
            return SignalAgreement("pdq", None, threshold, False, unusable="no PDQ hash for the media")
        if not self._pdq_usable(pdq):
            reason = f"media PDQ quality {pdq.quality} < {self.policy.pdq_min_quality}"
            return SignalAgreement("pdq", None, threshold, False, unusable=reason)
        if not any(s.kind == "pdq" and self._pdq_usable(s) for s in self._signals[reference_id]):
            reason = f"reference PDQ quality < {self.policy.pdq_min_quality}"
            return SignalAgreement("pdq", None, threshold, False, unusable=reason)
        return self._compare(reference_id, pdq, "pdq", threshold)

    def _compare(self, reference_id: int, query: Signal | None, kind: str, threshold: int) -> SignalAgreement:
        references = [s for s in self._signals[reference_id] if s.kind == kind]
        if query is None or not references:
            return SignalAgreement(kind, None, threshold, False, unusable=f"no {kind} hash on both sides")
        hasher = hasher_for(kind)
        distance, variant = min((hasher.distance(query.value, s.value), s.variant) for s in references)
        return SignalAgreement(kind, distance, threshold, distance <= threshold, variant)
