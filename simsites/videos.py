"""Generated videos for the simulated sites, the tests and the benchmark: never a real person.

A "reference video" is a slow camera move over a still picture (the people-free sample set), the edits
are what re-uploaders do to video, and everything is encoded with the FFmpeg libraries in PyAV's wheel.
"""

from __future__ import annotations

import io
from fractions import Fraction
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import av.container
import av.video.stream
import numpy as np
from PIL import Image, ImageDraw, ImageOps

Frames = list[np.ndarray]


def write_video(
    target: Path | BinaryIO, frames: Iterable[np.ndarray], fps: float, *, codec: str = "libx264", crf: int = 23,
    container: str = "mp4", gop: int | None = None,
) -> None:  # fmt: skip
    """Encode RGB frames (all one size, even sides) into ``target``."""
    with av.open(target, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        assert isinstance(stream, av.video.stream.VideoStream)
        first = True
        for pixels in frames:
            if first:
                stream.height, stream.width = pixels.shape[:2]
                stream.pix_fmt = "yuv420p"
                if codec == "libx264":
                    stream.options = {"crf": str(crf), "preset": "veryfast", **({"g": str(gop)} if gop else {})}
                first = False
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)


def video_bytes(frames: Iterable[np.ndarray], fps: float, **options: object) -> bytes:
    buffer = io.BytesIO()
    write_video(buffer, frames, fps, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def camera_move(image: Image.Image, seconds: float, fps: float, size: tuple[int, int], seed: int = 0) -> Iterator[np.ndarray]:
    """A slow pan and zoom across ``image``: every frame differs, as in real footage, but slowly."""
    rng = np.random.default_rng(seed)
    width, height = image.size
    start = rng.uniform(0.0, 0.25, 2)
    end = rng.uniform(0.0, 0.25, 2)
    zoom = rng.uniform(0.65, 0.8), rng.uniform(0.8, 0.95)
    count = max(1, round(seconds * fps))
    for index in range(count):
        t = index / max(1, count - 1)
        scale = zoom[0] + (zoom[1] - zoom[0]) * t
        x0, y0 = (start + (end - start) * t) * (width * (1 - scale) / 0.25, height * (1 - scale) / 0.25) * 0.25
        box = (x0, y0, x0 + width * scale, y0 + height * scale)
        yield np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box))


def slideshow(images: Sequence[Image.Image], seconds_each: float, fps: float, size: tuple[int, int], seed: int = 0) -> Iterator[np.ndarray]:
    """Several camera moves one after another: a video with scenes."""
    for number, image in enumerate(images):
        yield from camera_move(image, seconds_each, fps, size, seed + number)


def decode_all(path: Path | BinaryIO) -> tuple[Frames, float]:
    """Every frame of a (short) video as RGB arrays, and its frame rate: the input of the edits below."""
    with av.open(path) as container:
        assert isinstance(container, av.container.InputContainer)
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)], fps


# -- what re-uploaders do to video ------------------------------------------------------------------


@dataclass(frozen=True)
class VideoEdit:
    """An edit of a decoded video: frames and frame rate in, frames and frame rate out (``crf``: quality)."""

    name: str
    apply: Callable[[Frames, float], tuple[Frames, float]]
    crf: int = 23


def _even(width: int, height: int) -> tuple[int, int]:
    return width - width % 2, height - height % 2


def _map(frames: Frames, edit: Callable[[Image.Image], Image.Image]) -> Frames:
    return [np.asarray(edit(Image.fromarray(f))) for f in frames]


def _scale_to(frames: Frames, height: int) -> Frames:
    h, w = frames[0].shape[:2]
    size = _even(round(w * height / h), height)
    return _map(frames, lambda im: im.resize(size, Image.Resampling.BILINEAR))


def _letterbox(frames: Frames) -> Frames:
    h, w = frames[0].shape[:2]
    bar = max(2, (h // 6) - (h // 6) % 2)
    return _map(frames, lambda im: ImageOps.expand(im, border=(0, bar, 0, bar), fill=(0, 0, 0)))


def _crop(frames: Frames, share: float) -> Frames:
    h, w = frames[0].shape[:2]
    dx, dy = round(w * share / 2), round(h * share / 2)
    size = _even(w - 2 * dx, h - 2 * dy)
    return _map(frames, lambda im: im.crop((dx, dy, dx + size[0], dy + size[1])))


def _caption(frames: Frames) -> Frames:
    """A watermark-style caption: outlined white text over the lower part of every frame."""
    def draw(im: Image.Image) -> Image.Image:
        im = im.copy()
        w, h = im.size
        size = max(10, h // 12)
        ImageDraw.Draw(im).text(
            (w // 20, int(h * 0.8)), "watch more at example.invalid", fill=(255, 255, 255), font_size=size,
            stroke_width=max(1, size // 8), stroke_fill=(0, 0, 0),
        )  # fmt: skip
        return im

    return _map(frames, draw)


def _band(frames: Frames, share: float) -> Frames:
    """A re-uploader's title band: a dark bar with white text over the top ``share`` of every frame."""
    def draw(im: Image.Image) -> Image.Image:
        im = im.copy()
        w, h = im.size
        band = max(8, round(h * share))
        canvas = ImageDraw.Draw(im)
        canvas.rectangle((0, 0, w, band), fill=(20, 20, 28))
        canvas.text((w // 30, band // 4), "FULL VIDEO - link in bio", fill=(255, 255, 255), font_size=max(8, band // 2))
        return im

    return _map(frames, draw)


def _speed(frames: Frames, fps: float, factor: float) -> tuple[Frames, float]:
    """Played ``factor`` times faster at the same frame rate: frames are dropped, not the rate changed."""
    count = int(len(frames) / factor)
    return [frames[min(len(frames) - 1, round(i * factor))] for i in range(count)], fps


def _trim(frames: Frames, share: float, start: float = 0.4) -> Frames:
    count = max(1, round(len(frames) * share))
    first = min(len(frames) - count, round(len(frames) * start))
    return frames[first : first + count]


VIDEO_EDITS: tuple[VideoEdit, ...] = (
    VideoEdit("re-encoded, high compression", lambda f, r: (f, r), crf=40),
    VideoEdit("scaled to 360p", lambda f, r: (_scale_to(f, 360), r)),
    VideoEdit("letterboxed", lambda f, r: (_letterbox(f), r)),
    VideoEdit("mirrored", lambda f, r: (_map(f, ImageOps.mirror), r)),
    VideoEdit("cropped 10%", lambda f, r: (_crop(f, 0.10), r)),
    VideoEdit("sped up 1.25x", lambda f, r: _speed(f, r, 1.25)),
    VideoEdit("text overlay", lambda f, r: (_caption(f), r)),
    VideoEdit("trimmed to 20%", lambda f, r: (_trim(f, 0.20), r)),
    VideoEdit("trimmed to 10%", lambda f, r: (_trim(f, 0.10), r)),
    VideoEdit("cropped to the middle 80%", lambda f, r: (_crop(f, 0.20), r)),
    VideoEdit("caption band (top 15%)", lambda f, r: (_band(f, 0.15), r)),
)


def compilation(clip: Frames, fillers: Sequence[Frames], at: int) -> Frames:
    """``clip`` (already resized to the fillers' size) inserted after the ``at``-th filler."""
    frames: Frames = []
    for number, filler in enumerate(fillers):
        if number == at:
            frames.extend(clip)
        frames.extend(filler)
    return frames


def fit(frames: Frames, size: tuple[int, int]) -> Frames:
    """Frames resized (letterboxed where the shape differs) to ``size``, as a compilation editor does."""
    def place(im: Image.Image) -> Image.Image:
        return ImageOps.pad(im, size, Image.Resampling.BILINEAR, color=(0, 0, 0))

    return _map(frames, place)
