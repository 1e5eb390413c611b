"""Generated textures for the accuracy benchmark (`benchmarks.corpus`): periodic patterns, interference,
noise, flat gradients and cell mosaics, each a pure function of a seed.

Periodic textures are the pictures a new signal would most likely confuse: fine stripes, checks, grids
and dot lattices at any angle look nearly flat to a 64x64 hash, and their keypoints all look alike. So
the distractors hold many of them (periods of 2-40 px, every angle), and a few fine ones are references
(`fine_texture`, seeded apart). Nothing here is shared with the tests' fixtures (`simsites.corpus`).
"""

from __future__ import annotations

import random

import cv2
import numpy as np
from PIL import Image, ImageFilter

Pixels = np.ndarray  # float64 (h, w, 3), 0-255

ASPECTS = (4 / 3, 3 / 2, 16 / 9, 1.0, 3 / 4, 2 / 3, 9 / 16)
PATTERNS = ("stripes", "checks", "grid", "dots", "waves", "zigzag", "plaid")


def rngs(family: str, seed: int) -> tuple[random.Random, np.random.Generator]:
    """Both random generators of one picture, derived from its family and seed: two families never share
    a sequence, whatever their seeds (string seeding is the same in every process)."""
    rng = random.Random(f"{family}:{seed}")
    return rng, np.random.default_rng(rng.getrandbits(64))


def canvas(rng: random.Random, long_side: tuple[int, int]) -> tuple[int, int]:
    """A width and height: the long side in ``long_side``, a common photo or screen aspect."""
    long = rng.randint(*long_side)
    aspect = rng.choice(ASPECTS)
    return (long, round(long / aspect)) if aspect >= 1 else (round(long * aspect), long)


def colour(rng: random.Random, low: int = 0, high: int = 255) -> np.ndarray:
    return np.array([rng.randint(low, high) for _ in range(3)], dtype=np.float64)


def to_image(pixels: Pixels) -> Image.Image:
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def spectral_noise(shape: tuple[int, int], beta: float, nprng: np.random.Generator) -> np.ndarray:
    """Noise with power falling as 1/f**beta (0: white, 2: clouds, 3: smooth hills), scaled to 0-1."""
    h, w = shape
    f = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :])
    f[0, 0] = 1.0
    spectrum = (nprng.normal(size=f.shape) + 1j * nprng.normal(size=f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=(h, w))
    low, high = np.percentile(field, (0.5, 99.5))
    return np.asarray(np.clip((field - low) / max(high - low, 1e-9), 0, 1), dtype=np.float64)


def palette(values: np.ndarray, rng: random.Random, stops: int | None = None) -> Pixels:
    """Map 0-1 values through a random colour ramp of a few stops."""
    count = stops or rng.randint(2, 5)
    points = np.linspace(0, 1, count)
    ramp = [colour(rng) for _ in range(count)]
    return np.stack([np.interp(values, points, [c[k] for c in ramp]) for k in range(3)], axis=-1)


def _coordinates(w: int, h: int, angle: float, scale: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h * scale, 0:w * scale].astype(np.float64) / scale
    c, s = np.cos(angle), np.sin(angle)
    return xs * c + ys * s, -xs * s + ys * c


def pattern(kind: str, size: tuple[int, int], period: float, angle: float, rng: random.Random) -> np.ndarray:
    """A periodic 0-1 pattern, drawn at twice the size and averaged down (anti-aliased)."""
    w, h = size
    u, v = _coordinates(w, h, angle, 2)
    phase = rng.random()
    duty = rng.uniform(0.3, 0.7)
    if kind == "stripes":
        field = ((u / period + phase) % 1 < duty).astype(np.float64)
    elif kind == "checks":
        field = ((np.floor(u / period + phase) + np.floor(v / period)) % 2).astype(np.float64)
    elif kind == "grid":
        width = rng.uniform(0.1, 0.35)
        field = (((u / period + phase) % 1 < width) | ((v / period) % 1 < width)).astype(np.float64)
    elif kind == "dots":
        du, dv = (u / period + phase) % 1 - 0.5, (v / period) % 1 - 0.5
        field = (np.hypot(du, dv) < rng.uniform(0.2, 0.45)).astype(np.float64)
    elif kind == "waves":
        field = 0.5 + 0.5 * np.sin(2 * np.pi * (u / period + phase))
    elif kind == "zigzag":
        triangle = np.abs((v / (period * rng.uniform(2, 6))) % 1 - 0.5) * 2
        field = (((u + triangle * period * rng.uniform(1, 3)) / period + phase) % 1 < duty).astype(np.float64)
    else:  # plaid: two gratings of different periods across each other
        other = period * rng.uniform(1.5, 3)
        field = 0.5 * ((u / period + phase) % 1 < duty) + 0.5 * ((v / other) % 1 < 0.5)
    return np.asarray(field.reshape(h, 2, w, 2).mean(axis=(1, 3)), dtype=np.float64)


def periodic(seed: int, family: str = "periodic", periods: tuple[float, float] = (2.0, 40.0),
             long_side: tuple[int, int] = (320, 640)) -> Image.Image:  # fmt: skip
    """Stripes, checks, grids, dots, gratings, zigzags or plaid in two or more colours, at any period in
    ``periods`` (drawn log-uniformly, so fine ones are common) and any angle; half of them "photographed":
    lit unevenly, slightly bent, with sensor noise."""
    rng, nprng = rngs(family, seed)
    w, h = canvas(rng, long_side)
    period = float(np.exp(rng.uniform(np.log(periods[0]), np.log(periods[1]))))
    field = pattern(PATTERNS[seed % len(PATTERNS)], (w, h), period, rng.uniform(0, np.pi), rng)
    if rng.random() < 0.3:  # three or more colours: a colour per level of a quantised second pattern
        field = (field + pattern(rng.choice(PATTERNS), (w, h), period * rng.uniform(2, 5), rng.uniform(0, np.pi), rng)) / 2
    pixels = palette(field, rng, stops=2 if rng.random() < 0.6 else 3)
    if rng.random() < 0.5:
        ys, xs = np.mgrid[0:h, 0:w]
        light = 0.75 + 0.35 * (np.cos(rng.uniform(0, 2 * np.pi)) * xs / w + np.sin(rng.uniform(0, 2 * np.pi)) * ys / h)
        pixels = pixels * light[..., None] + nprng.normal(0, rng.uniform(1, 6), pixels.shape)
    image = to_image(pixels)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    return image


def fine_texture(seed: int) -> Image.Image:
    """A reference of the "periodic textures" group: a fine pattern (2.5-8 px period), seeded apart from
    every distractor's."""
    return periodic(seed, family="reference-texture", periods=(2.5, 8.0), long_side=(480, 800))


def interference(seed: int) -> Image.Image:
    """Op-art and moiré: two to four gratings or ring patterns summed, then thresholded or coloured."""
    rng, _ = rngs("interference", seed)
    w, h = canvas(rng, (320, 640))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    field = np.zeros((h, w))
    for _ in range(rng.randint(2, 4)):
        period = rng.uniform(3, 30)
        if rng.random() < 0.4:
            cx, cy = rng.uniform(-0.5, 1.5) * w, rng.uniform(-0.5, 1.5) * h
            field += np.sin(2 * np.pi * np.hypot(xs - cx, ys - cy) / period)
        else:
            a = rng.uniform(0, np.pi)
            field += np.sin(2 * np.pi * (xs * np.cos(a) + ys * np.sin(a)) / period)
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-9)
    if rng.random() < 0.5:
        field = (field > 0.5).astype(np.float64)
    return to_image(palette(field, rng))


def noise(seed: int) -> Image.Image:
    """Noise of one kind: white, band-limited (blurred), 1/f, speckled, or grain over a flat colour."""
    rng, nprng = rngs("noise", seed)
    w, h = canvas(rng, (320, 640))
    kind = seed % 5
    if kind == 0:
        pixels = nprng.uniform(0, 255, (h, w, 3)) if rng.random() < 0.5 else np.repeat(nprng.uniform(0, 255, (h, w, 1)), 3, -1)
    elif kind == 1:
        return to_image(nprng.uniform(0, 255, (h, w, 3))).filter(ImageFilter.GaussianBlur(rng.uniform(1, 12)))
    elif kind == 2:
        pixels = palette(spectral_noise((h, w), rng.uniform(0.5, 1.5), nprng), rng)
    elif kind == 3:
        pixels = np.broadcast_to(colour(rng), (h, w, 3)).copy()
        speckle = nprng.random((h, w)) < rng.uniform(0.01, 0.2)
        pixels[speckle] = colour(rng)
    else:
        pixels = colour(rng) + nprng.normal(0, rng.uniform(4, 30), (h, w, 3))
    return to_image(pixels)


def flat(seed: int) -> Image.Image:
    """Almost no texture: a linear or radial gradient between two colours, faint noise, a vignette (PDQ's
    low-quality pictures)."""
    rng, nprng = rngs("flat", seed)
    w, h = canvas(rng, (320, 640))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = (np.cos(a) * xs / w + np.sin(a) * ys / h + 1) / 2
    else:
        t = np.clip(np.hypot(xs / w - rng.random(), ys / h - rng.random()) * rng.uniform(0.8, 2), 0, 1)
    a_colour, b_colour = colour(rng), colour(rng)
    pixels = a_colour + (b_colour - a_colour) * t[..., None]
    if rng.random() < 0.5:
        pixels *= (1 - 0.35 * np.hypot(xs / w - 0.5, ys / h - 0.5) ** 2)[..., None]
    return to_image(pixels + nprng.normal(0, rng.uniform(0, 2.5), pixels.shape))


def cells(seed: int) -> Image.Image:
    """A Voronoi mosaic: stones, tiles or cells, flat or shaded, with or without dark seams."""
    rng, nprng = rngs("cells", seed)
    w, h = canvas(rng, (320, 640))
    count = rng.randint(12, 600)
    points = np.ones((h, w), np.uint8)
    points[nprng.integers(0, h, count), nprng.integers(0, w, count)] = 0
    _, labels = cv2.distanceTransformWithLabels(points, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    seam = np.zeros((h, w), bool)
    seam[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    seam[1:, :] |= labels[1:, :] != labels[:-1, :]
    colours = palette(nprng.random(int(labels.max()) + 1), rng)
    pixels = colours[labels]
    if rng.random() < 0.5:  # shaded towards each cell's edge
        edge = cv2.distanceTransform((~seam).astype(np.uint8), cv2.DIST_L2, 3)
        pixels *= (0.6 + 0.4 * np.clip(edge / rng.uniform(2, 10), 0, 1))[..., None]
    if rng.random() < 0.5:
        width = rng.randint(1, 3)
        pixels[cv2.dilate(seam.astype(np.uint8), np.ones((width, width), np.uint8)) > 0] = colour(rng, 0, 60)
    return to_image(pixels + nprng.normal(0, rng.uniform(0, 6), pixels.shape))
