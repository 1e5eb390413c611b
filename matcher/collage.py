"""Collages: a grid of pictures, each cropped to fit its cell, posted as one image. Split into its tiles,
each tile is matched as a picture of its own.

Why tiles: the whole collage's hashes describe a picture nobody reported, and its keypoints are spread
over four or nine pictures at a fraction of their size, so the geometric check sees too few of the
reported one's. Measured on the accuracy benchmark's references (`python -m benchmarks.accuracy`): the
2x2 collages were found in 39% of cases whole and in 100% tile by tile.

A seam is where the grid's cells meet: a gutter (a band of lines that are each one flat colour) or, with
no gutter, a straight step that runs the whole length of the picture, in most of its rows or columns at
once. Natural edges (a horizon, a wall) are neither flat nor that abrupt along their whole length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from PIL import Image

from matcher.signal import Signal

# Seams lie this far inside the picture at least: a cell narrower than this is a border, not a picture.
MIN_CELL = 0.2
MAX_SEAMS = 2  # per direction: grids up to 3x3
MIN_TILE_SIDE = 64  # pixels: smaller tiles have too little to match
MEASURE_SIDE = 1024  # seams are looked for at most this size (a gutter of 4 pixels in 2,000 stays 2)
FLAT_STD = 4.0  # a gutter line's spread of brightness
MAX_GUTTER = 0.04  # of the width: a gutter is narrow
MAX_FLAT_SHARE = 0.1  # of the columns inside: more flat ones than this, and flatness is the picture's own
BUSY_STD = 12.0  # the spread of brightness of the columns beside a gutter: pictures, not more flat colour
SIDE = 3  # columns looked at on each side of a gutter
STEP = 12.0  # a brightness step this large, between two neighbouring lines, counts in a row
STEP_SHARE = 0.6  # of the rows (or columns) that step at the same line: a seam
STEP_CONTRAST = 3.0  # and the step is that many times the usual step around it
ALIGNED_SHARE = 0.3  # of the rows stepping where the other strips' seam runs: the same seam
AROUND = 8  # columns on each side whose steps are the usual ones a seam's must stand out from
CROWD = 16  # columns: steps this close together are a pattern (stripes, bars, text), not a seam


TILE = "tile:"


def tile_signal(signal: Signal, number: int) -> Signal:
    """A tile's signal, its variant prefixed with the tile's number ("tile:2", "tile:2/untrimmed")."""
    return replace(signal, variant=f"{TILE}{number}" + ("" if signal.variant == "original" else f"/{signal.variant}"))


def split_tiles(signals: Sequence[Signal]) -> tuple[list[Signal], list[list[Signal]]]:
    """The picture's own signals, and each tile's with its variant as it was before `tile_signal`."""
    own: list[Signal] = []
    tiles: dict[str, list[Signal]] = {}
    for signal in signals:
        if not signal.variant.startswith(TILE):
            own.append(signal)
            continue
        number, _, variant = signal.variant.removeprefix(TILE).partition("/")
        tiles.setdefault(number, []).append(replace(signal, variant=variant or "original"))
    return own, list(tiles.values())


def grid_tiles(image: Image.Image) -> list[Image.Image]:
    """The cells of ``image`` when it is a grid of pictures (at least two), else none. Cut as collage
    makers lay them out: across the whole picture first, then each strip the other way, so that a seam
    that runs only through one strip (rows whose cells do not line up) is found too."""
    gray = image.convert("L")
    scale = min(1.0, MEASURE_SIDE / max(gray.size))
    if scale < 1:
        gray = gray.resize((max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.Resampling.BOX)
    pixels = np.asarray(gray, dtype=np.float32)
    columns, rows = _seams(pixels), _seams(pixels.T)
    if not columns and not rows:
        return []
    across = len(columns) >= len(rows)  # cut along the direction whose seams run the whole way
    first = columns if across else rows
    spans = _spans(first, pixels.shape[1 if across else 0])
    strips = [pixels[:, a:b].T if across else pixels[a:b] for a, b in spans]
    cuts = _aligned([_seams(strip) for strip in strips], strips)
    boxes: list[tuple[int, int, int, int]] = []
    for (a, b), seams in zip(spans, cuts, strict=True):
        for c, d in _spans(seams, pixels.shape[0 if across else 1]):
            boxes.append((a, c, b, d) if across else (c, a, d, b))
    tiles = [image.crop(tuple(round(v / scale) for v in box)) for box in boxes]  # type: ignore[arg-type]
    return [tile for tile in tiles if min(tile.size) >= MIN_TILE_SIDE]


def _aligned(found: list[list[int]], strips: list[np.ndarray]) -> list[list[int]]:
    """Each strip's seams, and in a strip where none stood out, the other strips' seams where it steps at
    least ALIGNED_SHARE of the way: cells of a grid line up, and two alike pictures (two textures) side by
    side step too seldom to be found on their own."""
    elsewhere = sorted({x for seams in found for x in seams})
    aligned = []
    for seams, strip in zip(found, strips, strict=True):
        if not seams and elsewhere and strip.shape[1] > max(elsewhere) + 1:
            share = _step_share(np.abs(np.diff(strip, axis=1)))
            seams = [x for x in elsewhere if share[max(0, x - 2) : x + 1].max() >= ALIGNED_SHARE]
        aligned.append(seams)
    return aligned


def _spans(seams: list[int], length: int) -> list[tuple[int, int]]:
    edges = [0, *seams, length]
    return list(zip(edges, edges[1:]))


def _seams(pixels: np.ndarray) -> list[int]:
    """Where vertical seams run (x positions, at most MAX_SEAMS, strongest first, then in order)."""
    height, width = pixels.shape
    low, high = round(width * MIN_CELL), round(width * (1 - MIN_CELL))
    if high <= low or height < MIN_TILE_SIDE // 2:
        return []
    scores = np.maximum(_gutter_scores(pixels), _step_scores(pixels))
    chosen: list[int] = []
    for x in np.argsort(-scores[low:high], kind="stable") + low:
        if scores[x] <= 0 or len(chosen) == MAX_SEAMS:
            break
        if all(abs(int(x) - c) >= width * MIN_CELL for c in chosen):
            chosen.append(int(x))
    return sorted(chosen)


def _gutter_scores(pixels: np.ndarray) -> np.ndarray:
    """Per column, 1 where it is the middle of a gutter: a narrow run of flat columns of one colour with
    pictures on both sides. A picture that is flat in many places (a dark frame, a page, stripes) has
    no gutters: its flat columns are its own."""
    width = pixels.shape[1]
    spread = pixels.std(axis=0)
    flat = spread < FLAT_STD
    scores = np.zeros(width, np.float32)
    low, high = round(width * MIN_CELL), round(width * (1 - MIN_CELL))
    if flat[low:high].mean() > MAX_FLAT_SHARE:
        return scores
    x = 0
    while x < width:
        if not flat[x]:
            x += 1
            continue
        end = x
        while end + 1 < width and flat[end + 1] and abs(pixels[:, end + 1].mean() - pixels[:, x].mean()) < FLAT_STD:
            end += 1
        narrow = end - x + 1 <= max(2, width * MAX_GUTTER)
        beside = spread[max(0, x - SIDE) : x].min(initial=np.inf), spread[end + 1 : end + 1 + SIDE].min(initial=np.inf)
        if narrow and min(beside) >= BUSY_STD:
            scores[(x + end) // 2] = 1.0
        x = end + 1
    return scores


def _step_share(steps: np.ndarray) -> np.ndarray:
    """Per pair of neighbouring columns, the share of rows whose brightness steps by more than STEP."""
    return (steps > STEP).mean(axis=0)  # type: ignore[no-any-return]


def _step_scores(pixels: np.ndarray) -> np.ndarray:
    """Per column, the share of rows that step there (0 unless it is a seam's): two pictures side by side."""
    steps = np.abs(np.diff(pixels, axis=1))  # steps[:, x]: between columns x and x + 1
    share = _step_share(steps)
    mean = steps.mean(axis=0)
    # The usual step around each column: the median of the AROUND columns on either side, itself left
    # out (NaN beyond the picture's edges, so a window there is only shorter).
    padded = np.pad(mean, AROUND, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * AROUND + 1)
    around = np.nanmedian(np.delete(windows, AROUND, axis=1), axis=1)
    seam = (share >= STEP_SHARE) & (mean >= STEP_CONTRAST * np.maximum(around, 1.0))
    scores = np.zeros(pixels.shape[1], np.float32)
    found = np.flatnonzero(seam)
    for x in found:
        # Stripes step every few columns; a gutter's two edges step twice, close together: count it once,
        # at the second edge, and nothing where more steps crowd in.
        near = found[np.abs(found - x) <= CROWD]
        if len(near) == 1 or (len(near) == 2 and x == near[1]):
            scores[x + 1] = share[x]  # the seam is the first column of the right-hand picture
    return scores
