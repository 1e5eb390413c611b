"""Retroactive matching at scale: which of a million stored media could match a few new references?

Every stored media's indexed hashes stream from the store in batches (`MediaStore.iter_media_codes`) and
meet the new references' hashes in one vectorised comparison per batch. Only the media that some hash comes
near go through a `Matcher` of the new references, which stays the judge. The filter proposes every media
for which the matcher's own indexes would propose a candidate, so the decisions are those of matching every
media one by one (tests/test_tracker_retroactive.py runs the two side by side):

- PDQ hashes and video frames against the references' PDQ hashes (every orientation and region) and
  frames (every variant), out to the widest radius the matcher searches either at (the PDQ gray zone,
  video frames), whatever their quality: the matcher itself drops what quality rules out.
- pHash against the references' pHash at its threshold.
- Keypoints: when a new reference has ORB keypoints (a hash-only import has none), every media with
  keypoints goes to the matcher. Its vote (`matcher.matchers.orb`: six keypoints, the two nearest of one
  owner counting as clear) proposes nearly every photograph: 68 of 70 unrelated ones against four
  pictures, 69 of 70 against one. A batched vote first would only add its cost, so keypoints cost what
  they cost one by one (docs/architecture.md, benchmarks/record.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import faiss
import numpy as np

from matcher import Matcher, MatchDecision, MatchPolicy
from matcher.hashers.vpdq import frames_from_text
from matcher.local import LocalFeatures
from tracker.models import Reference
from tracker.store import MediaCodes, MediaStore

# Characters of codes a batch of the stream holds: 25,000 pictures or 30,000 video frames, a few tens of MB
# in Python objects, and numpy calls long enough to pay for themselves.
BATCH = 2_000_000

# (done, total): the stored media compared, then the candidates judged, counted together.
Progress = Callable[[int, int], None]


class RetroactiveFilter:
    """The new references' indexed hashes, and which media of a batch the matcher would take up."""

    def __init__(self, policy: MatchPolicy, references: Sequence[Reference]) -> None:
        signals = [s for ref in references for s in ref.signals]
        pdq = [s.value for s in signals if s.kind == "pdq"]
        pdq += [frame.pdq for s in signals if s.kind == "vpdq" for frame in frames_from_text(s.value)]
        self._pdq = _index(256, pdq)
        self._pdq_radius = max(policy.pdq_max_distance, policy.pdq_corroborated_max_distance,
                               policy.video_frame_max_distance)  # fmt: skip
        self._phash = _index(64, [s.value for s in signals if s.kind == "phash"])
        self._phash_radius = policy.phash_max_distance
        # The matcher indexes a reference's keypoint sets only when they hold keypoints; a spectrum
        # signature (`matcher.spectrum`) is compared with every stored media that has one, as keypoints are.
        self.keypoints = any(
            (s.kind == "orb" and len(LocalFeatures.from_text(s.value))) or s.kind == "spectrum" for s in signals
        )

    @property
    def empty(self) -> bool:
        """Nothing to compare: no reference has a hash any index proposes by, nor keypoints."""
        return self._pdq is None and self._phash is None and not self.keypoints

    def candidates(self, batch: Sequence[MediaCodes]) -> np.ndarray:
        """The numbers of the media in ``batch`` the matcher would take up, ascending."""
        numbers = np.fromiter((m.number for m in batch), np.int64, len(batch))
        near = _near(self._pdq, 32, [m.pdq for m in batch], numbers, self._pdq_radius)
        near |= _near(self._phash, 8, [m.phash for m in batch], numbers, self._phash_radius)
        if self.keypoints:
            near |= np.fromiter((m.keypoints for m in batch), bool, len(batch))
        chosen: np.ndarray = numbers[near]
        return chosen


def earlier_matches(
    store: MediaStore, policy: MatchPolicy, references: Sequence[Reference], progress: Progress | None = None
) -> Iterator[tuple[str, list[MatchDecision]]]:
    """``(sha256, decisions)`` of every stored media that matches or may match one of ``references``, in
    SHA-256 order (the order the one-by-one path took, which ties in `tracker.rules` can depend on). Memory
    holds a batch and eight bytes a candidate, however large the store."""
    prefilter = RetroactiveFilter(policy, references)
    if prefilter.empty:
        return
    total, done = store.media_count(), 0
    found: list[np.ndarray] = []
    for batch in store.iter_media_codes(BATCH):
        found.append(prefilter.candidates(batch))
        done += len(batch)
        if progress is not None:
            progress(done, total)
    numbers = np.concatenate(found) if found else np.zeros(0, np.int64)
    if not len(numbers):
        return
    matcher = Matcher(policy, ((ref.id, ref.signals) for ref in references))
    for judged, sha256 in enumerate(store.media_sha256(map(int, numbers)), start=1):
        signals = store.media_signals(sha256)
        if isinstance(signals, tuple) and (decisions := matcher.match(signals)):
            yield sha256, decisions
        if progress is not None:
            progress(done + judged, done + len(numbers))


def _index(bits: int, codes: list[str]) -> faiss.IndexBinaryFlat | None:
    """An exact Hamming index of hex ``codes`` (FAISS's flat binary index: brute force in C++, which beats
    multi-index hashing at radii this wide), or None when there are none."""
    if not codes:
        return None
    index = faiss.IndexBinaryFlat(bits)
    index.add(_rows(codes, bits))
    return index


def _near(index: faiss.IndexBinaryFlat | None, width: int, hexes: list[str], numbers: np.ndarray, radius: int) -> np.ndarray:
    """Which media have some code within ``radius`` of ``index`` (``width``: bytes a code), as a mask."""
    near = np.zeros(len(numbers), bool)
    counts = np.fromiter(map(len, hexes), np.int64, len(hexes)) // (2 * width)
    if index is None or not counts.sum():
        return near
    limits, _, _ = index.range_search(_rows(hexes, width * 8), radius + 1)  # FAISS keeps distances < radius
    owners = np.repeat(np.arange(len(numbers)), counts)
    near[owners[np.flatnonzero(np.diff(limits))]] = True
    return near


def _rows(hexes: list[str], bits: int) -> np.ndarray:
    return np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, bits // 8)
