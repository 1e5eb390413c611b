"""Temporal alignment: which runs of a copy's frames match runs of a reference's frames, in order.

vPDQ calls two videos a match when 80% of the query's frames each match some frame of the other, in any
order. That misses a short clip inside a long compilation (most of the compilation's frames are other
material) and, with a low percentage, would accept frames that match by chance. Here a copy matches
when a run of its frames lines up with a run of the reference's frames along one straight line

    reference_time = speed * copy_time + offset

(a clip: speed 1 and some offset; a sped-up re-upload: speed 1.25). Candidate lines are found by voting
over a grid of speeds (a Hough transform over the frame matches); each line's matches are then split into
segments wherever the copy has a long gap. A compilation yields one segment per clip it took.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Speeds from half to double, in steps of 2^(1/32) (about 2.2%): over a 30 s segment the worst speed
# error drifts under 0.4 s, inside the offset tolerance.
SPEEDS = 2.0 ** (np.arange(-32, 33) / 32)
# At most this many reference frames are kept per copy frame (the nearest): a static scene matches many.
MATCHES_PER_FRAME = 16
# Segments are looked for until none is long enough, but at most this many per reference.
MAX_SEGMENTS = 32


@dataclass(frozen=True, slots=True)
class FrameMatches:
    """Frame matches between one copy and one reference: parallel arrays, one entry per matching pair."""

    query_times: np.ndarray  # seconds into the copy
    query_frames: np.ndarray  # index of the copy's frame (distinct frames are counted, not pairs)
    reference_times: np.ndarray  # seconds into the reference
    distances: np.ndarray  # PDQ distance of the pair


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the copy that shows a stretch of the reference, in order."""

    query_start: float
    query_end: float
    reference_start: float
    reference_end: float
    frames: int  # distinct copy frames that matched inside the stretch
    speed: float  # reference seconds per copy second
    distance: float  # mean PDQ distance of the matched frames

    def as_dict(self) -> dict[str, object]:
        return {
            "query": [self.query_start, self.query_end],
            "reference": [self.reference_start, self.reference_end],
            "frames": self.frames,
            "speed": self.speed,
            "distance": self.distance,
        }


def align(
    matches: FrameMatches, *, query_step: float, reference_step: float, min_frames: int, max_gap: float
) -> list[Segment]:
    """Segments of at least ``min_frames`` copy frames along one line, longest first.

    ``query_step`` and ``reference_step`` are the sampling intervals of the two videos (a frame can sit
    up to half a step from its true time); ``max_gap`` is the longest stretch of the copy, in seconds,
    that may lack a matched frame inside one segment (a title card, a scene the copy blurred).
    """
    matches = _nearest_only(matches)
    remaining = np.ones(len(matches.distances), dtype=bool)
    segments: list[Segment] = []
    for _ in range(MAX_SEGMENTS):
        line = _best_line(matches, remaining, query_step, reference_step)
        if line is None:
            break
        speed, offset, tolerance, votes = line
        if votes < min_frames:
            break
        on_line = remaining & (np.abs(matches.reference_times - (speed * matches.query_times + offset)) <= tolerance)
        segments.extend(_split(matches, on_line, speed, max_gap, min_frames))
        # A copy frame shows one thing: once on a line, none of its other matches may start another.
        remaining &= ~np.isin(matches.query_frames, matches.query_frames[on_line])
    return sorted(segments, key=lambda s: (-s.frames, s.query_start))


def _nearest_only(matches: FrameMatches) -> FrameMatches:
    if len(matches.distances) == 0:
        return matches
    order = np.lexsort((matches.distances, matches.query_frames))
    frames = matches.query_frames[order]
    starts = np.r_[0, np.flatnonzero(np.diff(frames)) + 1]
    rank = np.arange(len(frames)) - np.repeat(starts, np.diff(np.r_[starts, len(frames)]))
    keep = order[rank < MATCHES_PER_FRAME]
    return FrameMatches(
        matches.query_times[keep], matches.query_frames[keep], matches.reference_times[keep], matches.distances[keep]
    )


def _best_line(
    matches: FrameMatches, remaining: np.ndarray, query_step: float, reference_step: float
) -> tuple[float, float, float, int] | None:
    """The (speed, offset) line most distinct copy frames vote for, its tolerance and vote count."""
    index = np.flatnonzero(remaining)
    if len(index) == 0:
        return None
    tq, tr, frames = matches.query_times[index], matches.reference_times[index], matches.query_frames[index]
    width = int(frames.max()) + 1
    best: tuple[int, float, float, float, float] | None = None  # votes, -|log speed|, speed, offset, tolerance
    for speed in SPEEDS:
        tolerance = 0.5 * reference_step + 0.5 * speed * query_step + 0.1
        offsets = tr - speed * tq
        for shift in (0.0, tolerance):  # two staggered grids: a cluster on a bin edge is whole in one
            bins = np.floor((offsets + shift) / (2 * tolerance)).astype(np.int64)
            # Count distinct copy frames per bin: one frame matching three reference frames is one vote.
            pairs = np.unique((bins - bins.min()) * width + frames)
            labels, counts = np.unique(pairs // width, return_counts=True)
            labels = labels + bins.min()
            top = int(np.argmax(counts))
            votes = int(counts[top])
            key = (votes, -abs(float(np.log(speed))))
            if best is None or key > best[:2]:
                centre = float(np.median(offsets[bins == labels[top]]))
                best = (votes, key[1], float(speed), centre, tolerance)
    assert best is not None
    return best[2], best[3], best[4], best[0]


def _split(matches: FrameMatches, on_line: np.ndarray, speed: float, max_gap: float, min_frames: int) -> list[Segment]:
    index = np.flatnonzero(on_line)
    index = index[np.argsort(matches.query_times[index], kind="stable")]
    tq = matches.query_times[index]
    breaks = np.flatnonzero(np.diff(tq) > max_gap) + 1
    segments = []
    for run in np.split(index, breaks):
        frames = len(np.unique(matches.query_frames[run]))
        if frames < min_frames:
            continue
        tq_run, tr_run = matches.query_times[run], matches.reference_times[run]
        speed = _fitted_speed(tq_run, tr_run, matches.distances[run], speed)
        segments.append(
            Segment(
                round(float(tq_run.min()), 3), round(float(tq_run.max()), 3),
                round(float(tr_run.min()), 3), round(float(tr_run.max()), 3),
                frames, round(speed, 3), round(float(matches.distances[run].mean()), 1),
            )  # fmt: skip
        )
    return segments


def _fitted_speed(tq: np.ndarray, tr: np.ndarray, distances: np.ndarray, voted: float) -> float:
    """The speed of a segment by a weighted least-squares line through its matches (closer frames weigh
    more): finer than the voting grid, and in slow footage, where neighbouring frames all match, the
    vote alone cannot tell 1.2x from 1.25x. The vote stands when the fit is degenerate or implausible."""
    if np.ptp(tq) <= 0:
        return voted
    slope = float(np.polyfit(tq, tr, 1, w=1.0 / (1.0 + distances))[0])
    return slope if SPEEDS[0] <= slope <= SPEEDS[-1] else voted
