"""Collages (`matcher.collage`): a grid is found by its gutters or by its straight seams, each tile is
matched as a picture of its own, and pictures that are no grid stay whole."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageOps

from crawler.config import default_hash_options
from matcher import Matcher, Signal, Verdict, hash_media
from matcher.collage import grid_tiles, split_tiles, tile_signal
from simsites.corpus import REFERENCE_NAMES, encode, sample_image

OPTIONS = default_hash_options()


def square_grid(pictures: list[Image.Image], side: int, gap: int, background: tuple[int, int, int]) -> Image.Image:
    """An n x n grid of the pictures, each cropped to a square to fit its cell (as collage makers do)."""
    n = round(len(pictures) ** 0.5)
    grid = Image.new("RGB", (n * side + (n + 1) * gap,) * 2, background)
    for i, picture in enumerate(pictures):
        grid.paste(ImageOps.fit(picture.convert("RGB"), (side, side)), (gap + (i % n) * (side + gap), gap + (i // n) * (side + gap)))
    return grid


# Busy pictures around the reported one: their keypoints crowd its own out of the whole grid's budget.
BUSY = ("brick", "grass", "gravel", "clock", "horse", "coins", "page", "text")


def collage_of(name: str, n: int, side: int, gap: int = 4, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    pictures = [sample_image(name), *(sample_image(b) for b in BUSY[: n * n - 1])]
    random.Random(name).shuffle(pictures)
    return square_grid(pictures, side, gap, background)


@pytest.mark.parametrize(("n", "gap", "background"), [(2, 0, (0, 0, 0)), (2, 4, (255, 255, 255)), (3, 10, (34, 34, 40))])
def test_a_grid_is_cut_into_its_cells_with_or_without_gutters(n, gap, background):
    side = 600 // n
    tiles = grid_tiles(collage_of("coffee", n, side, gap, background))
    assert len(tiles) >= n * n  # a busy cell may be cut again along an edge of its own: harmless
    cells = [t for t in tiles if all(side - 2 <= length <= side + 2 * gap + 2 for length in t.size)]
    assert len(cells) >= n * n - 2  # the cells themselves, whole


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket", "hubble_deep_field"])
def test_a_photograph_is_no_grid(name):
    assert grid_tiles(sample_image(name)) == []


def test_stripes_and_flat_pictures_are_no_grid():
    stripes = np.zeros((400, 600), np.uint8)
    stripes[:, (np.arange(600) // 6) % 2 == 0] = 255
    assert grid_tiles(Image.fromarray(stripes)) == []
    assert grid_tiles(Image.new("RGB", (600, 400), (200, 200, 200))) == []


def test_tile_signals_keep_their_tile_and_their_own_variant():
    signals = [Signal("pdq", "a" * 64), Signal("pdq", "b" * 64, variant="untrimmed")]
    tiled = [tile_signal(s, n) for n in (0, 1) for s in signals]
    assert [s.variant for s in tiled] == ["tile:0", "tile:0/untrimmed", "tile:1", "tile:1/untrimmed"]
    own, tiles = split_tiles([Signal("phash", "c" * 16), *tiled])
    assert own == [Signal("phash", "c" * 16)] and tiles == [signals, signals]


@pytest.fixture(scope="module")
def matcher(policy):
    references = [hash_media(encode(sample_image(name), "PNG"), OPTIONS, reference=True).signals for name in REFERENCE_NAMES]
    return Matcher(policy, enumerate(references))


def collage_signals(name: str) -> list[Signal]:
    return list(hash_media(encode(collage_of(name, 3, 200), "JPEG", 85), OPTIONS).signals)


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_a_picture_cropped_to_fit_a_cell_of_a_busy_grid_is_found_in_its_tile(matcher, name):
    signals = collage_signals(name)
    assert sum(s.variant.startswith("tile:") for s in signals if s.kind == "orb") >= 9
    decisions = matcher.match(signals)
    assert [(d.reference_id, d.verdict) for d in decisions] == [(REFERENCE_NAMES.index(name), Verdict.MATCH)]


def test_without_its_tiles_a_busy_grid_hides_some_references(matcher):
    """The control for the test above: the whole grid alone misses at least one of those collages."""
    found = [any(d.verdict is Verdict.MATCH for d in matcher.match(split_tiles(collage_signals(name))[0])) for name in REFERENCE_NAMES]
    assert not all(found)


def test_a_reference_is_never_cut_into_tiles():
    grid = collage_of("coffee", 2, 300)
    out = io.BytesIO()
    grid.save(out, "PNG")
    assert not any(s.variant.startswith("tile:") for s in hash_media(out.getvalue(), OPTIONS, reference=True).signals)
