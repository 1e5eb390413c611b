"""How one kind of signal takes part in matching (`SignalMatcher`), and the media being matched (`Query`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar, cast

import numpy as np

from matcher.hashers.base import SignalType
from matcher.index.base import MatchIndex
from matcher.policy import SignalAgreement
from matcher.signal import Signal

T = TypeVar("T")


class Query:
    """The signals of the media being matched. A parsed form (keypoints, frames, their alignments) is
    made once per query, however many signal matchers and decisions ask for it (`read`)."""

    def __init__(self, signals: Sequence[Signal]) -> None:
        self.signals = tuple(signals)
        self._read: dict[str, object] = {}

    def of_kind(self, kind: str) -> list[Signal]:
        return [s for s in self.signals if s.kind == kind]

    def first(self, kind: str, variant: str | None = None) -> Signal | None:
        return next((s for s in self.signals if s.kind == kind and variant in (None, s.variant)), None)

    def read(self, key: str, make: Callable[[], T]) -> T:
        if key not in self._read:
            self._read[key] = make()
        return cast(T, self._read[key])


class SignalMatcher(Protocol):
    """One kind of signal as the matcher uses it, in the way ThreatExchange's SignalType names its index.

    - ``index``: where its reference signals are searched, or None for a signal that is only compared
      with the candidates others propose (dHash, videohash: too short to find anything alone).
    - ``add``/``remove``: how a reference's signal goes in (and out): which of them are indexed, under
      what id, and what is kept beside the index to compare or to say where a match lies.
    - ``candidates``: the references the query's signals of this kind propose (none without an index).
    - ``compare``: how the query's signals of this kind fare against one reference's, as the
      `SignalAgreement` a decision shows (its distance, threshold and variant, or why it was unusable).

    Thresholds come from the `MatchPolicy` each matcher is built with (`matcher.matchers.signal_matchers`).
    The decisions themselves stay in `matcher.policy` and `matcher.video.matching`: a signal matcher
    measures, it does not decide.
    """

    @property
    def kind(self) -> str: ...

    @property
    def index(self) -> MatchIndex | None: ...

    def add(self, reference_id: int, signal: Signal) -> None: ...

    def remove(self, reference_id: int) -> None: ...

    def candidates(self, query: Query) -> Iterable[int]: ...

    def compare(self, query: Query, reference_id: int) -> SignalAgreement: ...


def closest(hasher: SignalType, queries: Sequence[Signal], references: Sequence[Signal], threshold: int) -> SignalAgreement:
    """The nearest pair of a query's and a reference's hashes of one kind, against ``threshold``."""
    if not queries or not references:
        return SignalAgreement(hasher.name, None, threshold, False, unusable=f"no {hasher.name} hash on both sides")
    distance, variant = min((hasher.distance(q.value, r.value), r.variant) for q in queries for r in references)
    return SignalAgreement(hasher.name, distance, threshold, distance <= threshold, variant)


def hex_rows(signals: Sequence[Signal]) -> np.ndarray:
    """Hex hash values as rows of bytes, for an index."""
    return np.stack([np.frombuffer(bytes.fromhex(s.value), dtype=np.uint8) for s in signals])
