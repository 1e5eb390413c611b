"""The interface every hash algorithm implements, in the shape of ThreatExchange's SignalType."""

from __future__ import annotations

from typing import ClassVar, Protocol

from PIL import Image

from matcher.signal import ContentKind, Signal


class Hasher(Protocol):
    """One perceptual or cryptographic hash algorithm.

    Thresholds are not class attributes: they come from settings or the case (see `MatchPolicy`), so that
    nobody tunes a match threshold by editing a keyword default.
    """

    name: ClassVar[str]
    version: ClassVar[int]
    bits: ClassVar[int]
    content_kind: ClassVar[ContentKind]
    # False: the hasher shrinks to a few dozen pixels anyway, so it is given a grayscale copy already
    # reduced (by an integer factor, to a short side of at least 128) instead of the full picture.
    full_resolution: ClassVar[bool]
    examples: ClassVar[tuple[str, ...]]

    def hash_image(self, image: Image.Image) -> Signal:
        """Hash an upright RGB picture; raises UnhashableContent."""
        ...

    def hash_variants(self, image: Image.Image) -> list[Signal]:
        """Hashes of the picture in each orientation worth indexing for a reference."""
        ...

    def validate(self, value: str) -> str:
        """Return the normalised value, or raise InvalidSignal."""
        ...

    def distance(self, a: str, b: str) -> int: ...


def validate_hex(name: str, bits: int, value: str) -> str:
    from matcher.errors import InvalidSignal

    value = value.strip().lower()
    digits = bits // 4
    if len(value) != digits:
        raise InvalidSignal(f"{name} hash must be {digits} hex digits, got {len(value)}: {value[:80]!r}")
    try:
        int(value, 16)
    except ValueError:
        raise InvalidSignal(f"{name} hash is not hexadecimal: {value[:80]!r}") from None
    return value


def hex_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
