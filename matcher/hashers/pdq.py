"""PDQ, Meta's photo hash: the format StopNCII, NCMEC and HMA exchange."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pdqhash
from PIL import Image

from matcher.hashers.base import hex_distance, validate_hex
from matcher.signal import ContentKind, Signal

if TYPE_CHECKING:
    from matcher.picture import Picture

# Order of the hashes pdqhash.compute_dihedral returns (its README).
DIHEDRAL_VARIANTS = ("original", "rot90", "rot180", "rot270", "flip_v", "flip_h", "rot90_flip_v", "rot90_flip_h")

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


# Below this long side PDQ's own downsampling (a box filter as wide as the picture over 128, applied twice,
# then 64 samples) is too narrow for the step from 140-320 px to 64: fine detail aliases into flipped bits
# (a 160 px thumbnail of a retina photograph: 52 bits from its reference). Such a picture is also hashed
# area-averaged to 64x64 first ("resampled"), which the reference's wide filter resembles.
RESAMPLE_BELOW = 320


def bits_to_hex(bits: np.ndarray) -> str:
    """The canonical PDQ hex: bit 0 is the most significant, as ThreatExchange writes it."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


class PdqHasher:
    """PDQ with its quality score (0-100).

    Why hash references in all eight dihedral orientations: PDQ is not mirror- or rotation-invariant, but
    the dihedral hashes come from one DCT almost for free, and hashing the *reference* that way lets every
    crawled file be hashed once, as found. For the same reason a reference is also hashed in REGIONS.
    """

    name: ClassVar[str] = "pdq"
    version: ClassVar[int] = 1
    bits: ClassVar[int] = 256
    content_kind: ClassVar[ContentKind] = ContentKind.IMAGE
    examples: ClassVar[tuple[str, ...]] = (
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        "0000000000000000000000000000000000000000000000000000000000000000",
    )

    def hash_image(self, image: Image.Image) -> Signal:
        vector, quality = pdqhash.compute(np.asarray(image))
        return Signal(self.name, bits_to_hex(vector), self.version, int(quality))

    def hash_variants(self, image: Image.Image) -> list[Signal]:
        vectors, quality = pdqhash.compute_dihedral(np.asarray(image))
        return [
            Signal(self.name, bits_to_hex(vector), self.version, int(quality), variant)
            for variant, vector in zip(DIHEDRAL_VARIANTS, vectors, strict=True)
        ]

    def signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        return self.hash_variants(picture.trimmed) if reference else [self.hash_image(picture.trimmed)]

    def extra_signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        """PDQ of the untrimmed picture when trimming changed it ("untrimmed"): a plain edge that belongs
        to the picture may trim differently after an edit, and then the whole frames meet. A picture
        smaller than RESAMPLE_BELOW adds PDQ of it area-averaged to 64x64 ("resampled"). A reference adds
        PDQ of each of its REGIONS ("region:c80", ...)."""
        extra = []
        if picture.trimmed is not picture.image:
            extra.append(replace(self.hash_image(picture.image), variant="untrimmed"))
        if max(picture.trimmed.size) < RESAMPLE_BELOW:
            small = picture.trimmed.resize((64, 64), Image.Resampling.BOX)
            extra.append(replace(self.hash_image(small), variant="resampled"))
        if reference:
            w, h = picture.trimmed.size
            for name, left, top, right, bottom in REGIONS:
                window = picture.trimmed.crop((round(left * w), round(top * h), round(right * w), round(bottom * h)))
                extra.append(replace(self.hash_image(window), variant=f"region:{name}"))
        return extra

    def validate(self, value: str) -> str:
        return validate_hex(self.name, self.bits, value)

    def distance(self, a: str, b: str) -> int:
        return hex_distance(a, b)
