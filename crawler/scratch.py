"""Each process's temporary files in a private folder under the home: gone when it ends, swept by the next.

Media bodies are nameless files (`crawler.spool`), but some tools need named ones (videohash2's frame
thumbnails, anything a library puts in ``tempfile.gettempdir()``). Those go to ``HOME/tmp/run-PID-XXXX``,
created 0700, removed at exit. A process killed by SIGKILL cannot clean up: its folder's lock (an
``flock``, which the kernel releases with the process) is then free, and the next start of any
spreadtrace command in that home, or the watcher once its child has ended, removes the folder.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)
_LOCK = ".lock"


class Scratch:
    """The process's private temporary folder; ``tempfile`` and child processes use it from now on."""

    def __init__(self, folder: Path, lock: IO[str], before: tuple[str | None, str | None]) -> None:
        self.folder = folder
        self._lock = lock  # held open for the process's life: the sweeper's sign that it is alive
        self._before = before  # tempfile's folder and TMPDIR as they were, put back on removal

    @classmethod
    def open(cls, home: Path) -> Scratch:
        root = home / "tmp"
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            sweep(root)
            folder = Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=root))  # 0700
        except OSError as exc:  # a read-only home still runs read-only commands, from a private system temp
            logger.info("no temporary folder under %s (%s); using the system's", home, exc.strerror or exc)
            folder = Path(tempfile.mkdtemp(prefix="spreadtrace-run-"))
        lock = (folder / _LOCK).open("w")
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        scratch = cls(folder, lock, (tempfile.tempdir, os.environ.get("TMPDIR")))
        tempfile.tempdir = str(folder)
        os.environ["TMPDIR"] = str(folder)  # for child processes, and libraries that read it themselves
        atexit.register(scratch.remove)
        return scratch

    def remove(self) -> None:
        """Remove the folder and put the process's temporary folder back (a command run in-process)."""
        if self._lock.closed:
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        self._lock.close()
        if tempfile.tempdir == str(self.folder):
            tempfile.tempdir = self._before[0]
        if os.environ.get("TMPDIR") == str(self.folder):
            if self._before[1] is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = self._before[1]


def sweep(root: Path) -> list[Path]:
    """Remove the folders of processes that are gone (their lock is free); returns what was removed."""
    removed = []
    for folder in root.glob("run-*"):
        try:
            with (folder / _LOCK).open("r") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # alive
        except OSError:  # no lock file: killed before it made one, or being made right now
            if _age(folder) < 60:
                continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    if removed:
        logger.info("removed %d temporary folder(s) left by killed processes", len(removed))
    return removed


def _age(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0
