"""PDQ, Meta's photo hash: the format StopNCII, NCMEC and HMA exchange."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pdqhash
from PIL import Image

from matcher.hashers.base import hex_distance, validate_hex
from matcher.signal import ContentKind, Signal

# Order of the hashes pdqhash.compute_dihedral returns (its README).
DIHEDRAL_VARIANTS = ("original", "rot90", "rot180", "rot270", "flip_v", "flip_h", "rot90_flip_v", "rot90_flip_h")


def bits_to_hex(bits: np.ndarray) -> str:
    """The canonical PDQ hex: bit 0 is the most significant, as ThreatExchange writes it."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


class PdqHasher:
    """PDQ with its quality score (0-100).

    Why hash references in all eight dihedral orientations: PDQ is not mirror- or rotation-invariant, but
    the dihedral hashes come from one DCT almost for free, and hashing the *reference* that way lets every
    crawled file be hashed once, as found.
    """

    name: ClassVar[str] = "pdq"
    version: ClassVar[int] = 1
    bits: ClassVar[int] = 256
    content_kind: ClassVar[ContentKind] = ContentKind.IMAGE
    full_resolution: ClassVar[bool] = True
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

    def validate(self, value: str) -> str:
        return validate_hex(self.name, self.bits, value)

    def distance(self, a: str, b: str) -> int:
        return hex_distance(a, b)
