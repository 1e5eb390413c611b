"""Video decisions: a copy aligned with a reference video, a picture reference shown in a video's frames,
and a picture that is a frame of a reference video.

The frames themselves are indexed and looked up by the vPDQ signal matcher (`matcher.matchers.vpdq`);
only the references some frames hit are aligned (`matcher.video.align`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.hashers.vpdq import VpdqFrame, frame_codes
from matcher.policy import MatchDecision, MatchPolicy, SignalAgreement, Verdict, pdq_confidence
from matcher.video.align import FrameMatches, Segment, align

# A segment may run across this many seconds of the copy without a matched frame (a blurred scene, a
# caption card), or five of its sampling steps when it is sampled more sparsely.
MAX_GAP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class QueryFrames:
    """A copy's usable frames (quality at or over the policy's minimum), as times and index codes, its
    sampling step and its duration (the last frame's time plus a step)."""

    times: np.ndarray
    codes: np.ndarray
    step: float
    duration: float

    @classmethod
    def of(cls, frames: Sequence[VpdqFrame], min_quality: int) -> QueryFrames:
        usable = [f for f in frames if f.quality >= min_quality]
        times = np.array([f.timestamp for f in usable], dtype=np.float64)
        codes = frame_codes(usable) if usable else np.zeros((0, 32), dtype=np.uint8)
        step = sampling_step([f.timestamp for f in frames])
        return cls(times, codes, step, frames[-1].timestamp + step)


def sampling_step(times: Sequence[float]) -> float:
    """The typical time between sampled frames (median), or one second for a single frame."""
    if len(times) < 2:
        return 1.0
    return float(max(np.median(np.diff(np.asarray(times, dtype=np.float64))), 0.01))


def as_matches(rows: list[tuple[float, int, float, int]]) -> FrameMatches:
    """(copy time, copy frame, reference time, distance) rows as `FrameMatches`."""
    table = np.array(rows, dtype=np.float64)
    return FrameMatches(table[:, 0], table[:, 1].astype(np.int64), table[:, 2], table[:, 3])


def align_video(
    policy: MatchPolicy, matches: FrameMatches, query_step: float, reference_step: float
) -> list[Segment]:
    max_gap = max(MAX_GAP_SECONDS, 5 * query_step)
    return align(
        matches, query_step=query_step, reference_step=reference_step, min_frames=policy.video_min_frames, max_gap=max_gap
    )


def mean_distance(segments: Sequence[Segment]) -> float:
    """The mean PDQ distance of the matched frames of ``segments`` (at least one)."""
    return sum(s.distance * s.frames for s in segments) / sum(s.frames for s in segments)


def decide_video(
    policy: MatchPolicy,
    reference_id: int,
    segments: Sequence[Segment],
    query: QueryFrames,
    agreements: Sequence[SignalAgreement],
) -> MatchDecision:
    """A video matched along ``segments`` (at least one): confidence grows with matched frames and
    falls with their mean PDQ distance. ``agreements`` are the video signals compared (vPDQ's first)."""
    frames = sum(s.frames for s in segments)
    distance = mean_distance(segments)
    by_frames = min(1.0, frames / (4 * policy.video_min_frames))
    by_distance = 1.0 - distance / max(policy.video_frame_max_distance, 1)
    confidence = round(0.7 + 0.3 * by_frames * by_distance, 3)
    covered = sum(s.query_end - s.query_start + query.step for s in segments)
    coverage = round(min(1.0, covered / query.duration), 3) if query.duration > 0 else None
    return MatchDecision(
        reference_id, Verdict.MATCH, "vpdq+align", round(distance), confidence, tuple(agreements),
        segments=tuple(segments), coverage=coverage,
    )  # fmt: skip


def decide_picture_in_video(
    policy: MatchPolicy, reference_id: int, frames: Sequence[tuple[float, int]], query: QueryFrames
) -> MatchDecision | None:
    """A picture reference shown in a video (a slideshow, a compilation of stills): ``frames`` are the
    (time, PDQ distance) of the video's frames within PDQ's threshold of it; ``video_min_frames`` decide."""
    if len(frames) < policy.video_min_frames:
        return None
    threshold = policy.pdq_max_distance
    times = [t for t, _ in frames]
    distance = min(d for _, d in frames)
    mean = round(sum(d for _, d in frames) / len(frames), 1)
    segment = Segment(min(times), max(times), 0.0, 0.0, len(frames), 1.0, mean)
    pdq = SignalAgreement("pdq", distance, threshold, True)
    return MatchDecision(
        reference_id, Verdict.MATCH, "pdq-frames", distance, pdq_confidence(distance, threshold), (pdq,),
        segments=(segment,), coverage=round(min(1.0, (segment.query_end - segment.query_start) / query.duration), 3),
    )  # fmt: skip


def decide_frame_of_video(policy: MatchPolicy, reference_id: int, at: float, distance: int, variant: str) -> MatchDecision:
    """A picture that is a frame of a reference video (a tube site's thumbnail, a screenshot): its PDQ is
    within PDQ's threshold of the frame at ``at`` seconds."""
    threshold = policy.pdq_max_distance
    frame = SignalAgreement("vpdq", distance, threshold, True, variant)
    segment = Segment(0.0, 0.0, at, at, 1, 1.0, float(distance))
    return MatchDecision(
        reference_id, Verdict.MATCH, "vpdq-frame", distance, pdq_confidence(distance, threshold), (frame,),
        segments=(segment,),
    )  # fmt: skip
