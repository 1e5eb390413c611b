"""Media bytes -> every hash spreadtrace keeps of them. Decoded once, normalised once, hashed by each hasher."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from matcher.borders import trim_borders
from matcher.errors import UnhashableContent
from matcher.hashers import IMAGE_HASHERS, PdqHasher
from matcher.image import DEFAULT_MAX_PIXELS, decode_image
from matcher.local import OrbExtractor
from matcher.signal import ContentKind, Signal
from matcher.video.animation import open_animation
from matcher.video.hashing import VideoHashes, VideoLimits, checked_size, hash_animation, hash_video_file

logger = logging.getLogger(__name__)
_PILLOW_VIDEO_FORMATS = frozenset({"MPEG"})
# JPEG, PNG, GIF, BMP, TIFF (both byte orders)
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")

_PDQ = PdqHasher()
_ORB = OrbExtractor()

# Sub-regions of a reference hashed on their own, as (name, left, top, right, bottom) in fractions: a copy
# cropped by up to about a fifth keeps most of one of these windows, and PDQ of the window meets it.
REGIONS = (
    ("c80", 0.1, 0.1, 0.9, 0.9),
    ("tl80", 0.0, 0.0, 0.8, 0.8),
    ("tr80", 0.2, 0.0, 1.0, 0.8),
    ("bl80", 0.0, 0.2, 0.8, 1.0),
    ("br80", 0.2, 0.2, 1.0, 1.0),
    ("c64", 0.18, 0.18, 0.82, 0.82),
)


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """What is kept of a media file instead of the file: its digests, its size, its signals."""

    sha256: str
    md5: str
    size: int
    kind: ContentKind
    width: int
    height: int
    signals: tuple[Signal, ...]
    duration: float | None = None  # seconds, for video and animations


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_media(
    data: bytes,
    *,
    reference: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    local_features: bool = True,
    video_limits: VideoLimits | None = None,
) -> MediaHashes:
    """Hash image bytes (an animated GIF, APNG or WebP is hashed as a video). Raises UnhashableContent
    with a one-line reason.

    ``reference=True`` adds what a reference is indexed under: every orientation, sub-regions, mirrored
    local features. ``local_features`` adds ORB keypoints (the input of the crop/screenshot check).
    """
    if data and (animation := open_animation(data)) is not None:
        limits = video_limits or VideoLimits.default(max_pixels)
        return _video_media(hash_animation(animation, reference=reference, limits=limits), sha256_hex(data), _md5(data), len(data))
    image = decode_image(data, max_pixels=max_pixels)
    signals = list(hash_image(image, reference=reference, local_features=local_features))
    return MediaHashes(
        sha256=sha256_hex(data),
        md5=_md5(data),
        size=len(data),
        kind=ContentKind.IMAGE,
        width=image.width,
        height=image.height,
        signals=tuple(signals),
    )


def hash_file(
    path: Path,
    *,
    reference: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_image_bytes: int = 40 * 1024**2,
    local_features: bool = True,
    video_limits: VideoLimits | None = None,
) -> MediaHashes:
    """Hash a file on disk: a picture is read into memory, a video is streamed. Raises UnhashableContent."""
    limits = video_limits or VideoLimits.default(max_pixels)
    if is_picture(path):
        checked_size(path, max_image_bytes, "image")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UnhashableContent(f"cannot read: {exc.strerror or exc}") from None
        return hash_media(data, reference=reference, max_pixels=max_pixels, local_features=local_features, video_limits=limits)
    video, sha256, md5, size = hash_video_file(path, reference=reference, limits=limits)
    return _video_media(video, sha256, md5, size)


def is_picture(path: Path) -> bool:
    """Whether the file is a picture: an image format's signature (so a truncated picture is reported as
    one), or Pillow recognises it (MPEG video, which Pillow also names, is not)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError:
        return True  # `hash_file` reports it unreadable
    if head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    try:
        with Image.open(path) as opened:
            return opened.format not in _PILLOW_VIDEO_FORMATS
    except Image.DecompressionBombError:
        return True  # a picture, and `decode_image` refuses it with the reason
    except (OSError, SyntaxError, ValueError):
        return False


def _video_media(video: VideoHashes, sha256: str, md5: str, size: int) -> MediaHashes:
    if video.stopped:
        logger.warning("hashed part of a video (%s): %s", sha256[:12], video.stopped)
    return MediaHashes(sha256, md5, size, ContentKind.VIDEO, video.width, video.height, video.signals, video.duration)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def hash_image(image: Image.Image, *, reference: bool = False, local_features: bool = True) -> list[Signal]:
    """Signals of a decoded, upright RGB picture, hashed with its plain borders trimmed.

    When trimming changed the picture, PDQ of the untrimmed picture is kept too ("untrimmed"): a plain
    edge that belongs to the picture may trim differently after an edit, and then the whole frames meet.
    """
    trimmed = trim_borders(image)
    small = reduced_gray(trimmed)
    signals: list[Signal] = []
    for hasher in IMAGE_HASHERS:
        source = trimmed if hasher.full_resolution else small
        signals.extend(hasher.hash_variants(source) if reference else [hasher.hash_image(source)])
    if trimmed is not image:
        signals.append(dataclasses.replace(_PDQ.hash_image(image), variant="untrimmed"))
    if reference:
        w, h = trimmed.size
        for name, left, top, right, bottom in REGIONS:
            window = trimmed.crop((round(left * w), round(top * h), round(right * w), round(bottom * h)))
            signals.append(dataclasses.replace(_PDQ.hash_image(window), variant=f"region:{name}"))
    if local_features:
        signals.append(_ORB.signal(trimmed))
        if reference:
            signals.append(dataclasses.replace(_ORB.signal(ImageOps.mirror(trimmed)), variant="flip_h"))
    return signals


def reduced_gray(image: Image.Image, short_side: int = 128) -> Image.Image:
    """A grayscale copy shrunk by an integer factor (a cheap box filter) to a short side of at least
    ``short_side``; pHash and dHash then resize that to 32x32 and 9x8 as they would the original."""
    gray = image.convert("L")
    factor = min(gray.size) // short_side
    return gray.reduce(factor) if factor > 1 else gray
