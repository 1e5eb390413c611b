"""The interfaces hash algorithms implement: values (in the shape of ThreatExchange's SignalType) and pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from PIL import Image

from matcher.signal import ContentKind, Signal

if TYPE_CHECKING:
    from matcher.picture import Picture


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


class PictureHasher(Protocol):
    """Something that makes signals of a picture: the image hashers below, and ORB keypoints.

    `matcher.media.hash_image` asks every picture hasher in two passes: first each one's ``signals`` (the
    trimmed picture as a whole), then each one's ``extra_signals`` (other views of it: the untrimmed
    picture, sub-regions, keypoints). Two passes keep the order signals have always been stored in.
    ``reference=True`` asks for everything a reference is indexed under as well (orientations, regions,
    mirrored keypoints), so that each crawled file is hashed once, as found.
    """

    def signals(self, picture: Picture, *, reference: bool) -> list[Signal]: ...

    def extra_signals(self, picture: Picture, *, reference: bool) -> list[Signal]: ...


class Hasher(SignalType, PictureHasher, Protocol):
    """A picture hash algorithm: one small class each (PDQ, pHash, dHash).

    Thresholds are not class attributes: they come from settings or the case (see `MatchPolicy`), so that
    nobody tunes a match threshold by editing a keyword default.
    """

    def hash_image(self, image: Image.Image) -> Signal:
        """Hash an upright RGB picture; raises UnhashableContent."""
        ...


_HEX_DIGITS = frozenset("0123456789abcdef")


def validate_hex(name: str, bits: int, value: str) -> str:
    from matcher.errors import InvalidSignal

    value = value.strip().lower()
    digits = bits // 4
    if len(value) != digits:
        raise InvalidSignal(f"{name} hash must be {digits} hex digits, got {len(value)}: {value[:80]!r}")
    # Not int(value, 16): it takes "0x", "_" and non-ASCII digits, which the index cannot.
    if not set(value) <= _HEX_DIGITS:
        raise InvalidSignal(f"{name} hash is not hexadecimal: {value[:80]!r}")
    return value


def hex_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()
