"""videohash (videohash2's algorithm): one 64-bit hash of a whole video, from a collage of its frames.

Fast to compare and to index, and fooled by anything that changes which frames the video holds: a clip,
a compilation, a speed change (videohash's README says so). It is kept as a fast signal beside vPDQ and
shown with each decision; it never decides alone.

videohash2 extracts frames with the ffmpeg binary; spreadtrace gives it the frames it has already
decoded (144x144 thumbnails, as videohash2's ffmpeg call makes) and runs videohash2's own collage, tile
and hash code on them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import ClassVar

from PIL import Image

from matcher.errors import UnhashableContent
from matcher.hashers.base import hex_distance, validate_hex
from matcher.signal import ContentKind, Signal

THUMBNAIL = (144, 144)


class VideoHasher:
    name: ClassVar[str] = "videohash"
    version: ClassVar[int] = 1
    bits: ClassVar[int] = 64
    content_kind: ClassVar[ContentKind] = ContentKind.VIDEO
    examples: ClassVar[tuple[str, ...]] = ("8f0f0f0e0c1c3c7e", "0000000000000000")

    def validate(self, value: str) -> str:
        value = value.strip().lower()
        return validate_hex(self.name, self.bits, value[2:] if value.startswith("0x") else value)

    def distance(self, a: str, b: str) -> int:
        return hex_distance(a, b)


class VideoHashFrames:
    """Thumbnails of a video's frames, spread evenly over it, kept in memory (32 of 144x144: 2 MB) and
    written to disk only for the instant videohash2's code reads them: a process killed while hashing
    a reported video almost never leaves a picture of it behind.

    At most ``limit`` are kept: when full, every other one is dropped and only every other offered frame
    is taken from then on, so a video of any length ends with evenly spaced thumbnails.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._kept: list[tuple[int, Image.Image]] = []
        self._offered = 0
        self._stride = 1

    def offer(self, image: Image.Image) -> None:
        self._offered += 1
        if (self._offered - 1) % self._stride:
            return
        self._kept.append((self._offered, image.resize(THUMBNAIL, Image.Resampling.BILINEAR)))
        if len(self._kept) > self.limit:
            self._kept = self._kept[::2]
            self._stride *= 2

    def signal(self) -> Signal:
        """videohash2's hash of the kept thumbnails; raises UnhashableContent when there are none."""
        from videohash2.collagemaker import MakeCollage
        from videohash2.tilemaker import concatenate_video_frames_horizontally, save_tiles, slicer
        from videohash2.utils import get_list_of_all_files_in_dir
        from videohash2.videohash import VideoHash

        if not self._kept:
            raise UnhashableContent("no frames for videohash")
        with tempfile.TemporaryDirectory(prefix="spreadtrace-videohash-") as folder:
            work, frames = Path(folder), Path(folder) / "frames"
            frames.mkdir()
            (work / "tiles").mkdir()
            for number, thumbnail in self._kept:  # JPEG at 90, as videohash2's own ffmpeg call writes them
                thumbnail.save(frames / f"video_frame_{number:07d}.jpeg", quality=90)
            collage = work / "collage.jpg"
            MakeCollage(get_list_of_all_files_in_dir(f"{frames}/"), str(collage), collage_image_width=1024)
            # videohash2's make_tile, with BMP for its PNG: the strip and its 64 tiles are only read back,
            # pixel for pixel the same, and PNG compression of them was most of the cost.
            strip = str(work / "concatenated.bmp")
            concatenate_video_frames_horizontally(f"{frames}/", strip)
            save_tiles(slicer(strip, number_tiles=64), prefix="tile", directory=f"{work / 'tiles'}/", file_format="bmp")
            # VideoHash.__init__ would extract frames itself with ffmpeg; its hashing step needs only these.
            video_hash = object.__new__(VideoHash)
            video_hash.tiles_dir = f"{work / 'tiles'}/"
            video_hash.bits_in_hash = 64
            with Image.open(collage) as video_hash.image:
                video_hash._calc_hash()
        value = f"{int(video_hash.hash, 2):016x}"  # its hash_hex drops leading zeros
        return Signal(VideoHasher.name, value, VideoHasher.version)

    def close(self) -> None:
        self._kept.clear()
