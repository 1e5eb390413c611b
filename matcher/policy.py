"""When does a candidate count as a match? Thresholds and the signals behind every decision."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Thresholds, taken from settings (`crawler/settings.py`) or a case, never from keyword defaults.

    PDQ decides alone when both sides have quality >= ``pdq_min_quality`` (Meta: below 50 the hash is
    unreliable) and the distance is <= ``pdq_max_distance``. A PDQ distance in the gray zone up to
    ``pdq_corroborated_max_distance`` counts only when pHash, an independent signal, agrees too: a
    large watermark pushes PDQ just past 31 while pHash stays close, and unrelated photographs sit near
    PDQ 128. pHash decides alone only where PDQ cannot: a flat or tiny picture.
    """

    pdq_max_distance: int
    pdq_corroborated_max_distance: int
    pdq_min_quality: int
    phash_max_distance: int


@dataclass(frozen=True, slots=True)
class SignalAgreement:
    """How one signal compared: its distance against its threshold, or why it could not be used."""

    kind: str
    distance: int | None
    threshold: int
    agreed: bool
    variant: str | None = None
    unusable: str | None = None

    def as_dict(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "kind": self.kind,
            "distance": self.distance,
            "threshold": self.threshold,
            "agreed": self.agreed,
        }
        if self.variant:
            fields["variant"] = self.variant
        if self.unusable:
            fields["unusable"] = self.unusable
        return fields


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """A reference a piece of media matched, with the signal that decided it and all that were compared."""

    reference_id: int
    decided_by: str
    distance: int
    signals: tuple[SignalAgreement, ...]

    @property
    def variant(self) -> str | None:
        return next((s.variant for s in self.signals if self.decided_by.startswith(s.kind)), None)


def decide(
    policy: MatchPolicy, reference_id: int, pdq: SignalAgreement, phash: SignalAgreement
) -> MatchDecision | None:
    signals = (pdq, phash)
    if pdq.agreed and pdq.distance is not None:
        return MatchDecision(reference_id, "pdq", pdq.distance, signals)
    if not phash.agreed or phash.distance is None:
        return None
    if pdq.distance is not None and pdq.distance <= policy.pdq_corroborated_max_distance:
        return MatchDecision(reference_id, "pdq+phash", pdq.distance, signals)
    if pdq.unusable:
        return MatchDecision(reference_id, "phash", phash.distance, signals)
    return None
