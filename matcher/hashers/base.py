"""The interface every hash algorithm implements, in the shape of ThreatExchange's SignalType."""

from __future__ import annotations

from typing import ClassVar, Protocol

from PIL import Image

from matcher.signal import ContentKind, Signal


class SignalType(Protocol):
    """What every kind of signal can do: name itself, check a value, and measure a distance."""

    name: ClassVar[str]
    version: ClassVar[int]
    bits: ClassVar[int]
    content_kind: ClassVar[ContentKind]
    examples: ClassVar[tuple[str, ...]]

    def validate(self, value: str) -> str:
        """Return the normalised value, or raise InvalidSignal."""
        ...

    def distance(self, a: str, b: str) -> int: ...


class Hasher(SignalType, Protocol):
    """A picture hash algorithm: one small class each (PDQ, pHash, dHash).

    Thresholds are not class attributes: they come from settings or the case (see `MatchPolicy`), so that
    nobody tunes a match threshold by editing a keyword default.
    """

    # False: the hasher shrinks to a few dozen pixels anyway, so it is given a grayscale copy already
    # reduced (by an integer factor, to a short side of at least 128) instead of the full picture.
    full_resolution: ClassVar[bool]

    def hash_image(self, image: Image.Image) -> Signal:
        """Hash an upright RGB picture; raises UnhashableContent."""
        ...

    def hash_variants(self, image: Image.Image) -> list[Signal]:
        """Hashes of the picture in each orientation worth indexing for a reference."""
        ...


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
