"""A decoded picture in the forms the picture hashers read: as decoded, borders trimmed, small and gray."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from PIL import Image

from matcher.borders import trim_borders


@dataclass(frozen=True)
class Picture:
    """One upright RGB picture (from `decode_image`), and the copies of it hashers share.

    Each form is made once, when a hasher first asks for it: PDQ reads the trimmed picture at full size,
    ORB its grayscale copy, pHash and dHash a small grayscale copy. Hashing the trimmed picture is what
    lets a padded or letterboxed copy meet its original (`matcher.borders`).
    """

    image: Image.Image

    @cached_property
    def trimmed(self) -> Image.Image:
        """The picture without plain borders (the same object when it has none)."""
        return trim_borders(self.image)

    @cached_property
    def gray(self) -> Image.Image:
        """The trimmed picture in grayscale, converted once for ORB and for the small copy."""
        return self.trimmed.convert("L")

    @cached_property
    def small(self) -> Image.Image:
        return reduced_gray(self.gray)


def reduced_gray(image: Image.Image, short_side: int = 128) -> Image.Image:
    """A grayscale copy shrunk by an integer factor (a cheap box filter) to a short side of at least
    ``short_side``; pHash and dHash then resize that to 32x32 and 9x8 as they would the original."""
    gray = image if image.mode == "L" else image.convert("L")
    factor = min(gray.size) // short_side
    return gray.reduce(factor) if factor > 1 else gray
