"""Reference signals -> indexes -> decisions for one piece of media. Knows nothing of cases or URLs.

Two routes to a candidate, one verdict policy:

1. Global hashes: every PDQ the media has (trimmed, untrimmed) against every PDQ of every reference (all
   orientations and sub-regions), pHash beside it. PDQ <= 31 is a match at once.
2. Local features, when route 1 found no match: ORB keypoints vote for references, and the geometric
   check (RANSAC) decides. This finds crops, rotations, screenshots and collages.

Gray-zone candidates from route 1 go through the same geometric check: confirmed, they match; not
confirmed, they come back as "needs review".

Video (a ``vpdq`` signal) goes its own way (`matcher.video.matching`): its frames are looked up in the
index of reference frames, and each reference they hit is aligned in time. Frames also meet picture
references (a slideshow, a compilation of stills), and a picture meets video frames (a thumbnail, a still).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from matcher.hashers import DHasher, PdqHasher, PHasher, VideoHasher, VpdqHasher, hasher_for
from matcher.hashers.vpdq import frames_from_text
from matcher.index.features import FeatureIndex
from matcher.index.multi import MultiIndex
from matcher.local import LocalFeatures, OrbExtractor, Verification, verify
from matcher.policy import (
    MatchDecision,
    MatchPolicy,
    SignalAgreement,
    Verdict,
    decide_global,
    orb_confidence,
    pdq_confidence,
)
from matcher.signal import Signal
from matcher.video.align import Segment
from matcher.video.matching import FrameIndex, QueryFrames, align_video, decide_video

_PDQ, _PHASH, _DHASH, _ORB = PdqHasher(), PHasher(), DHasher(), OrbExtractor()
_VPDQ, _VIDEOHASH = VpdqHasher(), VideoHasher()


class Matcher:
    """Matches media signals against reference signals, both given as `Signal`s.

    References are opaque integer ids to the matcher; the tracker maps them to cases.
    """

    def __init__(self, policy: MatchPolicy, references: Iterable[tuple[int, Sequence[Signal]]] = ()) -> None:
        self.policy = policy
        self._pdq = MultiIndex(_PDQ.bits)
        self._phash = MultiIndex(_PHASH.bits, chunks=4)
        self._entries: list[tuple[int, str]] = []  # index entry id -> (reference id, variant)
        self._features = FeatureIndex()
        self._frames = FrameIndex()
        self._signals: dict[int, list[Signal]] = defaultdict(list)
        for reference_id, signals in references:
            self.add_reference(reference_id, signals)

    def __len__(self) -> int:
        return len(self._signals)

    def add_reference(self, reference_id: int, signals: Sequence[Signal]) -> None:
        for signal in signals:
            self._signals[reference_id].append(signal)
            if signal.kind == _PDQ.name and self._pdq_usable(signal):
                self._pdq.add([self._entry(reference_id, signal)], _code(signal))
            elif signal.kind == _PHASH.name:
                self._phash.add([self._entry(reference_id, signal)], _code(signal))
            elif signal.kind == _ORB.name:
                self._features.add(reference_id, LocalFeatures.from_text(signal.value))
            elif signal.kind == _VPDQ.name:
                self._frames.add(reference_id, signal.value, signal.variant, self.policy.pdq_min_quality)

    def remove_reference(self, reference_id: int) -> None:
        """Forget a reference (withdrawn by the case): its hashes are marked dead in the indexes."""
        entries = [i for i, (ref, _) in enumerate(self._entries) if ref == reference_id]
        self._pdq.remove(entries)
        self._phash.remove(entries)
        self._features.remove(reference_id)
        self._frames.remove(reference_id)
        self._signals.pop(reference_id, None)

    def _entry(self, reference_id: int, signal: Signal) -> int:
        self._entries.append((reference_id, signal.variant))
        return len(self._entries) - 1

    # -- matching ---------------------------------------------------------------------------------

    def match(self, signals: Sequence[Signal]) -> list[MatchDecision]:
        """Every reference the media matches or may match, surest first."""
        vpdq = next((s for s in signals if s.kind == _VPDQ.name and s.variant == "original"), None)
        if vpdq is not None:
            videohash = next((s for s in signals if s.kind == _VIDEOHASH.name), None)
            return _surest_first(self._match_video(vpdq, videohash))
        pdqs = [s for s in signals if s.kind == _PDQ.name]
        phash = next((s for s in signals if s.kind == _PHASH.name), None)
        dhash = next((s for s in signals if s.kind == _DHASH.name), None)
        orb = next((s for s in signals if s.kind == _ORB.name), None)
        query_features = LocalFeatures.from_text(orb.value) if orb is not None else None

        candidates: set[int] = set()
        usable = [s for s in pdqs if self._pdq_usable(s)]
        if usable:
            codes = np.stack([_code(s) for s in usable])
            radius = max(self.policy.pdq_max_distance, self.policy.pdq_corroborated_max_distance)
            for hits in self._pdq.search(codes, radius):
                candidates.update(self._entries[entry][0] for entry, _ in hits)
        if phash is not None:
            for entry, _ in self._phash.search(_code(phash)[None, :], self.policy.phash_max_distance)[0]:
                candidates.add(self._entries[entry][0])

        decisions: dict[int, MatchDecision] = {}
        for reference_id in candidates:
            decision = decide_global(
                self.policy,
                reference_id,
                self._compare_pdq(reference_id, pdqs),
                self._compare(reference_id, phash, _PHASH.name, self.policy.phash_max_distance),
                self._compare(reference_id, dhash, _DHASH.name, self.policy.dhash_max_distance),
            )
            if decision is None:
                continue
            if decision.verdict is Verdict.NEEDS_REVIEW and query_features is not None:
                decision = self._confirm(decision, query_features)
            decisions[reference_id] = decision

        if query_features is not None and not any(d.verdict is Verdict.MATCH for d in decisions.values()):
            for reference_id in self._features.candidates(query_features):
                if reference_id in decisions:
                    continue  # a gray-zone candidate: its geometric check has run already
                decision = self._decide_local(reference_id, pdqs, phash, dhash, query_features)
                if decision is not None:
                    decisions[reference_id] = decision
        for decision in self._match_still(usable):
            decisions.setdefault(decision.reference_id, decision)
        return _surest_first(decisions.values())

    # -- video ------------------------------------------------------------------------------------

    def _match_video(self, vpdq: Signal, videohash: Signal | None) -> list[MatchDecision]:
        """A video copy against video references (aligned in time) and picture references (its frames)."""
        frames = frames_from_text(vpdq.value)
        query = QueryFrames.of(frames, self.policy.pdq_min_quality)
        duration = frames[-1].timestamp + query.step
        best: dict[int, tuple[int, str, list[Segment]]] = {}
        for (reference_id, variant), matches in self._frames.matches(query, self.policy.video_frame_max_distance).items():
            segments = align_video(self.policy, matches, query.step, self._frames.step(reference_id))
            matched = sum(s.frames for s in segments)
            if segments and matched > best.get(reference_id, (0, "", []))[0]:
                best[reference_id] = (matched, variant, segments)
        decisions = [
            decide_video(
                self.policy, reference_id, variant, segments, duration, query.step,
                self._compare_videohash(reference_id, videohash),
            )  # fmt: skip
            for reference_id, (_, variant, segments) in best.items()
        ]
        return decisions + self._match_frames_to_pictures(query, duration)

    def _match_frames_to_pictures(self, query: QueryFrames, duration: float) -> list[MatchDecision]:
        """Picture references shown in the video: at least ``video_min_frames`` frames within PDQ's threshold."""
        if not len(query.times):
            return []
        threshold = self.policy.pdq_max_distance
        hits: dict[int, list[tuple[float, int]]] = defaultdict(list)
        for frame, found in enumerate(self._pdq.search(query.codes, threshold)):
            for reference_id in {self._entries[entry][0] for entry, _ in found}:
                distance = min(d for entry, d in found if self._entries[entry][0] == reference_id)
                hits[reference_id].append((float(query.times[frame]), distance))
        decisions = []
        for reference_id, frames in hits.items():
            if len(frames) < self.policy.video_min_frames:
                continue
            times = [t for t, _ in frames]
            distance = min(d for _, d in frames)
            segment = Segment(min(times), max(times), 0.0, 0.0, len(frames), 1.0, round(sum(d for _, d in frames) / len(frames), 1))
            pdq = SignalAgreement("pdq", distance, threshold, True)
            decisions.append(
                MatchDecision(
                    reference_id, Verdict.MATCH, "pdq-frames", distance, pdq_confidence(distance, threshold), (pdq,),
                    segments=(segment,), coverage=round(min(1.0, (segment.query_end - segment.query_start) / duration), 3),
                )  # fmt: skip
            )
        return decisions

    def _match_still(self, usable: Sequence[Signal]) -> list[MatchDecision]:
        """A picture that is a frame of a reference video (a tube site's thumbnail, a screenshot)."""
        if not usable or not len(self._frames):
            return []
        threshold = self.policy.pdq_max_distance
        codes = np.stack([_code(s) for s in usable])
        decisions = []
        for reference_id, (at, distance, variant) in self._frames.frames_near(codes, threshold).items():
            pdq = SignalAgreement("vpdq", distance, threshold, True, variant)
            segment = Segment(0.0, 0.0, at, at, 1, 1.0, float(distance))
            decisions.append(
                MatchDecision(reference_id, Verdict.MATCH, "vpdq-frame", distance, pdq_confidence(distance, threshold), (pdq,), segments=(segment,))
            )
        return decisions

    def _compare_videohash(self, reference_id: int, query: Signal | None) -> SignalAgreement:
        return self._compare(reference_id, query, _VIDEOHASH.name, self.policy.videohash_max_distance)

    def _confirm(self, decision: MatchDecision, query: LocalFeatures) -> MatchDecision:
        """A gray-zone global decision, checked geometrically."""
        check = self._verify(decision.reference_id, query)
        if check is None:
            return decision
        signals = (*decision.signals, self._orb_agreement(check))
        if check.inliers < self.policy.orb_match_inliers:
            return dataclasses.replace(decision, signals=signals, verification=check)
        gray_zone = self.policy.pdq_corroborated_max_distance
        confidence = max(orb_confidence(self.policy, check.inliers), pdq_confidence(decision.distance, gray_zone))
        return MatchDecision(
            decision.reference_id, Verdict.MATCH, f"{decision.decided_by}+orb", decision.distance, confidence,
            signals, check,
        )  # fmt: skip

    def _orb_agreement(self, check: Verification) -> SignalAgreement:
        """The geometric check as a signal: its "distance" is the count of consistent keypoints, and it
        agrees at or above the match threshold (more is closer, unlike a hash distance)."""
        threshold = self.policy.orb_match_inliers
        return SignalAgreement("orb", check.inliers, threshold, check.inliers >= threshold)

    def _decide_local(
        self,
        reference_id: int,
        pdqs: Sequence[Signal],
        phash: Signal | None,
        dhash: Signal | None,
        query: LocalFeatures,
    ) -> MatchDecision | None:
        check = self._verify(reference_id, query)
        if check is None or check.inliers < self.policy.orb_review_inliers:
            return None
        pdq = self._compare_pdq(reference_id, pdqs)
        signals = (
            pdq,
            self._compare(reference_id, phash, _PHASH.name, self.policy.phash_max_distance),
            self._compare(reference_id, dhash, _DHASH.name, self.policy.dhash_max_distance),
            self._orb_agreement(check),
        )
        verdict = Verdict.MATCH if check.inliers >= self.policy.orb_match_inliers else Verdict.NEEDS_REVIEW
        distance = pdq.distance if pdq.distance is not None else check.inliers
        return MatchDecision(reference_id, verdict, "orb", distance, orb_confidence(self.policy, check.inliers), signals, check)

    def _verify(self, reference_id: int, query: LocalFeatures) -> Verification | None:
        """The best geometric check against any of the reference's feature sets (as is, mirrored)."""
        checks = [verify(features, query) for features in self._features.features_of(reference_id)]
        return max(checks, key=lambda c: c.inliers, default=None)

    # -- comparing one signal ---------------------------------------------------------------------

    def _pdq_usable(self, signal: Signal) -> bool:
        """Quality below the minimum rules a hash out; an imported hash without a quality is trusted, as
        the partner who sent it vouched for it."""
        return signal.quality is None or signal.quality >= self.policy.pdq_min_quality

    def _compare_pdq(self, reference_id: int, pdqs: Sequence[Signal]) -> SignalAgreement:
        threshold = self.policy.pdq_max_distance
        if not pdqs:
            return SignalAgreement("pdq", None, threshold, False, unusable="no PDQ hash for the media")
        usable = [s for s in pdqs if self._pdq_usable(s)]
        if not usable:
            reason = f"media PDQ quality {pdqs[0].quality} < {self.policy.pdq_min_quality}"
            return SignalAgreement("pdq", None, threshold, False, unusable=reason)
        references = [s for s in self._signals[reference_id] if s.kind == "pdq" and self._pdq_usable(s)]
        if not references:
            reason = f"reference PDQ quality < {self.policy.pdq_min_quality}"
            return SignalAgreement("pdq", None, threshold, False, unusable=reason)
        distance, variant = min((_PDQ.distance(q.value, r.value), r.variant) for q in usable for r in references)
        return SignalAgreement("pdq", distance, threshold, distance <= threshold, variant)

    def _compare(self, reference_id: int, query: Signal | None, kind: str, threshold: int) -> SignalAgreement:
        references = [s for s in self._signals[reference_id] if s.kind == kind]
        if query is None or not references:
            return SignalAgreement(kind, None, threshold, False, unusable=f"no {kind} hash on both sides")
        hasher = hasher_for(kind)
        distance, variant = min((hasher.distance(query.value, s.value), s.variant) for s in references)
        return SignalAgreement(kind, distance, threshold, distance <= threshold, variant)


def _surest_first(decisions: Iterable[MatchDecision]) -> list[MatchDecision]:
    return sorted(decisions, key=lambda d: (d.verdict is not Verdict.MATCH, -d.confidence, d.reference_id))


def _code(signal: Signal) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(signal.value), dtype=np.uint8)
