"""Spectrum signatures in the matcher (`matcher.spectrum`): which references a periodic picture shows.

Few references have a signature (only periodic pictures keep one), so the query's is compared with each
of them; no index is needed, and a picture without a signature costs nothing.
"""

from __future__ import annotations

from matcher.matchers.base import Query
from matcher.policy import SignalAgreement
from matcher.signal import Signal
from matcher.spectrum import Agreement, Spectrum, SpectrumHasher, agreement


class SpectrumMatcher:
    """Every reference's signature, by reference id."""

    kind = SpectrumHasher.name
    index = None

    def __init__(self) -> None:
        self._signatures: dict[int, list[Spectrum]] = {}

    def add(self, reference_id: int, signal: Signal) -> None:
        self._signatures.setdefault(reference_id, []).append(Spectrum.from_text(signal.value))

    def remove(self, reference_id: int) -> None:
        self._signatures.pop(reference_id, None)

    def signature(self, query: Query) -> Spectrum | None:
        signal = query.first(self.kind)
        if signal is None:
            return None
        return query.read(self.kind, lambda: Spectrum.from_text(signal.value))

    def candidates(self, query: Query) -> list[int]:
        """The references whose signature the query's agrees with."""
        return [reference_id for reference_id, found in self._agreements(query).items() if found.agreed]

    def compare(self, query: Query, reference_id: int) -> SignalAgreement:
        """The comparison as a signal: its "distance" is the copy's dominant peaks that fell on the
        reference's (more is closer, as with keypoints), its threshold the count of them."""
        found = self._agreements(query).get(reference_id)
        if found is None:
            return SignalAgreement(self.kind, None, 1, False, unusable="no spectrum signature on both sides")
        return _as_signal(self.kind, found)

    def _agreements(self, query: Query) -> dict[int, Agreement]:
        """Per reference with a signature, the query's best agreement with one of them; each pair is
        compared once per query, whether candidates or compare asks first."""
        return query.read(f"{self.kind}:agreements", lambda: self._compare_all(query))

    def _compare_all(self, query: Query) -> dict[int, Agreement]:
        if (copy := self.signature(query)) is None:
            return {}
        return {
            reference_id: max((agreement(copy, s) for s in signatures), key=lambda a: (a.agreed, a.coinciding))
            for reference_id, signatures in self._signatures.items()
        }


def _as_signal(kind: str, found: Agreement) -> SignalAgreement:
    return SignalAgreement(kind, found.coinciding, max(found.dominant, 1), found.agreed, unusable=found.refused)
