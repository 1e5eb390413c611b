"""Video files and animations -> vPDQ frame hashes and a videohash, streamed, within a budget per file."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from matcher.borders import trim_borders
from matcher.budget import DecodeBudget
from matcher.errors import UnhashableContent
from matcher.hashers.pdq import DIHEDRAL_VARIANTS, bits_to_hex
from matcher.hashers.videohash import VideoHashFrames
from matcher.hashers.vpdq import VpdqFrame, VpdqHasher, frames_to_text, median_quality
from matcher.signal import Signal
from matcher.video.animation import AnimationSampler
from matcher.video.frames import Frame, SamplingPlan, VideoSampler

# Crawled video is sampled about once a second (vPDQ's rate); a reference twice as densely, so that a
# copy's frame, wherever it falls, is never more than a quarter second from a reference frame.
CRAWLED_INTERVAL, CRAWLED_MIN_SAMPLES = 1.0, 32
REFERENCE_INTERVAL, REFERENCE_MIN_SAMPLES = 0.5, 64
# Thumbnails behind the videohash: videohash2 pastes them side by side and re-encodes the strip, so this
# bounds its memory and its time (about 0.25 s a video at 32).
VIDEOHASH_FRAMES = 32
# Mirrored re-uploads are common, rotated video is not: a reference keeps these of PDQ's eight orientations,
# and the middle of each frame, 5% and 10% off each side ("region:c90", "region:c80"): a copy cropped to
# fill a frame of another shape, or to cut a watermark off, keeps the middle, and PDQ of a frame cropped
# by twice what a region took no longer meets it.
# A re-uploader's title band or watermark strip covers the top or the bottom of every frame: both sides
# keep each frame, untrimmed, without its top and without its bottom fifth ("band:b80", "band:t80"), and
# a copy's band frames meet only the reference's frames of the same band (`matcher.matchers.vpdq`).
REFERENCE_VARIANTS = ("original", "flip_h", "region:c90", "region:c80", "band:b80", "band:t80")
CRAWLED_VARIANTS = ("original", "band:b80", "band:t80")
_REGIONS = (("region:c90", 0.05), ("region:c80", 0.10))
_BANDS = (("band:b80", 0.20, 0.0), ("band:t80", 0.0, 0.20))  # (variant, share off the top, off the bottom)
_READ_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """What one video or animation may cost (from settings, through `HashOptions`): file size, decode time,
    samples, frame size, and pixels x frames decoded."""

    max_bytes: int
    max_seconds: float
    max_frames: int
    max_pixels: int
    max_decoded_pixels: int

    def plan(self, *, reference: bool) -> SamplingPlan:
        interval, least = (REFERENCE_INTERVAL, REFERENCE_MIN_SAMPLES) if reference else (CRAWLED_INTERVAL, CRAWLED_MIN_SAMPLES)
        return SamplingPlan(interval, least, self.max_frames, self.max_seconds, self.max_pixels, self.max_decoded_pixels)

    def budget(self, stop: threading.Event | None = None) -> DecodeBudget:
        return DecodeBudget(self.max_seconds, self.max_decoded_pixels, stop)


@dataclass(frozen=True, slots=True)
class VideoHashes:
    """The signals of one video, and what the sampler had to say about it."""

    signals: tuple[Signal, ...]
    width: int
    height: int
    duration: float | None
    frames: int
    stopped: str | None


class FrameHasher:
    """PDQ of each sampled frame (borders trimmed first), thumbnails for the videohash, within a frame budget.

    When the budget is exceeded every other frame is dropped and ``add`` returns True: the caller then
    samples half as often, so a video of unknown length still ends evenly covered.
    """

    def __init__(self, *, reference: bool, max_frames: int) -> None:
        self.variants = REFERENCE_VARIANTS if reference else CRAWLED_VARIANTS
        self.max_frames = max_frames
        self.frames: dict[str, list[VpdqFrame]] = {variant: [] for variant in self.variants}
        self._thumbnails = VideoHashFrames(VIDEOHASH_FRAMES)
        self._next_thumbnail = 0.0

    def add(self, frame: Frame) -> bool:
        picture = trim_borders(frame.image)
        pixels = np.asarray(picture)
        h, w = pixels.shape[:2]
        if "flip_h" not in self.variants:
            hashes = {"original": pdqhash.compute(pixels)}
        else:
            vectors, quality = pdqhash.compute_dihedral(pixels)
            hashes = {variant: (vector, quality) for variant, vector in zip(DIHEDRAL_VARIANTS, vectors, strict=True)}
            for region, share in _REGIONS:
                dy, dx = round(h * share), round(w * share)
                hashes[region] = pdqhash.compute(np.ascontiguousarray(pixels[dy : h - dy, dx : w - dx]))
        # Bands are cut from the frame as decoded: trimming would take the band's plain rows with the
        # borders, and the copy's rest would no longer line up with the reference's.
        whole = np.asarray(frame.image)
        height = whole.shape[0]
        for band, top, bottom in _BANDS:
            hashes[band] = pdqhash.compute(np.ascontiguousarray(whole[round(height * top) : height - round(height * bottom)]))
        for variant in self.variants:
            vector, score = hashes[variant]
            self.frames[variant].append(VpdqFrame(frame.number, int(score), bits_to_hex(vector), frame.timestamp))
        if frame.timestamp + 1e-6 >= self._next_thumbnail:  # videohash2 takes one frame a second
            self._thumbnails.offer(picture)
            self._next_thumbnail = frame.timestamp + 1.0
        if len(self.frames["original"]) <= self.max_frames:
            return False
        for variant in self.variants:
            self.frames[variant] = self.frames[variant][::2]
        return True

    def signals(self) -> tuple[Signal, ...]:
        if not self.frames["original"]:
            raise UnhashableContent("no frame could be decoded")
        vpdq = [
            Signal(VpdqHasher.name, frames_to_text(self.frames[variant]), VpdqHasher.version, median_quality(self.frames[variant]), variant)
            for variant in self.variants
        ]
        return (*vpdq, self._thumbnails.signal())

    def close(self) -> None:
        self._thumbnails.close()


def hash_video_file(
    path: Path, *, reference: bool, limits: VideoLimits, stop: threading.Event | None = None
) -> tuple[VideoHashes, str, str, int]:  # fmt: skip
    """Hash a video file; returns its hashes, SHA-256, MD5 and size. Raises UnhashableContent, or
    HashingStopped once ``stop`` is set."""
    size = checked_size(path, limits.max_bytes, "video")
    sha256, md5 = _digests(path)
    with VideoSampler(path, limits.plan(reference=reference), stop=stop) as sampler:
        hasher = FrameHasher(reference=reference, max_frames=limits.max_frames)
        try:
            for frame in sampler:
                if hasher.add(frame):
                    sampler.coarsen()
            signals = hasher.signals()
        finally:
            hasher.close()
        last = hasher.frames["original"][-1].timestamp
        duration = sampler.duration if sampler.duration is not None else last
        hashes = VideoHashes(signals, sampler.width, sampler.height, round(duration, 3), len(hasher.frames["original"]), sampler.stopped)
    return hashes, sha256, md5, size


def hash_animation(
    animation: Image.Image, *, reference: bool, limits: VideoLimits, stop: threading.Event | None = None
) -> VideoHashes:  # fmt: skip
    """Hash an animated GIF, APNG or WebP (already opened). Raises UnhashableContent, or HashingStopped."""
    sampler = AnimationSampler(animation, limits.max_pixels, limits.max_frames, limits.budget(stop))
    hasher = FrameHasher(reference=reference, max_frames=limits.max_frames)
    try:
        for frame in sampler:
            hasher.add(frame)
        signals = hasher.signals()
    finally:
        hasher.close()
    return VideoHashes(signals, sampler.width, sampler.height, sampler.duration, len(hasher.frames["original"]), sampler.stopped)


def checked_size(path: Path, max_bytes: int, kind: str) -> int:
    """The file's size, or UnhashableContent when it is unreadable, empty or over its ``kind``'s cap."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnhashableContent(f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise UnhashableContent("empty file (0 bytes)")
    if size > max_bytes:
        raise UnhashableContent(f"file is {size:,} bytes, over the {max_bytes:,}-byte {kind} cap")
    return size


def _digests(path: Path) -> tuple[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(_READ_CHUNK):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()

