"""When does a candidate count as a match, when does an analyst have to look, and how sure are we?"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.local import Verification
from matcher.video.align import Segment


class Verdict(enum.StrEnum):
    MATCH = "match"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """Thresholds, taken from settings (`crawler/settings.py`) or a case, never from keyword defaults.

    - PDQ decides alone when both sides have quality >= ``pdq_min_quality`` (Meta: below 50 the hash is
      unreliable) and the distance is <= ``pdq_max_distance``.
    - The gray zone, PDQ up to ``pdq_corroborated_max_distance`` with pHash agreeing, is a match only when
      the local-feature check confirms it; otherwise it is a *needs review* verdict, never a silent match
      or a silent drop.
    - Local features decide alone (crops, rotations, screenshots, collages) with at least
      ``orb_match_inliers`` geometrically consistent keypoints; ``orb_review_inliers`` or more asks for
      review. Unrelated photographs stay at or below 5 (benchmarks/accuracy.py). The consistent keypoints
      must also span ``orb_min_spread`` of the reference's keypoint area: pictures that share one object
      or one watermark align on that patch alone (issue 14: generated still lifes fitted 16-19 keypoints
      of a scene on 1-2% of it, true copies' least spread was 4%); such a candidate needs review.
    - pHash decides alone only where PDQ cannot: a flat or tiny picture.
    - Video: frames match at PDQ <= ``video_frame_max_distance``; a copy matches when at least
      ``video_min_frames`` of its frames line up, in order, with a run of the reference's frames. A
      picture matches a video frame by the PDQ rule above. videohash agrees at <= ``videohash_max_distance``
      (shown, never decisive).
    """

    pdq_max_distance: int
    pdq_corroborated_max_distance: int
    pdq_min_quality: int
    phash_max_distance: int
    dhash_max_distance: int
    orb_match_inliers: int
    orb_review_inliers: int
    orb_min_spread: float
    video_frame_max_distance: int
    video_min_frames: int
    videohash_max_distance: int


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
    """A reference a piece of media matched, or may match: the verdict, how sure, and every signal compared.

    ``distance`` is the PDQ distance when PDQ was compared (the global resemblance), else the decisive
    signal's. ``verification`` is the local-feature check, when one ran. For video, ``segments`` are the
    matched stretches (times in both videos) and ``coverage`` the share of the copy they cover.
    """

    reference_id: int
    verdict: Verdict
    decided_by: str
    distance: int
    confidence: float
    signals: tuple[SignalAgreement, ...]
    verification: Verification | None = None
    segments: tuple[Segment, ...] = ()
    coverage: float | None = None

    @property
    def variant(self) -> str | None:
        return next((s.variant for s in self.signals if self.decided_by.startswith(s.kind)), None)

    def as_dict(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "verdict": str(self.verdict),
            "confidence": self.confidence,
            "decided_by": self.decided_by,
            "distance": self.distance,
            "variant": self.variant,
            "signals": [s.as_dict() for s in self.signals],
            "agreed": [s.kind for s in self.signals if s.agreed],
        }
        if self.verification is not None:
            fields["verification"] = self.verification.as_dict()
        if self.segments:
            fields["segments"] = [s.as_dict() for s in self.segments]
            fields["coverage"] = self.coverage
        return fields


def pdq_confidence(distance: int, threshold: int) -> float:
    """1.0 for identical hashes, 0.7 at the threshold: PDQ's own false-match rate rises towards 31."""
    return round(1.0 - 0.3 * distance / max(threshold, 1), 3)


def orb_confidence(policy: MatchPolicy, inliers: int) -> float:
    """0.7 at the match threshold, 1.0 from four times it; review verdicts sit between 0.3 and 0.6."""
    if inliers >= policy.orb_match_inliers:
        return round(min(1.0, 0.7 + 0.1 * (inliers - policy.orb_match_inliers) / policy.orb_match_inliers), 3)
    span = max(1, policy.orb_match_inliers - policy.orb_review_inliers)
    return round(0.3 + 0.3 * max(0, inliers - policy.orb_review_inliers) / span, 3)


def decide_global(policy: MatchPolicy, reference_id: int, agreements: Sequence[SignalAgreement]) -> MatchDecision | None:
    """The decision from global hashes alone (``agreements``: one per whole-picture hash, PDQ and pHash
    among them); a gray-zone result is returned as needs-review, for the matcher to verify."""
    signals = tuple(agreements)
    pdq, phash = _of_kind(signals, "pdq"), _of_kind(signals, "phash")
    if pdq.agreed and pdq.distance is not None:
        confidence = pdq_confidence(pdq.distance, pdq.threshold)
        return MatchDecision(reference_id, Verdict.MATCH, "pdq", pdq.distance, confidence, signals)
    if not phash.agreed or phash.distance is None:
        return None
    if pdq.distance is not None and pdq.distance <= policy.pdq_corroborated_max_distance:
        return MatchDecision(reference_id, Verdict.NEEDS_REVIEW, "pdq+phash", pdq.distance, 0.5, signals)
    if pdq.unusable:
        return MatchDecision(reference_id, Verdict.MATCH, "phash", phash.distance, 0.6, signals)
    return None


def orb_decides(policy: MatchPolicy, check: Verification) -> bool:
    """Enough consistent keypoints, spread over enough of the reference (not one shared patch)."""
    return check.inliers >= policy.orb_match_inliers and check.spread >= policy.orb_min_spread


def orb_agreement(policy: MatchPolicy, check: Verification) -> SignalAgreement:
    """The geometric check as a signal: its "distance" is the count of consistent keypoints, and it agrees
    at or above the match threshold (more is closer, unlike a hash distance) when they spread enough."""
    return SignalAgreement("orb", check.inliers, policy.orb_match_inliers, orb_decides(policy, check))


def confirm(policy: MatchPolicy, decision: MatchDecision, check: Verification) -> MatchDecision:
    """A gray-zone global decision after its geometric check: a match when the check agrees, else still
    needs review, now showing the check."""
    signals = (*decision.signals, orb_agreement(policy, check))
    if not orb_decides(policy, check):
        return dataclasses.replace(decision, signals=signals, verification=check)
    gray_zone = policy.pdq_corroborated_max_distance
    confidence = max(orb_confidence(policy, check.inliers), pdq_confidence(decision.distance, gray_zone))
    return MatchDecision(
        decision.reference_id, Verdict.MATCH, f"{decision.decided_by}+orb", decision.distance, confidence,
        signals, check,
    )  # fmt: skip


def decide_local(
    policy: MatchPolicy, reference_id: int, agreements: Sequence[SignalAgreement], check: Verification
) -> MatchDecision | None:
    """The decision from local features, for a candidate the global hashes did not decide; ``agreements``
    are the global hashes' comparisons, shown beside the check (PDQ's distance is the decision's, when
    there is one)."""
    if check.inliers < policy.orb_review_inliers:
        return None
    signals = (*agreements, orb_agreement(policy, check))
    pdq = _of_kind(signals, "pdq")
    distance = pdq.distance if pdq.distance is not None else check.inliers
    if orb_decides(policy, check):
        return MatchDecision(reference_id, Verdict.MATCH, "orb", distance, orb_confidence(policy, check.inliers), signals, check)
    # Below the match threshold, or enough keypoints on too small a patch: at most a review's confidence.
    confidence = orb_confidence(policy, min(check.inliers, policy.orb_match_inliers - 1))
    return MatchDecision(reference_id, Verdict.NEEDS_REVIEW, "orb", distance, confidence, signals, check)


def decide_spectrum(reference_id: int, agreements: Sequence[SignalAgreement], spectrum: SignalAgreement) -> MatchDecision:
    """A periodic picture's match by its spectrum signature (`matcher.spectrum`), for a candidate nothing
    else matched: the pattern, the shape and the hue agree, which says less than PDQ within its threshold
    or a geometric check (a confidence of 0.6, as pHash deciding alone). The global hashes are shown beside it."""
    signals = (*agreements, spectrum)
    pdq = _of_kind(signals, "pdq")
    distance = pdq.distance if pdq.distance is not None else (spectrum.distance or 0)
    return MatchDecision(reference_id, Verdict.MATCH, "spectrum", distance, 0.6, signals)


def _of_kind(agreements: Sequence[SignalAgreement], kind: str) -> SignalAgreement:
    return next(a for a in agreements if a.kind == kind)
