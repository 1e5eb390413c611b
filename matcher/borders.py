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


# Where a border exists it is measured on a copy reduced to at most this side: a pixel or two of slack
# does not move a hash, and measuring 30% padding line by line at full size would cost more than hashing.
MEASURE_SIDE = 400


def trim_borders(image: Image.Image) -> Image.Image:
    """The picture without plain bars on any of its four sides (the same picture when there are none)."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    pixels = np.asarray(rgb)
    edges = (pixels[:1], pixels[-1:], pixels[:, :1].transpose(1, 0, 2), pixels[:, -1:].transpose(1, 0, 2))
    if not any(_plain_run(edge) for edge in edges):
        return image  # the common case: four lines looked at, nothing to trim
    factor = max(1, max(image.size) // MEASURE_SIDE)
    box = _plain_box(np.asarray(rgb.reduce(factor)) if factor > 1 else pixels)
    if box is None:
        return image
    left, top, right, bottom = (edge * factor for edge in box)
    return image.crop((left, top, min(right, image.width), min(bottom, image.height)))


def _plain_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    height, width = pixels.shape[:2]
    top = _plain_run(pixels)
    bottom = _plain_run(pixels[::-1])
    if top + bottom > height * (1 - MIN_KEPT):
        top = bottom = 0
    columns = np.ascontiguousarray(pixels[top : height - bottom].transpose(1, 0, 2))
    left = _plain_run(columns)
    right = _plain_run(columns[::-1])
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
    lines = lines[:, :: max(1, lines.shape[1] // 256)]  # 256 samples per line tell plain from not
    colour = np.median(lines[0], axis=0).astype(np.int16)
    count, block = 0, 1
    limit = int(len(lines) * (1 - MIN_KEPT)) + 1  # past this the picture is too plain to trim at all
    while count < limit:
        chunk = lines[count : count + block].astype(np.int16)
        plain = (np.abs(chunk - colour) <= TOLERANCE).all(axis=2).mean(axis=1) >= PLAIN_SHARE
        (breaks,) = np.nonzero(~plain)
        if len(breaks):
            return count + int(breaks[0])
        count += len(chunk)
        block = min(block * 4, 64)
    return min(count, len(lines))
