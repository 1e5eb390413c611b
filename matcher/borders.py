"""Trimming plain borders: letterbox and pillarbox bars, and the padding uploaders add around a picture.

PDQ and pHash describe the whole frame, so 30% of padding moves them far from the original; cut away,
the padded copy hashes like the original again. References are trimmed the same way, so a picture whose
own edges are plain loses them on both sides alike.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# A border line counts as plain when this share of its pixels is within TOLERANCE of the border colour
# (not all of them: JPEG rings at the edge of the picture, and a stray logo pixel should not stop a trim).
TOLERANCE = 14
PLAIN_SHARE = 0.97
# Never trim to less than this share of a side: a mostly plain picture is left as it is.
MIN_KEPT = 0.25


def trim_borders(image: Image.Image) -> Image.Image:
    """The picture without plain bars on any of its four sides (the same picture when there are none)."""
    box = _plain_box(np.asarray(image if image.mode == "RGB" else image.convert("RGB")))
    return image if box is None else image.crop(box)


def _plain_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    height, width = pixels.shape[:2]
    top = _plain_run(pixels)
    bottom = _plain_run(pixels[::-1])
    if top + bottom > height * (1 - MIN_KEPT):
        top = bottom = 0
    rows = pixels[top : height - bottom]
    left = _plain_run(rows.transpose(1, 0, 2))
    right = _plain_run(rows.transpose(1, 0, 2)[::-1])
    if left + right > width * (1 - MIN_KEPT):
        left = right = 0
    if not (top or bottom or left or right):
        return None
    return left, top, width - right, height - bottom


def _plain_run(lines: np.ndarray) -> int:
    """How many leading lines (rows of ``lines``) are plain in the colour of the first one.

    Lines are examined a block at a time, growing: most pictures have no border, and their first line
    says so, so the cost is one line per side, not the whole picture.
    """
    colour = np.median(lines[0], axis=0).astype(np.int16)
    count, block = 0, 1
    while count < len(lines):
        chunk = lines[count : count + block].astype(np.int16)
        plain = (np.abs(chunk - colour) <= TOLERANCE).all(axis=2).mean(axis=1) >= PLAIN_SHARE
        (breaks,) = np.nonzero(~plain)
        if len(breaks):
            return count + int(breaks[0])
        count += len(chunk)
        block = min(block * 4, 64)
    return count
