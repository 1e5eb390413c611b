"""Files the CLI writes for people to take away (hash exports, reports): whole or not at all, the user's alone, and
never over an existing file unless asked."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from spreadtrace.errors import UserError


def refuse_existing(paths: Iterable[Path], force: bool) -> None:
    """UserError for the first of ``paths`` that exists (a broken link too) unless ``force``; a folder is
    never replaced."""
    for path in paths:
        if path.is_dir():
            raise UserError(f"{path} is a folder (name a file to write)")
        if os.path.lexists(path) and not force:
            raise UserError(f"{path} exists (use --force to replace it)")


@contextmanager
def staged(path: Path) -> Iterator[TextIO]:
    """A text stream into a temporary file beside ``path`` (0600, whatever the umask), which replaces
    ``path`` when the block ends without error and is removed when it does not: a failed write (a full
    disk, an interrupt) leaves no partial file. An OSError names ``path``, not the temporary file."""
    with _replacing(path) as temporary, open(temporary, "w", encoding="utf-8") as stream:
        yield stream


def write_whole(path: Path, content: bytes) -> None:
    """``content`` as the file ``path``, whole or not at all, as `staged` writes."""
    with _replacing(path) as temporary, open(temporary, "wb") as stream:
        stream.write(content)


@contextmanager
def _replacing(path: Path) -> Iterator[str]:
    """The name of a new temporary file beside ``path`` (0600), moved over ``path`` when the block ends
    without error (after the block has closed it) and removed when it does not."""
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
        yield temporary
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary is not None:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename != str(path):
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise
