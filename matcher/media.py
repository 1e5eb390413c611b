"""Media bytes -> every hash spreadtrace keeps of them. Decoded once, normalised once, hashed by each hasher."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from matcher.collage import grid_tiles, tile_signal
from matcher.errors import UnhashableContent
from matcher.hashers import PdqHasher, VpdqHasher, picture_hashers
from matcher.image import decode_image
from matcher.options import HashOptions
from matcher.picture import Picture
from matcher.signal import ContentKind, Signal
from matcher.video.animation import open_animation
from matcher.video.hashing import VideoHashes, checked_size, hash_animation, hash_video_file

logger = logging.getLogger(__name__)
_PILLOW_VIDEO_FORMATS = frozenset({"MPEG"})
# JPEG, PNG, GIF, BMP, TIFF (both byte orders)
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


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


def hash_media(data: bytes, options: HashOptions, *, reference: bool = False, stop: threading.Event | None = None) -> MediaHashes:
    """Hash image bytes (an animated GIF, APNG or WebP is hashed as a video). Raises UnhashableContent
    with a one-line reason (a crawled picture below ``options.min_picture_side`` among them), or
    HashingStopped once ``stop`` is set (an animation stops at its next frame).

    ``reference=True`` adds what a reference is indexed under: every orientation, sub-regions, mirrored
    local features.
    """
    if len(data) > options.max_image_bytes:
        raise UnhashableContent(f"file is {len(data):,} bytes, over the {options.max_image_bytes:,}-byte image cap")
    if data and (animation := open_animation(data)) is not None:
        video = hash_animation(animation, reference=reference, limits=options.video, stop=stop)
        return _video_media(video, sha256_hex(data), _md5(data), len(data))
    image = decode_image(data, max_pixels=options.max_pixels)
    if not reference and max(image.size) < options.min_picture_side:
        raise UnhashableContent(
            f"picture is {image.width}x{image.height} px, below the {options.min_picture_side}-px floor for matching"
            " (SPREADTRACE_IMAGE_MIN_SIDE)"
        )
    signals = hash_image(image, reference=reference, local_features=options.local_features)
    return MediaHashes(
        sha256=sha256_hex(data),
        md5=_md5(data),
        size=len(data),
        kind=ContentKind.IMAGE,
        width=image.width,
        height=image.height,
        signals=tuple(signals),
    )


def hash_file(path: Path, options: HashOptions, *, reference: bool = False, stop: threading.Event | None = None) -> MediaHashes:
    """Hash a file on disk: a picture is read into memory, a video is streamed. Raises UnhashableContent,
    or HashingStopped once ``stop`` is set."""
    if is_picture(path):
        return hash_media(_read_picture(path, options), options, reference=reference, stop=stop)
    video, sha256, md5, size = hash_video_file(path, reference=reference, limits=options.video, stop=stop)
    return _video_media(video, sha256, md5, size)


def exchange_hash(path: Path, options: HashOptions) -> Signal:
    """The one hash of a file that partners exchange and `case import-hashes` reads: PDQ of a picture, vPDQ
    of a video or animation. Raises UnhashableContent.

    It is the value `hash_file(path, options, reference=True)` keeps as its "original" PDQ or vPDQ, which
    `case export-hashes` writes; a picture's is computed alone (no other hasher, orientation or region), at
    about the cost of decoding the picture and hashing it with pdqhash.
    """
    if is_picture(path):
        data = _read_picture(path, options)
        if not data or open_animation(data) is None:
            image = decode_image(data, max_pixels=options.max_pixels)
            return PdqHasher().hash_image(Picture(image).trimmed)
    hashes = hash_file(path, options, reference=True)
    found = next((s for s in hashes.signals if s.kind == VpdqHasher.name and s.variant == "original"), None)
    if found is None:
        raise UnhashableContent("no frame of it could be hashed")
    return found


def _read_picture(path: Path, options: HashOptions) -> bytes:
    checked_size(path, options.max_image_bytes, "image")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UnhashableContent(f"cannot read: {exc.strerror or exc}") from None


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


def hash_image(
    image: Image.Image, *, reference: bool = False, local_features: bool, tiles: bool = True, spectrum: bool = True
) -> list[Signal]:
    """Signals of a decoded, upright RGB picture, from every picture hasher (`picture_hashers`).

    Two passes: each hasher's signals of the picture as a whole (borders trimmed), then each hasher's
    extra signals (PDQ of the untrimmed picture and of sub-regions, ORB keypoints). A copy that is a grid
    of pictures (`matcher.collage`) adds every signal of each tile, its variant saying which tile.
    ``tiles=False`` and ``spectrum=False`` leave out the collage's tiles and the spectrum signature: only
    the speed benchmark does, to show what each costs.
    """
    picture = Picture(image)
    hashers = picture_hashers(local_features=local_features, spectrum=spectrum)
    signals = [signal for hasher in hashers for signal in hasher.signals(picture, reference=reference)]
    signals += [signal for hasher in hashers for signal in hasher.extra_signals(picture, reference=reference)]
    if tiles and not reference and local_features:  # a reference is one picture; a copy may be a collage of several
        for number, tile in enumerate(grid_tiles(picture.trimmed)):
            found = hash_image(tile, local_features=True, tiles=False, spectrum=spectrum)
            signals += [tile_signal(signal, number) for signal in found]
    return signals
