"""Video -> a few frames per second of it, decoded as a stream with PyAV (no ffmpeg binary).

Memory does not grow with the length of the video: packets are demuxed and decoded one at a time, and a
frame is converted to a picture only when it is sampled. Decoding, not hashing, is the cost of a video, so
the sampler decodes as little as it may, beside the hashing rather than before it:

- at about one sample a second, frames no other frame refers to (B-frames) are not decoded at all, nor
  is the deblocking filter run;
- when samples lie further apart than two keyframe intervals (a long video on a frame budget), it seeks
  to the keyframe before the next sample instead of decoding everything in between;
- what it must decode, it decodes on two frame threads, so that with a core to spare decoding goes on
  while a sample is converted and hashed (`python -m benchmarks.video --speed-only`).

Short videos are sampled more densely (down to every frame), so a clip of a few seconds still has enough
frames to align.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.container
import av.video.stream
from PIL import Image

from matcher.budget import DecodeBudget
from matcher.errors import UnhashableContent

# Frames are hashed at most this size on their long side: PDQ reduces to 64x64 anyway, and converting a
# 4K frame to RGB at full size costs more than hashing it.
WORKING_SIDE = 512
# Declared frame rates above this are not video but a malformed or hostile header.
MAX_FRAME_RATE = 1000
# Decoding is most of what hashing a video costs: with frame threads FFmpeg decodes the next frames on
# another core while this thread converts and hashes a sample. Frame threading is bit-exact (it changes
# when a frame is decoded, not its pixels); each thread holds frames of its own, and a crawler's machine
# has few cores, so two.
DECODE_THREADS = 2


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    """How densely to sample, and what one file may cost. Built from settings (`VideoLimits.plan`)."""

    interval: float  # seconds between samples, for a video long enough
    min_samples: int  # a shorter video is sampled more densely, down to every frame, to get this many
    max_samples: int  # a longer video is sampled more sparsely, to stay within this many
    max_seconds: float  # wall-clock budget for decoding one file
    max_pixels: int  # largest frame decoded
    max_decoded_pixels: int  # pixels x frames decoded from one file, sampled or not (0: no bound)

    def interval_for(self, duration: float | None) -> float:
        if duration is None or duration <= 0:
            return self.interval
        return min(max(self.interval, duration / self.max_samples), duration / self.min_samples)


@dataclass(frozen=True, slots=True)
class Frame:
    """A sampled frame: its number among the decoded frames (vPDQ's frame number), its time, its picture."""

    number: int
    timestamp: float
    image: Image.Image


class VideoSampler:
    """Iterate a video's sampled frames. ``width``, ``height`` and ``duration`` are known once opened;
    ``stopped`` says why sampling ended before the end of the file (budget, corrupt data), or is None."""

    def __init__(self, path: Path, plan: SamplingPlan, *, stop: threading.Event | None = None) -> None:
        self.path = path
        self.plan = plan
        self.stop = stop
        self.stopped: str | None = None
        try:
            self._container = av.open(str(path), metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise UnhashableContent(_open_failure(exc)) from None
        try:
            self._stream = self._video_stream()
            self.width, self.height = self._stream.codec_context.width, self._stream.codec_context.height
            self.duration = self._duration()
            self._check()
        except BaseException:
            self._container.close()
            raise
        self.interval = plan.interval_for(self.duration)

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoSampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _video_stream(self) -> av.video.stream.VideoStream:
        streams = self._container.streams
        if not streams.video:
            if streams.audio:
                raise UnhashableContent("no video stream (audio only)")
            raise UnhashableContent("no video stream")
        return streams.video[0]

    def _duration(self) -> float | None:
        stream = self._stream
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if self._container.duration is not None:
            return self._container.duration / av.time_base
        return None

    def _check(self) -> None:
        width, height = self.width, self.height
        if width <= 0 or height <= 0:
            raise UnhashableContent(f"video has no usable frame size ({width}x{height})")
        if width * height > self.plan.max_pixels:
            raise UnhashableContent(f"video frames too large ({width}x{height}, over {self.plan.max_pixels:,} pixels)")
        rate = self._stream.average_rate
        if rate is not None and rate > MAX_FRAME_RATE:
            raise UnhashableContent(f"implausible frame rate ({float(rate):,.0f} frames/s)")

    @property
    def frame_rate(self) -> float | None:
        rate = self._stream.average_rate or self._stream.guessed_rate
        return float(rate) if rate else None

    def coarsen(self) -> None:
        """Sample half as often from here on (the caller's frame budget ran out on a video of unknown length)."""
        self.interval *= 2

    def __iter__(self) -> Iterator[Frame]:
        stream, context = self._stream, self._stream.codec_context
        context.thread_type, context.thread_count = "AUTO", DECODE_THREADS
        rate = self.frame_rate
        if rate and self.interval * rate >= 4:
            # Sampling sparsely: B-frames are not decoded at all (a sample moves by a frame or two), and
            # the deblocking filter is skipped (a quarter of H.264 decoding; PDQ's 64x64 view cannot
            # tell). Dense sampling of short clips decodes every frame in full.
            context.skip_frame = "NONREF"
            context.options = {"skip_loop_filter": "all"}
        clock = _Clock(stream, rate)
        budget = DecodeBudget(self.plan.max_seconds, self.plan.max_decoded_pixels, self.stop)
        keyframes: list[float] = []
        next_time, decoded, seek_to = 0.0, 0, None
        while True:
            if seek_to is not None:
                assert stream.time_base is not None
                self._container.seek(int((seek_to + clock.base) / stream.time_base), stream=stream)
                seek_to = None
            try:
                for packet in self._container.demux(stream):
                    if packet.is_keyframe and packet.pts is not None and clock.denominator:
                        _remember(keyframes, clock.seconds(packet.pts, decoded))
                    for frame in packet.decode():
                        decoded += 1
                        timestamp = clock.seconds(frame.pts, decoded)
                        if spent := budget.charge(frame.width * frame.height):  # every frame costs, sampled or not
                            self.stopped = f"{spent}, at {timestamp:.0f} s"
                            return
                        if timestamp + 1e-6 < next_time:
                            continue
                        yield Frame(decoded - 1, round(timestamp, 3), upright_picture(frame))
                        next_time = (math.floor(timestamp / self.interval + 1e-6) + 1) * self.interval
                        if _worth_seeking(keyframes, timestamp, next_time):
                            seek_to = next_time
                            break
                    if seek_to is not None:
                        break
            except av.FFmpegError as exc:
                self.stopped = f"corrupt or truncated video after {decoded} frames: {_reason(exc)}"
                return
            if seek_to is None:
                return


def _remember(keyframes: list[float], at: float) -> None:
    if not keyframes or at > keyframes[-1]:
        keyframes.append(at)
        del keyframes[:-3]


def _worth_seeking(keyframes: list[float], now: float, target: float) -> bool:
    """Seek when the next sample lies beyond the next keyframe by a margin: decoding from that keyframe
    costs less than decoding everything up to the sample."""
    if len(keyframes) < 2:
        return False
    spacing = keyframes[-1] - keyframes[-2]
    return spacing > 0 and target - now > 2 * spacing


class _Clock:
    """Seconds since the stream's start from a timestamp in its time base. Run for every frame decoded,
    so in integers: as exact as Fraction arithmetic (one correctly rounded division), at a fraction of its
    cost. A frame without a timestamp is placed by its number."""

    def __init__(self, stream: av.video.stream.VideoStream, rate: float | None) -> None:
        tick = stream.time_base
        self.numerator, self.denominator = (tick.numerator, tick.denominator) if tick else (0, 0)
        start = stream.start_time if tick and stream.start_time is not None else 0
        self.base = start * self.numerator / self.denominator if tick else 0.0
        self.rate = rate

    def seconds(self, pts: int | None, decoded: int) -> float:
        if pts is not None and self.denominator:
            return pts * self.numerator / self.denominator - self.base
        return (decoded - 1) / self.rate if self.rate else float(decoded - 1)


def upright_picture(frame: av.VideoFrame) -> Image.Image:
    """The frame upright, in RGB, at most WORKING_SIDE on its long side (scaled by the decoder's own scaler)."""
    scale = min(1.0, WORKING_SIDE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    # to_ndarray, not to_image: the same swscale call, without to_image's second copy (row by row, into a bytearray).
    pixels = frame.to_ndarray(width=width, height=height, interpolation="AREA", format="rgb24")
    image = Image.fromarray(pixels)
    rotation = round(getattr(frame, "rotation", 0) or 0) % 360
    if rotation:  # phones store portrait video landscape with a display rotation
        image = image.rotate(rotation, expand=True)
    return image


def _open_failure(exc: av.FFmpegError) -> str:
    if isinstance(exc, av.error.InvalidDataError):
        return "not a recognised video format, or corrupt"
    return f"cannot open video: {_reason(exc)}"


def _reason(exc: av.FFmpegError) -> str:
    return getattr(exc, "strerror", None) or str(exc)

