"""Media bytes -> every hash spreadtrace keeps of them. Decoded once, hashed by each hasher."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from matcher.hashers import IMAGE_HASHERS
from matcher.image import DEFAULT_MAX_PIXELS, decode_image
from matcher.signal import ContentKind, Signal


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hash_media(data: bytes, *, reference: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS) -> MediaHashes:
    """Hash image bytes. ``reference=True`` adds the orientation variants a reference is indexed under.

    Raises UnhashableContent with a one-line reason.
    """
    image = decode_image(data, max_pixels=max_pixels)
    signals: list[Signal] = []
    for hasher in IMAGE_HASHERS:
        signals.extend(hasher.hash_variants(image) if reference else [hasher.hash_image(image)])
    return MediaHashes(
        sha256=sha256_hex(data),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        size=len(data),
        kind=ContentKind.IMAGE,
        width=image.width,
        height=image.height,
        signals=tuple(signals),
    )
