"""dHash (imagehash's difference hash): a cheap gradient signal, reported beside PDQ and pHash."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import imagehash
from PIL import Image, ImageOps

from matcher.hashers.base import hex_distance, validate_hex
from matcher.signal import ContentKind, Signal

if TYPE_CHECKING:
    from matcher.picture import Picture


class DHasher:
    """64-bit dHash: the sign of horizontal brightness steps on a 9x8 thumbnail.

    It fails differently from the DCT-based hashes (it survives gamma changes well and blur badly), which
    makes its agreement worth showing an analyst, but the policy lets PDQ and pHash decide.
    """

    name: ClassVar[str] = "dhash"
    version: ClassVar[int] = 1
    bits: ClassVar[int] = 64
    content_kind: ClassVar[ContentKind] = ContentKind.IMAGE
    examples: ClassVar[tuple[str, ...]] = ("0e1a3a3a1a0e0f0f", "0000000000000000")

    def hash_image(self, image: Image.Image) -> Signal:
        return Signal(self.name, str(imagehash.dhash(image)), self.version)

    def hash_variants(self, image: Image.Image) -> list[Signal]:
        mirrored = str(imagehash.dhash(ImageOps.mirror(image)))
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
