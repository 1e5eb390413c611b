"""Video references in the matcher: an index of every reference frame, and the decision for one copy.

The frame index is the prefilter: each frame of the copy is looked up, and only the references some
frames hit are aligned (`matcher.video.align`). A reference video keeps its frames as found and mirrored
("flip_h"), so a mirrored re-upload, hashed as found, meets the mirrored frames.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from matcher.hashers.vpdq import VpdqFrame, frame_codes, frames_from_text
from matcher.index.multi import MultiIndex
from matcher.policy import MatchDecision, MatchPolicy, SignalAgreement, Verdict
from matcher.video.align import FrameMatches, Segment, align

# A segment may run across this many seconds of the copy without a matched frame (a blurred scene, a
# caption card), or five of its sampling steps when it is sampled more sparsely.
MAX_GAP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class QueryFrames:
    """A copy's usable frames (quality at or over the policy's minimum), as times and index codes."""

    times: np.ndarray
    codes: np.ndarray
    step: float

    @classmethod
    def of(cls, frames: Sequence[VpdqFrame], min_quality: int) -> QueryFrames:
        usable = [f for f in frames if f.quality >= min_quality]
        times = np.array([f.timestamp for f in usable], dtype=np.float64)
        codes = frame_codes(usable) if usable else np.zeros((0, 32), dtype=np.uint8)
        return cls(times, codes, sampling_step([f.timestamp for f in frames]))


def sampling_step(times: Sequence[float]) -> float:
    """The typical time between sampled frames (median), or one second for a single frame."""
    if len(times) < 2:
        return 1.0
    return float(max(np.median(np.diff(np.asarray(times, dtype=np.float64))), 0.01))


class FrameIndex:
    """Every usable frame of every video reference, each entry tagged with reference, variant and time."""

    def __init__(self) -> None:
        self._index = MultiIndex(256)
        self._reference: list[int] = []
        self._variant: list[str] = []
        self._time: list[float] = []
        self._step: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._step)

    def add(self, reference_id: int, frames_text: str, variant: str, min_quality: int) -> None:
        frames = frames_from_text(frames_text)
        self._step[reference_id] = sampling_step([f.timestamp for f in frames])
        usable = [f for f in frames if f.quality >= min_quality]
        if not usable:
            return
        start = len(self._reference)
        self._reference.extend([reference_id] * len(usable))
        self._variant.extend([variant] * len(usable))
        self._time.extend(f.timestamp for f in usable)
        self._index.add(np.arange(start, start + len(usable)), frame_codes(usable))

    def remove(self, reference_id: int) -> None:
        self._index.remove([i for i, ref in enumerate(self._reference) if ref == reference_id])
        self._step.pop(reference_id, None)

    def step(self, reference_id: int) -> float:
        return self._step[reference_id]

    def matches(self, query: QueryFrames, max_distance: int) -> dict[tuple[int, str], FrameMatches]:
        """Frame matches grouped by (reference, variant)."""
        if not len(query.times) or not self._reference:
            return {}
        grouped: dict[tuple[int, str], list[tuple[float, int, float, int]]] = defaultdict(list)
        for frame, hits in enumerate(self._index.search(query.codes, max_distance)):
            for entry, distance in hits:
                key = (self._reference[entry], self._variant[entry])
                grouped[key].append((query.times[frame], frame, self._time[entry], distance))
        return {key: _as_matches(rows) for key, rows in grouped.items()}

    def frames_near(self, codes: np.ndarray, max_distance: int) -> dict[int, tuple[float, int, str]]:
        """For pictures (a still or thumbnail of a video): per reference, the closest frame's time,
        distance and variant."""
        best: dict[int, tuple[float, int, str]] = {}
        if not self._reference:
            return best
        for hits in self._index.search(codes, max_distance):
            for entry, distance in hits:
                reference_id = self._reference[entry]
                if reference_id not in best or distance < best[reference_id][1]:
                    best[reference_id] = (self._time[entry], distance, self._variant[entry])
        return best


def _as_matches(rows: list[tuple[float, int, float, int]]) -> FrameMatches:
    table = np.array(rows, dtype=np.float64)
    return FrameMatches(table[:, 0], table[:, 1].astype(np.int64), table[:, 2], table[:, 3])


def align_video(
    policy: MatchPolicy, matches: FrameMatches, query_step: float, reference_step: float
) -> list[Segment]:
    max_gap = max(MAX_GAP_SECONDS, 5 * query_step)
    return align(
        matches, query_step=query_step, reference_step=reference_step, min_frames=policy.video_min_frames, max_gap=max_gap
    )


def decide_video(
    policy: MatchPolicy,
    reference_id: int,
    variant: str,
    segments: Sequence[Segment],
    query_duration: float,
    query_step: float,
    videohash: SignalAgreement,
) -> MatchDecision:
    """A video matched along ``segments`` (at least one): confidence grows with matched frames and
    falls with their mean PDQ distance."""
    frames = sum(s.frames for s in segments)
    distance = sum(s.distance * s.frames for s in segments) / frames
    by_frames = min(1.0, frames / (4 * policy.video_min_frames))
    by_distance = 1.0 - distance / max(policy.video_frame_max_distance, 1)
    confidence = round(0.7 + 0.3 * by_frames * by_distance, 3)
    covered = sum(s.query_end - s.query_start + query_step for s in segments)
    vpdq = SignalAgreement("vpdq", round(distance), policy.video_frame_max_distance, True, variant)
    return MatchDecision(
        reference_id, Verdict.MATCH, "vpdq+align", round(distance), confidence, (vpdq, videohash),
        segments=tuple(segments), coverage=round(min(1.0, covered / query_duration), 3) if query_duration > 0 else None,
    )  # fmt: skip
