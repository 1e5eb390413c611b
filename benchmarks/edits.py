"""The accuracy benchmark's rows: each an edit made to every reference of a kind, in a group of rows.

Groups, in the table's order:

- everyday, and crop/pad/rotate/screenshot/collage: `simsites.transforms`' edits (the rows the benchmark
  always had), made of the photographs (real and generated);
- overlays, crops and collages: what issue 14 found missed: a caption bar over the top 10-20%, a corner
  logo over 10-25% of the area, a 2x2 collage of square tiles (each cropped to fit and scaled to 400 px),
  20% cut from one side, 15% from the top and the left, a 3° rotation cropped to its inner rectangle;
- thumbnails: 240, 160 and 120 px on the long side, as galleries and srcsets serve them;
- periodic textures: the everyday edits issue 14 names (JPEG q35, 40% downscale, WebP, gamma, brightness,
  noise), made of the fine periodic-texture references.

A row's edit is ``make(picture, rng, fillers) -> bytes``: deterministic for the rng's seed, so a row
means the same thing on every run. Rows are found by `Row.key` (workers get keys, not functions).
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from PIL import Image, ImageDraw, ImageOps

from simsites.transforms import EVERYDAY, HARD, IMAGE_EDITS, ImageEdit, collage, encode

Make = Callable[[Image.Image, random.Random, Sequence[Image.Image]], bytes]

EVERYDAY_GROUP = "everyday"
HARD_GROUP = "crop, pad, rotate, screenshot, collage"
OVERLAY_GROUP = "overlays, crops, collages (issue 14)"
THUMBNAIL_GROUP = "thumbnails"
TEXTURE_GROUP = "periodic textures"
CAPTIONS = ("look what turned up", "the full set is in the link below", "new upload, more in bio",
            "the one everyone asked for", "saved before it was deleted")  # fmt: skip
SITE_NAMES = ("HOTTUBE", "LEAKSPOT", "CLIPZONE", "XPICS")


@dataclass(frozen=True)
class Row:
    """One row of the table. ``fillers``: the other pictures its edit needs (a collage's tiles);
    ``textures``: made of the periodic-texture references rather than of the photographs."""

    group: str
    name: str
    make: Make
    fillers: int = 0
    textures: bool = False

    @property
    def key(self) -> str:
        return f"{self.group}: {self.name}"

    @property
    def label(self) -> str:
        return f"texture: {self.name}" if self.textures else self.name


def _encoded(edit: ImageEdit) -> Make:
    def make(image: Image.Image, rng: random.Random, _: Sequence[Image.Image]) -> bytes:
        return encode(edit.apply(image, rng), edit.fmt, edit.quality)

    return make


def _grid_collage(image: Image.Image, rng: random.Random, fillers: Sequence[Image.Image]) -> bytes:
    return encode(collage(image, rng, fillers))


def caption_bar(image: Image.Image, rng: random.Random, _: Sequence[Image.Image]) -> bytes:
    """A plain band over the top 10-20% of the picture with a line of text, as meme captions are."""
    marked = image.convert("RGB")
    w, h = marked.size
    band = max(8, round(h * rng.uniform(0.10, 0.20)))
    paper, ink = rng.choice((((255, 255, 255), (0, 0, 0)), ((0, 0, 0), (255, 255, 255)), ((250, 214, 60), (20, 20, 20))))
    draw = ImageDraw.Draw(marked)
    draw.rectangle((0, 0, w, band), fill=paper)
    text = rng.choice(CAPTIONS)
    size = max(6, round(band * 0.5))
    while size > 6 and draw.textlength(text, font_size=size) > w * 0.92:
        size -= 1
    x = (w - draw.textlength(text, font_size=size)) / 2
    draw.text((x, (band - size) / 2), text, fill=ink, font_size=size)
    return encode(marked, "JPEG", 85)


@cache
def _logo_mark() -> Image.Image:
    """perception's sample logo (LogoIpsum, free to use), shipped in its wheel."""
    path = resources.files("perception") / "testing" / "logos" / "logoipsum.png"
    with path.open("rb") as file:
        return Image.open(file).convert("RGBA")


def corner_logo(image: Image.Image, rng: random.Random, _: Sequence[Image.Image]) -> bytes:
    """A site's badge in one corner, covering 10-25% of the picture: a coloured panel, a logo, a name."""
    marked = image.convert("RGB")
    w, h = marked.size
    area = rng.uniform(0.10, 0.25) * w * h
    aspect = rng.uniform(1.0, 2.2)
    lw = min(round(math.sqrt(area * aspect)), round(w * 0.75))
    lh = min(round(area / lw), round(h * 0.75))
    badge = Image.new("RGBA", (lw, lh), (rng.randint(120, 230), rng.randint(0, 60), rng.randint(40, 120), rng.randint(200, 255)))
    mark = _logo_mark().copy()
    mark.thumbnail((round(lw * 0.8), round(lh * 0.55)), Image.Resampling.LANCZOS)
    badge.paste(mark, ((lw - mark.width) // 2, round(lh * 0.08)), mark)
    draw = ImageDraw.Draw(badge)
    name = rng.choice(SITE_NAMES)
    size = max(6, round(lh * 0.22))
    while size > 6 and draw.textlength(name, font_size=size) > lw * 0.9:
        size -= 1
    draw.text(((lw - draw.textlength(name, font_size=size)) / 2, round(lh * 0.7)), name, fill=(255, 255, 255, 255), font_size=size)
    margin = round(min(w, h) * 0.02)
    x = margin if rng.random() < 0.5 else w - lw - margin
    y = margin if rng.random() < 0.5 else h - lh - margin
    marked.paste(badge, (max(0, x), max(0, y)), badge)
    return encode(marked, "JPEG", 85)


def square_collage(image: Image.Image, rng: random.Random, fillers: Sequence[Image.Image]) -> bytes:
    """The picture as one tile of a 2x2 grid of squares: every tile cropped to fit and scaled to 400 px."""
    tiles = [image, *fillers[:3]]
    rng.shuffle(tiles)
    side, gap = 400, rng.choice((0, 4, 10))
    grid = Image.new("RGB", (2 * side + 3 * gap, 2 * side + 3 * gap), rng.choice(((255, 255, 255), (0, 0, 0), (34, 34, 40))))
    for i, tile in enumerate(tiles):
        square = ImageOps.fit(tile.convert("RGB"), (side, side), Image.Resampling.LANCZOS)
        grid.paste(square, (gap + (i % 2) * (side + gap), gap + (i // 2) * (side + gap)))
    return encode(grid, "JPEG", 85)


def crop_one_side(image: Image.Image, rng: random.Random, _: Sequence[Image.Image]) -> bytes:
    """20% cut from one side, any of the four."""
    w, h = image.size
    box = rng.choice(((round(w * 0.2), 0, w, h), (0, 0, w - round(w * 0.2), h), (0, round(h * 0.2), w, h), (0, 0, w, h - round(h * 0.2))))
    return encode(image.crop(box))


def crop_top_left(image: Image.Image, _: random.Random, __: Sequence[Image.Image]) -> bytes:
    """15% cut from the top and 15% from the left: the lower right 85% x 85% kept."""
    w, h = image.size
    return encode(image.crop((round(w * 0.15), round(h * 0.15), w, h)))


def rotate_cropped(image: Image.Image, rng: random.Random, _: Sequence[Image.Image]) -> bytes:
    """Turned 3° either way and cropped to the largest centred rectangle of the same shape with no
    corner showing, as a photo editor's straighten does."""
    angle = 3.0 if rng.random() < 0.5 else -3.0
    w, h = image.size
    t = math.radians(abs(angle))
    scale = min(w / (w * math.cos(t) + h * math.sin(t)), h / (w * math.sin(t) + h * math.cos(t)))
    cw, ch = round(w * scale), round(h * scale)
    turned = image.rotate(angle, Image.Resampling.BICUBIC)
    return encode(turned.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)))


def thumbnail(long_side: int) -> Make:
    def make(image: Image.Image, _: random.Random, __: Sequence[Image.Image]) -> bytes:
        factor = long_side / max(image.size)
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        return encode(image.resize(size, Image.Resampling.LANCZOS), "JPEG", 85)

    return make


def downscale(factor: float) -> Make:
    def make(image: Image.Image, _: random.Random, __: Sequence[Image.Image]) -> bytes:
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        return encode(image.resize(size, Image.Resampling.LANCZOS))

    return make


ROWS: tuple[Row, ...] = (
    *(Row(EVERYDAY_GROUP, edit.name, _encoded(edit)) for edit in EVERYDAY),
    *(Row(HARD_GROUP, edit.name, _encoded(edit)) for edit in HARD),
    Row(HARD_GROUP, "collage 2x2", _grid_collage, fillers=3),
    Row(OVERLAY_GROUP, "caption bar (top 10-20%)", caption_bar),
    Row(OVERLAY_GROUP, "corner logo (10-25%)", corner_logo),
    Row(OVERLAY_GROUP, "collage 2x2, square tiles", square_collage, fillers=3),
    Row(OVERLAY_GROUP, "crop 20% one side", crop_one_side),
    Row(OVERLAY_GROUP, "crop 15% top-left", crop_top_left),
    Row(OVERLAY_GROUP, "rotate 3, cropped", rotate_cropped),
    *(Row(THUMBNAIL_GROUP, f"thumbnail {side} px", thumbnail(side)) for side in (240, 160, 120)),
    Row(TEXTURE_GROUP, "jpeg q35", _encoded(dataclasses.replace(IMAGE_EDITS["jpeg q30"], name="jpeg q35", quality=35)), textures=True),
    Row(TEXTURE_GROUP, "downscale 40%", downscale(0.6), textures=True),
    *(Row(TEXTURE_GROUP, name, _encoded(IMAGE_EDITS[name]), textures=True)
      for name in ("webp", "gamma 1.6", "brightness +30%", "noise")),
)  # fmt: skip
ROWS_BY_KEY: dict[str, Row] = {row.key: row for row in ROWS}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(row.group for row in ROWS))
