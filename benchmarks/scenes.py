"""Generated photo-like pictures for the accuracy benchmark (`benchmarks.corpus`): clouds and terrain,
landscapes, still lifes of lit objects, out-of-focus lights, documents and web pages, each a pure function
of a seed; and `scene`, the generated references, seeded apart from every distractor.

No people and no downloaded model: everything is drawn with numpy and Pillow.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from benchmarks.textures import Pixels, canvas, colour, palette, rngs, spectral_noise, to_image

LETTERS = "etaoinshrdlucmfwypvbgkqjxz"


def fractal(seed: int) -> Image.Image:
    """Clouds, terrain or marble: 1/f noise through a colour ramp, sometimes lit as a height map."""
    rng, nprng = rngs("fractal", seed)
    w, h = canvas(rng, (320, 640))
    heights = spectral_noise((h, w), rng.uniform(1.6, 3.2), nprng)
    pixels = palette(heights, rng)
    if rng.random() < 0.5:
        gy, gx = np.gradient(heights)
        a = rng.uniform(0, 2 * np.pi)
        pixels *= np.clip(1 + 40 * (gx * np.cos(a) + gy * np.sin(a)), 0.4, 1.6)[..., None]
    return to_image(pixels)


def _sky(w: int, h: int, rng: random.Random, nprng: np.random.Generator) -> Pixels:
    top, bottom = colour(rng, 20, 200), colour(rng, 120, 255)
    t = np.linspace(0, 1, h)[:, None, None]
    sky = np.broadcast_to(top + (bottom - top) * t, (h, w, 3)).copy()
    if rng.random() < 0.7:
        clouds = np.clip(spectral_noise((h, w), 2.6, nprng) * 1.8 - rng.uniform(0.5, 1.0), 0, 1)
        sky += (255 - sky) * clouds[..., None] * rng.uniform(0.4, 0.9)
    return sky


def landscape(seed: int, family: str = "landscape", long_side: tuple[int, int] = (320, 640)) -> Image.Image:
    """Sky, clouds, two to five mountain ridges paler with distance, textured; sometimes a sun or water."""
    rng, nprng = rngs(family, seed)
    w, h = canvas(rng, long_side)
    pixels = _sky(w, h, rng, nprng)
    if rng.random() < 0.4:
        ys, xs = np.mgrid[0:h, 0:w]
        sun = np.hypot(xs - rng.uniform(0.1, 0.9) * w, ys - rng.uniform(0.05, 0.4) * h) < rng.uniform(0.03, 0.08) * w
        pixels[sun] = colour(rng, 200, 255)
    ridges = rng.randint(2, 5)
    haze = colour(rng, 150, 230)
    rows = np.arange(h)[:, None]
    for k in range(ridges):
        base = h * (0.35 + 0.5 * (k + 1) / (ridges + 1))
        profile = base - (spectral_noise((1, w), rng.uniform(2.2, 3.2), nprng)[0] - 0.5) * h * rng.uniform(0.15, 0.45)
        below = rows >= profile[None, :]
        ground = colour(rng, 10, 160)
        depth = (ridges - k) / (ridges + 1)
        tone = ground + (haze - ground) * depth * 0.7
        texture = spectral_noise((h, w), rng.uniform(1.0, 2.2), nprng)[..., None] * rng.uniform(30, 90) - 30
        pixels = np.where(below[..., None], tone + texture * (1 - depth * 0.6), pixels)
    if rng.random() < 0.3:  # a lake: the lower part mirrored and darkened, with ripples
        line = int(h * rng.uniform(0.7, 0.85))
        depth = h - line
        source = pixels[max(0, line - depth):line][::-1]
        ripple = (np.sin(np.arange(depth) * rng.uniform(0.5, 1.5))[:, None] * 3).astype(int)
        cols = np.clip(np.arange(w)[None, :] + ripple, 0, w - 1)
        pixels[line:line + len(source)] = source[np.arange(len(source))[:, None], cols[: len(source)]] * 0.7
    return to_image(pixels + nprng.normal(0, rng.uniform(1, 5), pixels.shape))


def _sphere(pixels: Pixels, centre: tuple[float, float], radius: float, tint: np.ndarray, light: np.ndarray,
            rng: random.Random, nprng: np.random.Generator) -> None:  # fmt: skip
    """A lit ball, each its own: mottled by its own noise, glossy to its own degree (balls drawn alike
    would be one object in two pictures, which local features rightly match)."""
    h, w, _ = pixels.shape
    x0, x1 = max(0, int(centre[0] - radius)), min(w, int(centre[0] + radius) + 1)
    y0, y1 = max(0, int(centre[1] - radius)), min(h, int(centre[1] + radius) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    nx, ny = (xs - centre[0]) / radius, (ys - centre[1]) / radius
    inside = nx**2 + ny**2 < 1
    nz = np.sqrt(np.clip(1 - nx**2 - ny**2, 0, 1))
    lambert = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
    mottle = 1 + rng.uniform(0.2, 0.8) * (spectral_noise((y1 - y0, x1 - x0), rng.uniform(1.2, 2.6), nprng) - 0.5)
    gloss = lambert ** rng.uniform(8, 80) * rng.uniform(0.1, 0.7)
    shade = tint * (mottle * (0.15 + 0.85 * lambert))[..., None] + 255 * gloss[..., None]
    region = pixels[y0:y1, x0:x1]
    region[inside] = shade[inside]


def _box(pixels: Pixels, base: tuple[float, float], size: float, tint: np.ndarray, light: np.ndarray,
         rng: random.Random, nprng: np.random.Generator) -> None:  # fmt: skip
    """A box standing at ``base``: a front face of its own proportions and a slanted top, both mottled."""
    h, w, _ = pixels.shape
    bw, bh = size * rng.uniform(1.2, 2.8), size * rng.uniform(1.2, 2.8)
    x0, x1 = max(0, int(base[0] - bw / 2)), min(w, int(base[0] + bw / 2))
    y0, y1 = max(0, int(base[1] - bh)), min(h, int(base[1]))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    grain = rng.uniform(0.2, 0.7)
    front = 1 + grain * (spectral_noise((y1 - y0, x1 - x0), rng.uniform(1.0, 2.4), nprng) - 0.5)
    pixels[y0:y1, x0:x1] = tint * (0.45 + 0.45 * light[2]) * front[..., None]
    depth, slant = int(size * rng.uniform(0.2, 0.6)), rng.uniform(0.3, 1.2) * (1 if light[0] < 0 else -1)
    top = np.clip(tint * rng.uniform(1.05, 1.3), 0, 255)
    for k in range(depth):
        row = y0 - depth + k
        shift = int((depth - k) * slant)
        left, right = max(0, x0 + shift), min(w, x1 + shift)
        if 0 <= row < h and left < right:
            pixels[row, left:right] = top * (1 + grain * (nprng.random(right - left)[:, None] - 0.5) * 0.5)


def still_life(seed: int, family: str = "still-life", long_side: tuple[int, int] = (320, 640)) -> Image.Image:
    """A table top or wall (gradient or grain) and lit objects: shaded balls, boxes, their shadows."""
    rng, nprng = rngs(family, seed)
    w, h = canvas(rng, long_side)
    back = palette(spectral_noise((h, w), rng.uniform(1.2, 3.0), nprng), rng, stops=2)
    horizon = int(h * rng.uniform(0.3, 0.7))
    back[horizon:] = back[horizon:] * rng.uniform(0.5, 0.9) + colour(rng) * 0.2
    light = np.array([rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.0), 0.0])
    light[2] = np.sqrt(1 - light[0] ** 2 - light[1] ** 2)
    image = to_image(back)
    shadows = Image.new("L", (w, h), 0)
    shadow_draw = ImageDraw.Draw(shadows)
    boxes = []
    for _ in range(rng.randint(2, 9)):
        size = rng.uniform(0.05, 0.25) * min(w, h)
        x, y = rng.uniform(0, w), rng.uniform(horizon, h)
        offset = -light[0] * size * 0.8
        shadow_draw.ellipse((x - size + offset, y - size * 0.25, x + size + offset, y + size * 0.35), fill=rng.randint(90, 170))
        boxes.append((x, y, size))
    image = Image.composite(Image.new("RGB", (w, h), (10, 10, 10)), image, shadows.filter(ImageFilter.GaussianBlur(6)))
    pixels = np.asarray(image, dtype=np.float64).copy()
    for x, y, size in sorted(boxes, key=lambda b: b[1]):
        if rng.random() < 0.6:
            _sphere(pixels, (x, y - size), size, colour(rng, 40, 255), light, rng, nprng)
        else:
            _box(pixels, (x, y), size, colour(rng, 40, 255), light, rng, nprng)
    return to_image(pixels + nprng.normal(0, rng.uniform(1, 6), pixels.shape)).filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.0)))


def bokeh(seed: int) -> Image.Image:
    """Out-of-focus lights: discs and hexagons of colour, blurred, over a dark gradient."""
    rng, _ = rngs("bokeh", seed)
    w, h = canvas(rng, (320, 640))
    base = colour(rng, 0, 60)
    t = np.linspace(0, 1, h)[:, None, None]
    image = to_image(np.broadcast_to(base * (0.5 + t), (h, w, 3)))
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    hues = [tuple(int(c) for c in colour(rng, 80, 255)) for _ in range(rng.randint(1, 4))]
    for _ in range(rng.randint(15, 160)):
        r = rng.uniform(0.01, 0.08) * w
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        fill = (*rng.choice(hues), rng.randint(40, 200))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        else:
            draw.regular_polygon((x, y, r), 6, rotation=rng.uniform(0, 60), fill=fill)
    layer = layer.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 4)))
    image.paste(layer, (0, 0), layer)
    return image


def _words(rng: random.Random, count: int) -> str:
    return " ".join("".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 9))) for _ in range(count))


def document(seed: int) -> Image.Image:
    """A page of text: a heading, paragraphs, sometimes a table's rules or a figure; light or dark."""
    rng, nprng = rngs("document", seed)
    w, h = canvas(rng, (360, 720))
    dark = rng.random() < 0.25
    paper, ink = ((30, 32, 36), (220, 220, 215)) if dark else ((rng.randint(235, 255),) * 2 + (rng.randint(220, 250),), (20, 20, 30))
    image = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(image)
    size = rng.randint(10, 18)
    margin = rng.randint(12, w // 8)
    y = margin
    draw.text((margin, y), _words(rng, rng.randint(2, 6)).title(), fill=ink, font_size=size * 2)
    y += size * 3
    while y < h - margin - size:
        if rng.random() < 0.08:  # a figure or a table's rules
            box_h = rng.randint(h // 8, h // 3)
            if rng.random() < 0.5:
                figure = palette(spectral_noise((box_h, w - 2 * margin), 2.2, nprng), rng)
                image.paste(to_image(figure), (margin, y))
            else:
                for row in range(0, box_h, size + 6):
                    draw.line((margin, y + row, w - margin, y + row), fill=ink, width=1)
            y += box_h + size
            continue
        for _ in range(rng.randint(2, 8)):
            if y >= h - margin - size:
                break
            draw.text((margin, y), _words(rng, max(2, (w - 2 * margin) // (size * 4))), fill=ink, font_size=size)
            y += int(size * rng.uniform(1.3, 1.8))
        y += size
    return image


def webpage(seed: int) -> Image.Image:
    """A web page: a header bar with links, a sidebar, a grid of thumbnails (generated) with captions."""
    rng, nprng = rngs("webpage", seed)
    w, h = canvas(rng, (480, 900))
    back = tuple(int(c) for c in colour(rng, 200, 255)) if rng.random() < 0.7 else (24, 26, 32)
    text = (30, 30, 30) if sum(back) > 300 else (220, 220, 220)
    image = Image.new("RGB", (w, h), back)
    draw = ImageDraw.Draw(image)
    bar = rng.randint(36, 64)
    draw.rectangle((0, 0, w, bar), fill=tuple(int(c) for c in colour(rng, 0, 120)))
    draw.text((16, bar // 3), _words(rng, 1).upper() + "  " + _words(rng, 4), fill=(240, 240, 240), font_size=max(10, bar // 3))
    side = rng.randint(w // 8, w // 4) if rng.random() < 0.6 else 0
    if side:
        draw.rectangle((w - side, bar + 10, w - 8, h - 10), fill=tuple(max(0, c - 15) for c in back))
        for row in range(bar + 24, h - 30, 28):
            draw.text((w - side + 8, row), _words(rng, 2), fill=text, font_size=12)
    columns = rng.randint(2, 5)
    cell = (w - side - 16 * (columns + 1)) // columns
    y = bar + 16
    while y + cell < h:
        for k in range(columns):
            x = 16 + k * (cell + 16)
            tile = palette(spectral_noise((cell * 3 // 4, cell), rng.uniform(1.5, 3), nprng), rng)
            image.paste(to_image(tile), (x, y))
            draw.text((x, y + cell * 3 // 4 + 4), _words(rng, 3), fill=text, font_size=11)
        y += cell * 3 // 4 + 32
    return image


def scene(seed: int) -> Image.Image:
    """A generated reference: a landscape or a still life drawn larger (480-960 px) and seeded apart from
    every distractor, with grain and fine detail, as a photograph has."""
    rng, nprng = rngs("reference-scene", seed)
    draw = landscape if seed % 2 == 0 else still_life
    image = draw(seed, family="reference-scene", long_side=(480, 960))
    detail = spectral_noise((image.height, image.width), rng.uniform(0.8, 1.4), nprng)[..., None] * rng.uniform(10, 30)
    return to_image(np.asarray(image, dtype=np.float64) + detail - detail.mean())
