"""A still frame of a captured video, so that a video sighting has a preview (blurred like any picture) and
a reveal shows one frame, never the video. The bytes are a hostile site's: decoding is bounded in frames
and pixels, and whatever PyAV cannot read is no still rather than an error."""

from __future__ import annotations

import io
import logging

import av
import av.error

from matcher.video.frames import upright_picture

logger = logging.getLogger(__name__)

# Into the video by this fraction of its length (at most STILL_AT_MOST_S): the first frames are often black
# or a title card, which tells an analyst nothing.
STILL_AT = 0.1
STILL_AT_MOST_S = 10.0
MAX_DECODED_FRAMES = 400  # ~10 s at 30-40 fps: the frame wanted, or the last one decoded, whichever first
MAX_PIXELS = 40_000_000  # as for pictures (`tracker.evidence.preview`)


def still_frame(video: bytes) -> bytes | None:
    """A PNG of one frame of ``video``, or None when it is not a video PyAV decodes within the bounds."""
    try:
        with av.open(io.BytesIO(video), mode="r") as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            if stream.codec_context.width * stream.codec_context.height > MAX_PIXELS:
                return None
            duration = float(container.duration) / av.time_base if container.duration else 0.0
            wanted = min(duration * STILL_AT, STILL_AT_MOST_S)
            chosen = None
            for number, frame in enumerate(container.decode(stream)):
                if frame.width * frame.height > MAX_PIXELS:  # a stream may change size mid-way
                    return None
                chosen = frame
                if (frame.time or 0.0) >= wanted or number + 1 >= MAX_DECODED_FRAMES:
                    break
            if chosen is None:
                return None
            out = io.BytesIO()
            upright_picture(chosen).save(out, "PNG")  # upright, at most WORKING_SIDE: a preview's source
            return out.getvalue()
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        logger.info("no still frame: %s", exc)
        return None
