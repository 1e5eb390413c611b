"""What hashing one file may cost and what is kept of it: `HashOptions`, built from settings."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.video.hashing import VideoLimits


@dataclass(frozen=True, slots=True)
class HashOptions:
    """Given to `hash_media` and `hash_file` by every caller; built by `crawler.config.hash_options`.

    There are no defaults here, on purpose: every default lives, commented, in `crawler/settings.py`, and
    a caller without settings asks `crawler.config.default_hash_options()` for them. A default written
    twice drifts.

    - ``max_pixels``: the largest picture decoded (checked from the header: decompression bombs).
    - ``max_image_bytes``: the largest picture file read into memory (videos stream; see ``video``).
    - ``min_picture_side``: the shortest long side of a crawled picture worth matching; a smaller one
      (an icon, an avatar, a spacer) is refused with the reason. References are hashed whatever their size.
    - ``local_features``: keep ORB keypoints, the input of the crop/screenshot check.
    - ``video``: what one video or animation may cost (its frames share ``max_pixels``' setting).
    """

    max_pixels: int
    max_image_bytes: int
    min_picture_side: int
    local_features: bool
    video: VideoLimits
