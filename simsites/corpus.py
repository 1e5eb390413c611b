"""The pictures the simulated sites serve: case references, planted re-uploads, unrelated images.

References are scikit-image sample photographs without people. Distractors are the other people-free
samples plus procedurally generated pictures, so no test or demo ever needs a real person's image.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

REFERENCE_NAMES = ("coffee", "chelsea", "rocket")
DISTRACTOR_SAMPLES = (
    "brick", "cell", "clock", "coins", "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina", "text",
)  # fmt: skip


def sample_image(name: str) -> Image.Image:
    """A scikit-image sample (shipped in its wheel, no download) as an RGB picture."""
    from skimage import data

    pixels = np.asarray(getattr(data, name)())
    if pixels.dtype != np.uint8:
        pixels = (pixels.astype(np.float64) / max(float(pixels.max()), 1.0) * 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    return image.convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buffer, fmt, quality=quality)
    else:
        image.save(buffer, fmt, quality=quality) if fmt == "WEBP" else image.save(buffer, fmt)
    return buffer.getvalue()


@dataclass(frozen=True)
class Transform:
    """A realistic change an uploader makes; ``apply`` returns the file bytes and their extension."""

    name: str
    apply: Callable[[Image.Image], tuple[bytes, str]]


def _reencode(image: Image.Image) -> tuple[bytes, str]:
    return encode(image, "JPEG", quality=35), "jpg"


def _resize(image: Image.Image) -> tuple[bytes, str]:
    small = image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)
    return encode(small, "JPEG", quality=80), "jpg"


def _mirror(image: Image.Image) -> tuple[bytes, str]:
    return encode(ImageOps.mirror(image), "PNG"), "png"


def _watermark(image: Image.Image) -> tuple[bytes, str]:
    marked = image.copy()
    draw = ImageDraw.Draw(marked, "RGBA")
    w, h = marked.size
    draw.rectangle((w - w // 3, h - h // 8, w - 8, h - 8), fill=(0, 0, 0, 150))
    draw.text((w - w // 3 + 10, h - h // 8 + 6), "hot-uploads.example", fill=(255, 255, 255, 230))
    return encode(marked, "JPEG", quality=85), "jpg"


def _webp(image: Image.Image) -> tuple[bytes, str]:
    return encode(image, "WEBP", quality=70), "webp"


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("reencoded", _reencode),
        Transform("resized", _resize),
        Transform("mirrored", _mirror),
        Transform("watermarked", _watermark),
        Transform("webp", _webp),
    )
}


def generated_image(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A deterministic, varied synthetic picture: gradient, shapes and texture, different per seed."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / w + np.sin(angle) * ys / h + 1) / 2
    base = np.stack([ramp * rng.uniform(40, 255) + rng.uniform(0, 60) for _ in range(3)], axis=-1)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(4, 14)):
        box = sorted((rng.randint(0, w), rng.randint(0, w))), sorted((rng.randint(0, h), rng.randint(0, h)))
        xy = (box[0][0], box[1][0], box[0][1] + 4, box[1][1] + 4)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        shape = rng.choice(("ellipse", "rectangle", "line"))
        if shape == "ellipse":
            draw.ellipse(xy, fill=colour)
        elif shape == "rectangle":
            draw.rectangle(xy, fill=colour)
        else:
            draw.line(xy, fill=colour, width=rng.randint(2, 12))
    noise = nprng.normal(0, rng.uniform(2, 18), (h, w, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))


def distractors(count: int) -> Iterator[tuple[str, Image.Image]]:
    """Unrelated pictures: every people-free scikit-image sample, then generated ones."""
    for name in DISTRACTOR_SAMPLES:
        if count <= 0:
            return
        yield name, sample_image(name)
        count -= 1
    for seed in range(count):
        yield f"generated-{seed}", generated_image(seed)
