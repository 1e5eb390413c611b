"""vPDQ, Meta's video hash: PDQ of frames sampled about once a second, each with its quality and time.

The value of a ``vpdq`` signal is vPDQ's own text, one frame per line as its C++ tools write and read
it (``FRAME_NUMBER,QUALITY,PDQ_HEX,SECONDS``), so a hash list from a partner's ``vpdq-hash-video`` is
imported as it is and an export is read by theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from matcher.errors import InvalidSignal
from matcher.hashers.base import validate_hex
from matcher.signal import ContentKind

PDQ_BITS = 256


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    number: int
    quality: int
    pdq: str
    timestamp: float

    def line(self) -> str:
        return f"{self.number},{self.quality},{self.pdq},{self.timestamp:.3f}"


def frames_to_text(frames: Iterable[VpdqFrame]) -> str:
    return "".join(frame.line() + "\n" for frame in frames)


def parse_frame(line: str) -> VpdqFrame:
    fields = [f.strip() for f in line.split(",")]
    if len(fields) < 4:
        raise InvalidSignal(f"expected FRAME,QUALITY,PDQ_HEX,SECONDS, got {len(fields)} field(s)")
    try:
        number, quality, timestamp = int(fields[0]), int(fields[1]), float(fields[3])
    except ValueError:
        raise InvalidSignal(f"frame number, quality or time is not a number: {line.strip()[:80]!r}") from None
    if number < 0 or not 0 <= quality <= 100 or not timestamp >= 0:
        raise InvalidSignal(f"frame number, quality (0-100) or time out of range: {line.strip()[:80]!r}")
    return VpdqFrame(number, quality, validate_hex("pdq", PDQ_BITS, fields[2]), timestamp)


def frames_from_text(text: str) -> list[VpdqFrame]:
    frames = [parse_frame(line) for line in text.splitlines() if line.strip()]
    if not frames:
        raise InvalidSignal("vPDQ hash has no frames")
    return frames


def median_quality(frames: Sequence[VpdqFrame]) -> int:
    """The quality a whole vPDQ hash is filed under: its frames' median."""
    return int(np.median([f.quality for f in frames]))


def looks_like_vpdq(line: str) -> bool:
    """True for a line in vPDQ's frame format (how a hash list is told apart from a PDQ list)."""
    fields = line.split(",")
    return len(fields) == 4 and fields[0].strip().isdigit() and len(fields[2].strip()) == PDQ_BITS // 4


def frame_codes(frames: Sequence[VpdqFrame]) -> np.ndarray:
    """The frames' PDQ hashes as rows of 32 bytes, for the frame index."""
    return np.frombuffer(bytes.fromhex("".join(f.pdq for f in frames)), dtype=np.uint8).reshape(-1, PDQ_BITS // 8)


class VpdqHasher:
    """Not an image hasher: frames are hashed by `matcher.video.hashing`; this class reads and compares."""

    name: ClassVar[str] = "vpdq"
    version: ClassVar[int] = 1
    bits: ClassVar[int] = PDQ_BITS
    content_kind: ClassVar[ContentKind] = ContentKind.VIDEO
    examples: ClassVar[tuple[str, ...]] = (
        "0,100,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,0.000\n"
        "25,93,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b23,1.000\n",
    )
    # vPDQ's own frame rule, used by `distance`: frames match at PDQ <= 31, frames of quality < 50 are not used.
    frame_max_distance: ClassVar[int] = 31
    min_quality: ClassVar[int] = 50

    def validate(self, value: str) -> str:
        return frames_to_text(frames_from_text(value))

    def distance(self, a: str, b: str) -> int:
        """vPDQ's comparison as a distance: the percentage of ``a``'s usable frames that no frame of ``b``
        matches (0: every frame found; vPDQ calls a video a match at 20 or less)."""
        query = [f for f in frames_from_text(a) if f.quality >= self.min_quality]
        other = [f for f in frames_from_text(b) if f.quality >= self.min_quality]
        if not query or not other:
            return 100
        q, o = np.unpackbits(frame_codes(query), axis=1), np.unpackbits(frame_codes(other), axis=1)
        distances = (q[:, None, :] != o[None, :, :]).sum(axis=2)
        found = int((distances.min(axis=1) <= self.frame_max_distance).sum())
        return round(100 * (len(query) - found) / len(query))
