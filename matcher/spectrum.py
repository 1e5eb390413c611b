"""Spectrum signatures: the signal of a periodic picture (a fabric, stripes, checks, a fine grid), which
PDQ and keypoints cannot hold.

PDQ sees a picture through a 64x64 reduction: a pattern finer than that aliases into bits that flip with
every re-encoding, and a repeating pattern's keypoints all look alike. What survives re-encoding, a
downscale, gamma, brightness and noise is where the pattern's energy sits in the Fourier spectrum. Counted
in cycles per picture, a peak stays on the same frequency bin whatever size the copy is shown at (until
the copy is too small to show it; then it folds to a predictable alias, or vanishes). A signature is the
strongest such peaks, the picture's shape and its mean colour. A picture without prominent peaks (every
ordinary photograph) has no signature, so the signal costs nothing in matching where it cannot help.

The rule (`agreement`) and its constants were set on the accuracy benchmark's periodic-texture rows and
its 10,000 distractors, two thousand of them generated periodic patterns and interference: zero false
matches there. It is consulted only when no other signal found a match (`matcher.matcher`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.fft
from PIL import Image

from matcher.errors import InvalidSignal
from matcher.signal import Signal

if TYPE_CHECKING:
    from matcher.picture import Picture

# Pictures are box-reduced to this long side first: an FFT of a bounded picture costs a few ms, and only
# patterns finer than about 2 px of a larger picture are lost.
MAX_SIDE = 1024
# Frequencies below this many cycles per picture are lighting and layout, not a pattern.
LOW_CYCLES = 6
PEAKS = 8
RINGS = 48
MAX_CANDIDATES = 4096
# A peak's power over the usual power of its frequency (`_background`). A copy's peaks count from
# PEAK_PROMINENCE (a re-encoded or noisy texture's fall to a few thousand); a reference keeps a signature
# only when its strongest reaches REFERENCE_PROMINENCE: fine textures reach hundreds of thousands, while
# photographs, documents and screenshots stay below (their strongest: a few thousand at most).
PEAK_PROMINENCE = 2_000.0
REFERENCE_PROMINENCE = 20_000.0
MAX_PROMINENCE = 999_999_999  # kept as at most nine digits: beyond that, only the order of peaks matters
MIN_CONTRAST = 2.0  # standard deviation of the gray levels
# The shortest side with a signature: a thumbnail's few bins hold JPEG's noise as often as a pattern (a
# 64 px thumbnail of a flat gradient agreed with a texture on one peak), and a fine pattern is gone from it.
MIN_SIDE = 96
# Peaks within this factor of the strongest are the copy's dominant ones, each of which has to coincide.
DOMINANT = 20.0
MIN_SHARE = 0.5  # of the dominant peaks' prominence, on the reference's peaks
MAX_ASPECT_LOG = 0.03  # |log(w/h) - log(w'/h')|: a re-encoded or rescaled copy keeps its shape
MAX_HUE_DEGREES = 25.0
GREY_CHROMA = 8.0  # mean-colour chroma (YCbCr, 0-255) below which a picture counts as grey
_TEXT = re.compile(r"v1;(\d{1,5})x(\d{1,5});(\d{1,3}),(\d{1,3}),(\d{1,3});((?:-?\d{1,5},-?\d{1,5},\d{1,9}\|?){1,16})")


@dataclass(frozen=True, slots=True)
class Peak:
    """A spectral peak in cycles per picture width (``fx`` >= 0) and height, and its prominence."""

    fx: int
    fy: int
    prominence: int


@dataclass(frozen=True, slots=True)
class Spectrum:
    """The signature: the analysed picture's size, its mean RGB colour, its strongest peaks, strongest first."""

    width: int
    height: int
    colour: tuple[int, int, int]
    peaks: tuple[Peak, ...]

    def to_text(self) -> str:
        peaks = "|".join(f"{p.fx},{p.fy},{p.prominence}" for p in self.peaks)
        return f"v1;{self.width}x{self.height};{','.join(map(str, self.colour))};{peaks}"

    @classmethod
    def from_text(cls, text: str) -> Spectrum:
        found = _TEXT.fullmatch(text.strip())
        if found is None:
            raise InvalidSignal(f"spectrum signature is not readable: {text[:80]!r}")
        width, height, red, green, blue = (int(found.group(i)) for i in range(1, 6))
        peaks = tuple(Peak(*map(int, part.split(","))) for part in found.group(6).strip("|").split("|"))
        return cls(width, height, (red, green, blue), peaks)


def signature(picture: Image.Image, *, strongest_at_least: float = PEAK_PROMINENCE) -> Spectrum | None:
    """The signature of an RGB picture, or None when its strongest periodic peak is less prominent than
    ``strongest_at_least``."""
    factor = math.ceil(max(picture.size) / MAX_SIDE)
    small = picture.reduce(factor) if factor > 1 else picture
    gray = np.asarray(small.convert("L"), dtype=np.float32)
    height, width = gray.shape
    if min(height, width) < MIN_SIDE or gray.std() < MIN_CONTRAST:
        return None  # a thumbnail, or flat: its "peaks" would be the encoder's noise
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    power = np.abs(scipy.fft.rfft2((gray - gray.mean()) * window)) ** 2
    fy = np.fft.fftfreq(height, 1 / height).round().astype(int)[:, None]
    fx = np.arange(power.shape[1])[None, :]
    ignored = ((fx < LOW_CYCLES) & (np.abs(fy) < LOW_CYCLES)) | ((fx == 0) & (fy <= 0)) | _jpeg_grid(fx, fy, picture.size)
    power[ignored] = 0.0
    prominence = power / _background(power, fx / width, fy / height, ignored)
    ys, xs = np.nonzero(prominence >= PEAK_PROMINENCE)
    if len(ys) > MAX_CANDIDATES:  # noise-like spectra: only the most prominent can be among the peaks kept
        keep = np.argsort(prominence[ys, xs])[-MAX_CANDIDATES:]
        ys, xs = ys[keep], xs[keep]
    ys, xs = _local_maxima(power, ys, xs)
    if not len(ys) or prominence[ys, xs].max() < strongest_at_least:
        return None
    order = np.argsort(prominence[ys, xs])[::-1]
    found = (Peak(int(xs[i]), int(fy[ys[i], 0]), int(min(prominence[ys[i], xs[i]], MAX_PROMINENCE))) for i in order)
    peaks = tuple(_without_block_sidebands(found, (width, height), picture.size))
    colour = tuple(int(round(c)) for c in np.asarray(small, dtype=np.float32).reshape(-1, 3).mean(axis=0))
    return Spectrum(width, height, (colour[0], colour[1], colour[2]), peaks)


def _without_block_sidebands(peaks: Iterable[Peak], size: tuple[int, int], full: tuple[int, int]) -> Iterator[Peak]:
    """The strongest PEAKS of ``peaks`` (strongest first), less each that is a stronger one moved by a
    multiple of an eighth of the full picture along an axis: JPEG's block grid modulates a pattern and
    leaves such copies of its peaks, which belong to the encoding, not to the picture."""
    kept: list[Peak] = []
    steps = [(k * full[0] / 8, 0.0) for k in range(1, 8)] + [(0.0, k * full[1] / 8) for k in range(1, 8)]
    for peak in peaks:
        if len(kept) == PEAKS:
            return
        moved = (Peak(round(p.fx + dx), round(p.fy + dy), 0) for p in kept for dx, dy in steps)
        if not any(_coincide(peak, m, size) for m in moved):
            kept.append(peak)
            yield peak


def _local_maxima(power: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bins among ``ys``, ``xs`` that no bin within two of them outpowers (rows wrap: they are
    signed frequencies)."""
    dy, dx = (d.ravel() for d in np.mgrid[-2:3, -2:3])
    around = power[(ys[:, None] + dy) % power.shape[0], np.clip(xs[:, None] + dx, 0, power.shape[1] - 1)]
    top = power[ys, xs] >= around.max(axis=1)
    return ys[top], xs[top]


def _background(power: np.ndarray, u: np.ndarray, v: np.ndarray, ignored: np.ndarray) -> np.ndarray:
    """The spectrum's usual power at each bin's frequency: the median over its ring (radius in cycles per
    pixel, 48 rings). Photographs fall off as 1/f**2; a peak is prominent against its own ring, not against
    the whole spectrum, or every photograph's low frequencies would be peaks."""
    radius = np.broadcast_to(np.hypot(u, v), power.shape)
    ring = np.minimum((radius / 0.708 * RINGS).astype(np.int32), RINGS - 1)
    kept = ~ignored[::2, ::2]  # every fourth bin is plenty for a median, at a quarter of the sorting
    values, rings = power[::2, ::2][kept], ring[::2, ::2][kept]
    order = np.lexsort((values, rings))  # by ring, then by power: each ring's median is its middle element
    values, rings = values[order], rings[order]
    bounds = np.searchsorted(rings, np.arange(RINGS + 1))
    middle = (bounds[:-1] + bounds[1:]) // 2
    medians = np.where(bounds[1:] > bounds[:-1], values[np.minimum(middle, len(values) - 1)], 0.0)
    floor = max(float(np.median(values)), 1e-12) * 1e-3
    background: np.ndarray = np.maximum(medians, floor)[ring]
    return background


def _jpeg_grid(fx: np.ndarray, fy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The bins of JPEG's 8x8 block grid (multiples of an eighth of the full picture's sides, along an
    axis): blocking puts peaks there in any re-encoded photograph."""
    width, height = size
    along_x = (np.abs(fy) <= 1) & (np.abs(fx - np.round(fx * 8 / width) * width / 8) <= 1) & (fx > width / 16)
    along_y = (fx <= 1) & (np.abs(np.abs(fy) - np.round(np.abs(fy) * 8 / height) * height / 8) <= 1) & (np.abs(fy) > height / 16)
    grid: np.ndarray = along_x | along_y
    return grid


@dataclass(frozen=True, slots=True)
class Agreement:
    """How a copy's signature fared against a reference's: ``coinciding`` of its ``dominant`` peaks fell
    on the reference's (or their aliases at the copy's size); ``refused`` says why not, when it did not."""

    coinciding: int
    dominant: int
    refused: str | None = None

    @property
    def agreed(self) -> bool:
        return self.refused is None


def agreement(copy: Spectrum, reference: Spectrum) -> Agreement:
    """Whether ``copy`` shows the reference's pattern: the same shape, the same hue, the copy's strongest
    peak (inside the band the reference could show) on a peak of the reference, and most of its dominant
    peaks' prominence on the reference's peaks (gamma, clipping and re-encoding shift strength between a
    pattern's own frequencies and their sums and differences)."""
    if abs(math.log(copy.width / copy.height) - math.log(reference.width / reference.height)) > MAX_ASPECT_LOG:
        return Agreement(0, 0, "shape differs")
    if not _same_hue(copy.colour, reference.colour):
        return Agreement(0, 0, "colour differs")
    shown = [p for p in copy.peaks if p.fx <= reference.width / 2 and abs(p.fy) <= reference.height / 2]
    if not shown:
        return Agreement(0, 0, "no peak in the reference's band")
    dominant = [p for p in shown if p.prominence * DOMINANT >= shown[0].prominence][:4]
    size = (copy.width, copy.height)
    hits = [any(_coincide(p, q, size) for q in reference.peaks) for p in dominant]
    coinciding = sum(hits)
    if not hits[0]:
        return Agreement(coinciding, len(dominant), "the strongest peak is not the reference's")
    on_reference = sum(p.prominence for p, hit in zip(dominant, hits, strict=True) if hit)
    if on_reference < MIN_SHARE * sum(p.prominence for p in dominant):
        return Agreement(coinciding, len(dominant), "its dominant peaks are not the reference's")
    return Agreement(coinciding, len(dominant))


def _coincide(a: Peak, b: Peak, size: tuple[int, int]) -> bool:
    """Whether two peaks are one frequency as a picture of ``size`` shows it: on its frequency torus
    (beyond the Nyquist limit a frequency folds to its alias, as a downscale without a perfect filter
    leaves it) and either way round (a real picture's ``f`` and ``-f`` are one peak)."""
    width, height = size

    def close(u: int, v: int, period: int) -> bool:
        gap = (u - v + period // 2) % period - period // 2
        return abs(gap) <= 1 + 0.01 * max(abs(u), abs(v))

    return any(close(a.fx, sign * b.fx, width) and close(a.fy, sign * b.fy, height) for sign in (1, -1))


def _same_hue(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    """Mean colours of the same hue: gamma and brightness change lightness and saturation, not hue."""
    (ca, ha), (cb, hb) = _chroma(a), _chroma(b)
    if ca < GREY_CHROMA or cb < GREY_CHROMA:
        return max(ca, cb) < 2 * GREY_CHROMA
    return abs((ha - hb + 180.0) % 360.0 - 180.0) <= MAX_HUE_DEGREES


def _chroma(rgb: tuple[int, int, int]) -> tuple[float, float]:
    red, green, blue = rgb
    cb = -0.1687 * red - 0.3313 * green + 0.5 * blue
    cr = 0.5 * red - 0.4187 * green - 0.0813 * blue
    return math.hypot(cb, cr), math.degrees(math.atan2(cr, cb))


class SpectrumHasher:
    """Keeps a picture's spectrum signature as a "spectrum" signal, for references and copies alike, when
    the picture has one (a periodic pattern); the trimmed picture is analysed, as PDQ hashes it."""

    name: ClassVar[str] = "spectrum"
    version: ClassVar[int] = 1

    def signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        return []  # with the extras, so that the signals kept before it came keep their order

    def extra_signals(self, picture: Picture, *, reference: bool) -> list[Signal]:
        found = signature(picture.trimmed, strongest_at_least=REFERENCE_PROMINENCE if reference else PEAK_PROMINENCE)
        return [] if found is None else [Signal(self.name, found.to_text(), self.version, len(found.peaks))]
