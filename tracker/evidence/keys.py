"""Per-case keys, kept apart from the evidence they open.

One random 256-bit key per case, one file each (0600, in a 0700 folder), by default ``HOME/keys/`` and
anywhere else with ``SPREADTRACE_EVIDENCE_KEYS`` (another disk, a mounted token): a stolen evidence folder
without its keys opens nothing, and destroying a key destroys exactly that case's captures, which is what
a victim's withdrawal asks for (crypto-shredding: no copy of the evidence anywhere needs finding).
"""

from __future__ import annotations

import os
from pathlib import Path

from tracker.evidence.errors import KeyMissing
from tracker.models import validate_case_id

KEY_BYTES = 32


class Keyring:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, case_id: str) -> Path:
        return self.folder / f"{validate_case_id(case_id)}.key"

    def key(self, case_id: str, *, create: bool = False) -> bytes:
        """The case's key; with ``create``, made on first use. Raises KeyMissing."""
        path = self.path(case_id)
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise KeyMissing(f"no key for case {case_id!r} in {self.folder} (withdrawn, or the key folder is not there)") from None
            return self._create(path)
        if len(key) != KEY_BYTES:
            raise KeyMissing(f"{path}: not a case key ({len(key)} bytes, not {KEY_BYTES})")
        return key

    def exists(self, case_id: str) -> bool:
        return self.path(case_id).exists()

    def destroy(self, case_id: str) -> bool:
        """Delete the case's key; whether there was one. Its captures can no longer be opened by anyone."""
        try:
            self.path(case_id).unlink()
        except FileNotFoundError:
            return False
        _sync_folder(self.folder)
        return True

    def _create(self, path: Path) -> bytes:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return write_secret_once(path, os.urandom(KEY_BYTES))


def write_secret_once(path: Path, secret: bytes) -> bytes:
    """Write ``secret`` to ``path`` (0600, synced, the folder too) unless a file is there already, and
    return what ``path`` holds: two processes making the first key at once both use the one that won."""
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secret)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(staged, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        return path.read_bytes()
    finally:
        staged.unlink()
    _sync_folder(path.parent)
    return secret


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
