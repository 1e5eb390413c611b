"""What uploaders do to a picture: the edits the accuracy benchmark and the tests apply to references.

Each edit is a pure function of the picture (and, for collages, of a few filler pictures), deterministic
for a given seed, so a benchmark row means the same thing on every run.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

Edit = Callable[[Image.Image, random.Random], Image.Image]


@dataclass(frozen=True)
class ImageEdit:
    """One row of the benchmark. ``everyday`` edits keep the whole picture; the others cut or embed it."""

    name: str
    apply: Edit
    everyday: bool
    fmt: str = "JPEG"
    quality: int = 90

    def bytes_of(self, image: Image.Image, seed: int = 0) -> bytes:
        return encode(self.apply(image, random.Random(seed)), self.fmt, self.quality)


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, fmt, quality=quality)
    elif fmt == "WEBP":
        image.save(buffer, fmt, quality=quality)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def _same(image: Image.Image, _: random.Random) -> Image.Image:
    return image


def _scale(factor: float) -> Edit:
    def edit(image: Image.Image, _: random.Random) -> Image.Image:
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        return image.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)

    return edit


def _gamma(gamma: float) -> Edit:
    table = [round(255 * (i / 255) ** gamma) for i in range(256)] * 3

    def edit(image: Image.Image, _: random.Random) -> Image.Image:
        return image.point(table)

    return edit


def _enhance(kind: type[ImageEnhance._Enhance], factor: float) -> Edit:
    def edit(image: Image.Image, _: random.Random) -> Image.Image:
        return kind(image).enhance(factor)  # type: ignore[call-arg]

    return edit


def _blur(image: Image.Image, _: random.Random) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(1.5))


def _noise(image: Image.Image, rng: random.Random) -> Image.Image:
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 10, (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))


def _mirror(image: Image.Image, _: random.Random) -> Image.Image:
    return ImageOps.mirror(image)


def _text(image: Image.Image, rng: random.Random) -> Image.Image:
    marked = image.copy()
    draw = ImageDraw.Draw(marked, "RGBA")
    w, h = marked.size
    size = max(12, h // 14)
    for line in range(2):
        y = rng.randint(0, h // 3) + line * (h // 2)
        draw.text((w // 12, y), "leaked.example  #new", fill=(255, 255, 255, 230), font_size=size, stroke_width=2,
                  stroke_fill=(0, 0, 0, 230))  # fmt: skip
    return marked


def _logo(image: Image.Image, rng: random.Random) -> Image.Image:
    marked = image.copy()
    draw = ImageDraw.Draw(marked, "RGBA")
    w, h = marked.size
    lw, lh = w // 4, h // 7
    x, y = (w - lw - w // 30, h - lh - h // 30) if rng.random() < 0.5 else (w // 30, h // 30)
    draw.rounded_rectangle((x, y, x + lw, y + lh), radius=lh // 4, fill=(200, 30, 60, 200))
    draw.text((x + lw // 10, y + lh // 4), "HOTTUBE", fill=(255, 255, 255, 255), font_size=max(10, lh // 2))
    return marked


def _crop(fraction: float) -> Edit:
    """Cut ``fraction`` of the width and of the height away, unevenly between the two sides."""

    def edit(image: Image.Image, rng: random.Random) -> Image.Image:
        w, h = image.size
        cut_w, cut_h = round(w * fraction), round(h * fraction)
        left, top = round(cut_w * rng.uniform(0.2, 0.8)), round(cut_h * rng.uniform(0.2, 0.8))
        return image.crop((left, top, left + w - cut_w, top + h - cut_h))

    return edit


def _pad(fraction: float) -> Edit:
    """Add a plain border that makes the picture ``fraction`` wider and taller, as letterboxing does."""

    def edit(image: Image.Image, rng: random.Random) -> Image.Image:
        w, h = image.size
        pad_w, pad_h = round(w * fraction), round(h * fraction)
        colour = rng.choice(((0, 0, 0), (255, 255, 255), (24, 24, 32), (240, 236, 230)))
        canvas = Image.new("RGB", (w + pad_w, h + pad_h), colour)
        canvas.paste(image, (round(pad_w * rng.uniform(0.3, 0.7)), round(pad_h * rng.uniform(0.3, 0.7))))
        return canvas

    return edit


def _rotate(degrees: float) -> Edit:
    def edit(image: Image.Image, rng: random.Random) -> Image.Image:
        angle = degrees if rng.random() < 0.5 else -degrees
        return image.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))

    return edit


def screenshot(image: Image.Image, rng: random.Random) -> Image.Image:
    """The picture shown at about half a 1280x900 page, among a header, a sidebar and lines of text."""
    page = Image.new("RGB", (1280, 900), (250, 250, 250))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1280, 64), fill=(36, 41, 56))
    draw.text((24, 20), "forum.example  >  pictures  >  new", fill=(230, 230, 230), font_size=22)
    draw.rectangle((980, 90, 1260, 880), fill=(235, 238, 242))
    for row in range(12):
        draw.rectangle((1000, 110 + row * 60, 1000 + rng.randint(120, 240), 126 + row * 60), fill=(190, 195, 205))
    target_w = rng.randint(560, 760)
    shown = image.resize((target_w, round(image.height * target_w / image.width)), Image.Resampling.LANCZOS)
    if shown.height > 620:
        shown = shown.resize((round(shown.width * 620 / shown.height), 620), Image.Resampling.LANCZOS)
    x, y = rng.randint(30, 960 - shown.width), rng.randint(140, 880 - shown.height)
    page.paste(shown, (x, y))
    draw.text((x, y - 36), "new upload, 2 minutes ago", fill=(40, 40, 40), font_size=20)
    return page


def collage(image: Image.Image, rng: random.Random, fillers: Sequence[Image.Image]) -> Image.Image:
    """The picture as one tile of a 2x2 grid, the other tiles ``fillers``."""
    tiles = [image, *fillers[:3]]
    rng.shuffle(tiles)
    tw, th = 480, 360
    grid = Image.new("RGB", (2 * tw + 12, 2 * th + 12), (255, 255, 255))
    for i, tile in enumerate(tiles):
        grid.paste(ImageOps.fit(tile, (tw, th), Image.Resampling.LANCZOS), (4 + (i % 2) * (tw + 4), 4 + (i // 2) * (th + 4)))
    return grid


EVERYDAY: tuple[ImageEdit, ...] = (
    ImageEdit("jpeg q30", _same, True, quality=30),
    ImageEdit("jpeg q60", _same, True, quality=60),
    ImageEdit("jpeg q90", _same, True, quality=90),
    ImageEdit("resize 0.3x", _scale(0.3), True),
    ImageEdit("resize 0.5x", _scale(0.5), True),
    ImageEdit("resize 2x", _scale(2.0), True),
    ImageEdit("webp", _same, True, fmt="WEBP", quality=70),
    ImageEdit("png", _same, True, fmt="PNG"),
    ImageEdit("gamma 0.6", _gamma(0.6), True),
    ImageEdit("gamma 1.6", _gamma(1.6), True),
    ImageEdit("brightness +30%", _enhance(ImageEnhance.Brightness, 1.3), True),
    ImageEdit("contrast -30%", _enhance(ImageEnhance.Contrast, 0.7), True),
    ImageEdit("blur", _blur, True),
    ImageEdit("noise", _noise, True),
    ImageEdit("mirror", _mirror, True),
    ImageEdit("text overlay", _text, True),
    ImageEdit("logo overlay", _logo, True),
)

HARD: tuple[ImageEdit, ...] = (
    ImageEdit("crop 5%", _crop(0.05), False),
    ImageEdit("crop 10%", _crop(0.10), False),
    ImageEdit("crop 20%", _crop(0.20), False),
    ImageEdit("pad 10%", _pad(0.10), False),
    ImageEdit("pad 30%", _pad(0.30), False),
    ImageEdit("rotate 2", _rotate(2), False),
    ImageEdit("rotate 5", _rotate(5), False),
    ImageEdit("rotate 10", _rotate(10), False),
    ImageEdit("screenshot", screenshot, False),
)

IMAGE_EDITS: dict[str, ImageEdit] = {edit.name: edit for edit in (*EVERYDAY, *HARD)}
