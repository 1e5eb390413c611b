"""What decoding one file may cost, checked by the decoders at every frame they decode.

A hostile file is built to make a decoder work: an animated GIF of thousands of frames on a huge canvas
(each composited in full by Pillow), a video with a frame rate of thousands. Counting samples does not
bound that, since most frames are decoded and never sampled. A `DecodeBudget` is charged the pixels of
every frame decoded, sampled or not, and checks the wall clock at each one, so a file stops within the
frames a decoder has in flight (one per decode thread) of its budget however it is made. ``stop`` is the caller's own reason to give up (the crawl is
stopping): then `HashingStopped` is raised and nothing of the file is recorded.
"""

from __future__ import annotations

import threading
import time

from matcher.errors import MatcherError


class HashingStopped(MatcherError):
    """The caller asked hashing to stop (its ``stop`` event is set): not the file's fault, not recorded."""


class DecodeBudget:
    def __init__(self, max_seconds: float, max_pixels: int, stop: threading.Event | None = None) -> None:
        self.max_seconds = max_seconds
        self.max_pixels = max_pixels
        self.stop = stop
        self.deadline = time.monotonic() + max_seconds
        self.pixels = 0
        self.frames = 0

    def charge(self, pixels: int) -> str | None:
        """Count one decoded frame; why the file's budget is spent, or None. Raises HashingStopped."""
        self.frames += 1
        self.pixels += pixels
        if self.stop is not None and self.stop.is_set():
            raise HashingStopped("hashing stopped: the crawl is stopping")
        if self.max_pixels and self.pixels > self.max_pixels:
            return f"decode budget of {self.max_pixels:,} pixel-frames spent after {self.frames:,} frames"
        if time.monotonic() > self.deadline:
            return f"time budget of {self.max_seconds:g} s spent after {self.frames:,} frames"
        return None
