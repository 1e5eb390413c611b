"""Command-line paths -> media files: folders are walked, and every path that can't be used is reported with
its reason (missing, unreadable, a broken link, a folder that can't be listed), never fatal, never silent."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

# Inside folders only files that look like media are taken; a file named on the command line is always tried.
MEDIA_SUFFIXES = frozenset(
    ".jpg .jpeg .jpe .png .apng .gif .webp .bmp .tif .tiff .heic .avif .jfif .ppm .pgm".split()
    + ".mp4 .m4v .mov .webm .mkv .avi .wmv .flv .3gp .ts .mts .mpg .mpeg .ogv".split()
)


def expand_paths(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(file, None)`` for each media file, or ``(path, reason)`` for a path that can't be used.

    Whether a file can be read is found out by reading it (the hasher reports it): only opening it tells,
    whoever runs this (root reads files whatever their mode).
    """
    for path in paths:
        if path.is_dir():
            found = sorted(_walk(path), key=lambda item: item[0])
            if not found:
                found.append((path, "folder holds no image or video files"))
            yield from found
        elif path.is_file():
            yield path, None
        elif path.is_symlink():
            yield path, "broken symbolic link (its target is missing)"
        elif path.exists():
            yield path, "not a regular file"
        else:
            yield path, "no such file or folder"


def _walk(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Media files under ``folder`` (following links to folders, each folder once), and the folders that
    could not be listed and the media links that lead nowhere, with why."""
    problems: list[tuple[Path, str]] = []

    def unreadable(exc: OSError) -> None:
        problems.append((Path(exc.filename or folder), f"cannot read folder: {(exc.strerror or str(exc)).lower()}"))

    seen: set[tuple[int, int]] = set()
    for top, folders, files in os.walk(folder, onerror=unreadable, followlinks=True):
        stat = os.stat(top)
        if (stat.st_dev, stat.st_ino) in seen:  # a link back up the tree
            folders.clear()
            continue
        seen.add((stat.st_dev, stat.st_ino))
        for name in files:
            child = Path(top, name)
            if name.startswith(".") or child.suffix.lower() not in MEDIA_SUFFIXES:
                continue
            if child.is_file():
                yield child, None
            elif child.is_symlink() and not child.exists():
                yield child, "broken symbolic link (its target is missing)"
    yield from problems
