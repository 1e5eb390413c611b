"""vPDQ in the matcher: every usable frame of every video reference in one index, each entry with its
reference, variant and time, and the alignment of a copy's frames with each reference they hit.

The index is the prefilter: each frame of the copy is looked up, and only the references some frames
hit are aligned (`matcher.video.align`). A reference video keeps its frames as found, mirrored
("flip_h") and cropped ("region:c90", "region:c80"), so a mirrored or cropped re-upload, hashed as
found, meets those frames; both sides keep each frame without its top or its bottom fifth ("band:b80",
"band:t80"), and a copy's band frames meet the reference's same band: a title band or a watermark strip
covers the rest.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from matcher.hashers.vpdq import PDQ_BITS, VpdqHasher, frame_codes, frames_from_text
from matcher.index.multi import MultiIndex
from matcher.matchers.base import Query
from matcher.policy import MatchPolicy, SignalAgreement
from matcher.signal import Signal
from matcher.video.align import FrameMatches, Segment
from matcher.video.matching import QueryFrames, align_video, as_matches, mean_distance, sampling_step

# A copy's frames without a title band or watermark strip (`matcher.video.hashing`): compared with the
# reference's frames of the same band only.
BAND = "band:"
# The best alignment of a copy with one reference: the variant its frames matched, and the segments.
Alignment = tuple[str, list[Segment]]


class VpdqMatcher:
    """Frames of video references. Index ids are entry numbers, not reference ids: a match must say which
    reference, which variant and which moment of it, and the three lists below say so per entry."""

    kind = VpdqHasher.name

    def __init__(self, policy: MatchPolicy) -> None:
        self.policy = policy
        self.index = MultiIndex(PDQ_BITS)
        self._reference: list[int] = []
        self._variant: list[str] = []
        self._time: list[float] = []
        self._step: dict[int, float] = {}

    def add(self, reference_id: int, signal: Signal) -> None:
        frames = frames_from_text(signal.value)
        self._step[reference_id] = sampling_step([f.timestamp for f in frames])
        usable = [f for f in frames if f.quality >= self.policy.pdq_min_quality]
        if not usable:
            return
        start = len(self._reference)
        self._reference.extend([reference_id] * len(usable))
        self._variant.extend([signal.variant] * len(usable))
        self._time.extend(f.timestamp for f in usable)
        self.index.add(np.arange(start, start + len(usable)), frame_codes(usable))

    def remove(self, reference_id: int) -> None:
        if self._step.pop(reference_id, None) is not None:
            self.index.remove([i for i, ref in enumerate(self._reference) if ref == reference_id])

    def frames(self, query: Query) -> QueryFrames | None:
        """The query's frames when it is a video (it has an "original" vPDQ signal), else None."""
        signal = query.first(self.kind, "original")
        if signal is None:
            return None
        min_quality = self.policy.pdq_min_quality
        return query.read(self.kind, lambda: QueryFrames.of(frames_from_text(signal.value), min_quality))

    def alignments(self, query: Query) -> dict[int, Alignment]:
        """Per reference the copy's frames align with, its best alignment (most matched frames; the first
        variant found on a tie)."""
        return query.read(f"{self.kind}:alignments", lambda: self._align(query))

    def _align(self, query: Query) -> dict[int, Alignment]:
        video = self.frames(query)
        if video is None:
            return {}
        grouped = self._matches(video)
        for band in (s for s in query.of_kind(self.kind) if s.variant.startswith(BAND)):
            frames = QueryFrames.of(frames_from_text(band.value), self.policy.pdq_min_quality)
            grouped.update({key: m for key, m in self._matches(frames, only=band.variant).items() if key not in grouped})
        best: dict[int, tuple[int, str, list[Segment]]] = {}
        for (reference_id, variant), matches in grouped.items():
            segments = align_video(self.policy, matches, video.step, self._step[reference_id])
            matched = sum(s.frames for s in segments)
            if segments and matched > best.get(reference_id, (0, "", []))[0]:
                best[reference_id] = (matched, variant, segments)
        return {reference_id: (variant, segments) for reference_id, (_, variant, segments) in best.items()}

    def _matches(self, video: QueryFrames, only: str | None = None) -> dict[tuple[int, str], FrameMatches]:
        """Frame matches grouped by (reference, variant); ``only``: of the reference frames of that variant
        (a copy's band frames meet the reference's same band, nothing else)."""
        if not len(video.times) or not self._reference:
            return {}
        grouped: dict[tuple[int, str], list[tuple[float, int, float, int]]] = defaultdict(list)
        for frame, hits in enumerate(self.index.search(video.codes, self.policy.video_frame_max_distance)):
            for entry, distance in hits:
                if only is not None and self._variant[entry] != only:
                    continue
                key = (self._reference[entry], self._variant[entry])
                grouped[key].append((video.times[frame], frame, self._time[entry], distance))
        return {key: as_matches(rows) for key, rows in grouped.items()}

    def candidates(self, query: Query) -> list[int]:
        """The references a video's frames align with (a picture proposes none here: see `frame_of`)."""
        return list(self.alignments(query))

    def compare(self, query: Query, reference_id: int) -> SignalAgreement:
        threshold = self.policy.video_frame_max_distance
        alignment = self.alignments(query).get(reference_id)
        if alignment is None:
            return SignalAgreement(self.kind, None, threshold, False, unusable="no run of frames lines up")
        variant, segments = alignment
        return SignalAgreement(self.kind, round(mean_distance(segments)), threshold, True, variant)

    def frame_of(self, rows: np.ndarray) -> dict[int, tuple[float, int, str]]:
        """For a picture's PDQ ``rows`` (a still or thumbnail of a video): per reference, its nearest frame
        within PDQ's threshold, as (time, distance, variant)."""
        best: dict[int, tuple[float, int, str]] = {}
        if not len(rows) or not self._reference:
            return best
        for hits in self.index.search(rows, self.policy.pdq_max_distance):
            for entry, distance in hits:
                reference_id = self._reference[entry]
                if reference_id not in best or distance < best[reference_id][1]:
                    best[reference_id] = (self._time[entry], distance, self._variant[entry])
        return best
