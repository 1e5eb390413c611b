"""pHash (imagehash's DCT hash): a second, independent global signal beside PDQ."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import imagehash
from PIL import Image, ImageOps

from matcher.hashers.base import hex_distance, validate_hex
from matcher.signal import ContentKind, Signal

if TYPE_CHECKING:
    from matcher.picture import Picture


class PHasher:
    """64-bit pHash.

    It has no quality score, and it still answers for flat, low-detail pictures where PDQ declines (quality
    < 50), which is why the policy lets it decide only there. References are also hashed mirrored.
    """

    name: ClassVar[str] = "phash"
    version: ClassVar[int] = 1
    bits: ClassVar[int] = 64
    content_kind: ClassVar[ContentKind] = ContentKind.IMAGE
    examples: ClassVar[tuple[str, ...]] = ("d1d1b1a1e1c1c3c3", "ffffffffffffffff")

    def hash_image(self, image: Image.Image) -> Signal:
        return Signal(self.name, str(imagehash.phash(image)), self.version)

    def hash_variants(self, image: Image.Image) -> list[Signal]:
        mirrored = str(imagehash.phash(ImageOps.mirror(image)))
        return [self.hash_image(image), Signal(self.name, mirrored, self.version, None, "flip_h")]

    def signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        # The hash shrinks the picture to a few dozen pixels anyway: it reads the small gray copy, which is
        # cheaper to resize than the full picture (and what every stored hash was made from).
        return self.hash_variants(picture.small) if reference else [self.hash_image(picture.small)]

    def extra_signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        return []

    def validate(self, value: str) -> str:
        return validate_hex(self.name, self.bits, value)

    def distance(self, a: str, b: str) -> int:
        return hex_distance(a, b)
