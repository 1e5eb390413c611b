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
        if (copy := self.signature(query)) is None:
            return []
        return [ref for ref, signatures in self._signatures.items() if any(agreement(copy, s).agreed for s in signatures)]

    def compare(self, query: Query, reference_id: int) -> SignalAgreement:
        """The comparison as a signal: its "distance" is the copy's dominant peaks that fell on the
        reference's (more is closer, as with keypoints), its threshold the count of them."""
        copy, signatures = self.signature(query), self._signatures.get(reference_id, [])
        if copy is None or not signatures:
            return SignalAgreement(self.kind, None, 1, False, unusable="no spectrum signature on both sides")
        found = max((agreement(copy, s) for s in signatures), key=lambda a: (a.agreed, a.coinciding))
        return _as_signal(self.kind, found)


def _as_signal(kind: str, found: Agreement) -> SignalAgreement:
    return SignalAgreement(kind, found.coinciding, max(found.dominant, 1), found.agreed, unusable=found.refused)
