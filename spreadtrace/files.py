"""Command-line paths -> media files: folders are walked, missing paths are reported, not fatal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

# Inside folders only files that look like media are taken; a file named on the command line is always tried.
MEDIA_SUFFIXES = frozenset(
    ".jpg .jpeg .jpe .png .apng .gif .webp .bmp .tif .tiff .heic .avif .jfif .ppm .pgm".split()
    + ".mp4 .m4v .mov .webm .mkv .avi .wmv .flv .3gp .ts .mts .mpg .mpeg .ogv".split()
)


def expand_paths(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(file, None)`` for each media file, or ``(path, reason)`` for a path that can't be used."""
    for path in paths:
        if path.is_dir():
            found = False
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in MEDIA_SUFFIXES and not child.name.startswith("."):
                    found = True
                    yield child, None
            if not found:
                yield path, "folder holds no image or video files"
        elif path.is_file():
            yield path, None
        elif path.exists():
            yield path, "not a regular file"
        else:
            yield path, "no such file or folder"

