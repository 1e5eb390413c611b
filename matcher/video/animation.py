"""Animated GIF, APNG and animated WebP: short videos in an image format, sampled like video.

Pillow composites each frame onto the ones before it (GIF disposal, APNG blending), so a sampled frame
is what a viewer sees, not the patch the file stores.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from PIL import Image, ImageSequence

from matcher.budget import DecodeBudget
from matcher.errors import UnhashableContent
from matcher.image import to_rgb
from matcher.video.frames import Frame

# Animations are short, so they are sampled more densely than video.
ANIMATION_INTERVAL = 0.1
# Browsers show frames with a delay under 20 ms for 100 ms; so does this sampler.
_MIN_DELAY_MS = 20
_DEFAULT_DELAY_MS = 100


def open_animation(data: bytes) -> Image.Image | None:
    """The opened animation when ``data`` is an animated image of more than one frame, else None."""
    try:
        opened = Image.open(io.BytesIO(data))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None  # `decode_image` says what is wrong with it
    if getattr(opened, "is_animated", False) and getattr(opened, "n_frames", 1) > 1:
        return opened
    return None


class AnimationSampler:
    """Frames about ANIMATION_INTERVAL apart, each timed by the delays of the frames before it.
    ``duration`` is the animation's length once iterated; ``stopped`` says why it ended early, or None."""

    def __init__(self, animation: Image.Image, max_pixels: int, max_samples: int, budget: DecodeBudget) -> None:
        width, height = animation.size
        if width * height > max_pixels:
            raise UnhashableContent(f"animation too large ({width}x{height}, over {max_pixels:,} pixels)")
        self.animation = animation
        self.width, self.height = width, height
        self.max_samples = max_samples
        self.budget = budget
        self.duration = 0.0
        self.stopped: str | None = None

    def __iter__(self) -> Iterator[Frame]:
        elapsed, next_time, taken = 0.0, 0.0, 0
        try:
            for number, frame in enumerate(ImageSequence.Iterator(self.animation)):
                # Pillow composites every frame onto the whole canvas, however small its patch: each costs
                # the canvas, sampled or not.
                if spent := self.budget.charge(self.width * self.height):
                    self.stopped = f"{spent}, at {elapsed:.0f} s"
                    if not taken:
                        raise UnhashableContent(f"animation over its budget before its first sample: {spent}")
                    break
                if elapsed + 1e-6 >= next_time:
                    if taken == self.max_samples:
                        self.stopped = f"frame budget of {self.max_samples} samples spent at {elapsed:.0f} s"
                        break
                    yield Frame(number, round(elapsed, 3), to_rgb(frame.copy()))
                    taken += 1
                    next_time = elapsed + ANIMATION_INTERVAL
                delay = frame.info.get("duration") or _DEFAULT_DELAY_MS
                elapsed += (delay if delay >= _MIN_DELAY_MS else _DEFAULT_DELAY_MS) / 1000
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            if not taken:
                raise UnhashableContent(f"corrupt or truncated animation: {exc}") from None
            self.stopped = f"corrupt or truncated animation after {taken} samples: {exc}"
        self.duration = round(elapsed, 3)
