"""Hashing in worker processes, one pool per crawl process, shared by every site's crawler.

The reactor keeps one core busy downloading and parsing, and a picture takes tens of milliseconds of CPU
to decode and hash: in the reactor's process that work would share its GIL and its core. Workers are
spawned, not forked (the parent holds SQLite connections and threads), and open each spooled body by its
/proc path, so no byte is copied or written again.

Hostile files are the reason for pebble rather than concurrent.futures: a decoder that crashes takes its
worker with it, and pebble replaces the worker and fails only that file; a decode stuck where no budget
check runs is killed at the file's deadline. Each crawler has its own stop flag in shared memory: a
crawler that stops has its decodes end at their next frame, and the others go on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future
from ctypes import c_byte
from pathlib import Path
from typing import Any

from pebble import ProcessExpired, ProcessPool
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from crawler.config import hash_options
from crawler.tracking import Shared
from matcher import HashOptions, MediaHashes, UnhashableContent, hash_file

logger = logging.getLogger(__name__)

# Stop flags, one per crawler a pool ever serves (a process runs one crawl, of at most this many sites).
_FLAGS = 4096
# Seconds a file may take in a worker beyond its own decode budget before the worker is killed: the
# budget (SPREADTRACE_VIDEO_MAX_SECONDS) is checked between frames, this catches a decoder stuck in one.
_GRACE_SECONDS = 60.0

POOL_SETTING = "_SPREADTRACE_HASHING_POOL"  # not a user setting: set by the runner


class HashingPool:
    """``workers`` processes hashing spooled bodies with ``options``; `submit` returns a future of the
    file's `MediaHashes` (or its `UnhashableContent`, or `HashingStopped` once its crawler stopped)."""

    def __init__(self, options: HashOptions, workers: int) -> None:
        self.options = options
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self._flags = context.RawArray(c_byte, _FLAGS)
        self._next_flag = 0
        self._lock = threading.Lock()
        self._pool = ProcessPool(max_workers=workers, initializer=_init_worker, initargs=(self._flags,), context=context)
        self._deadline = options.video.max_seconds + _GRACE_SECONDS

    def stop_flag(self) -> StopFlag:
        """A flag of its own for one crawler: set, that crawler's decodes stop at their next frame."""
        with self._lock:
            slot, self._next_flag = self._next_flag % _FLAGS, self._next_flag + 1
        self._flags[slot] = 0
        return StopFlag(self._flags, slot)

    def submit(self, path: Path, stop: StopFlag) -> Future[MediaHashes]:
        return self._pool.schedule(_hash, (str(path), self.options, stop.slot), timeout=self._deadline)

    def close(self) -> None:
        """Ends the workers: at once (a decode in progress is abandoned; its crawl is stopping anyway)."""
        for slot in range(_FLAGS):
            self._flags[slot] = 1
        self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join(timeout=10)


class StopFlag(threading.Event):
    """One crawler's stop flag, readable by the workers. A threading.Event, so `matcher.hash_file` takes it
    as its ``stop``: whatever process calls ``is_set``, it reads the shared byte."""

    def __init__(self, flags: Any, slot: int) -> None:
        super().__init__()
        self._shared, self.slot = flags, slot

    def set(self) -> None:
        self._shared[self.slot] = 1
        super().set()

    def is_set(self) -> bool:
        return bool(self._shared[self.slot])


def failure_reason(exc: BaseException) -> str | None:
    """Why a worker gave no hashes for a file, as a reason to record; None if ``exc`` is not the file's
    doing (a bug, or the crawl stopping)."""
    if isinstance(exc, UnhashableContent):
        return str(exc)
    if isinstance(exc, ProcessExpired):  # a decoder crashed on it: that is the file's doing
        return f"the decoder crashed on this file (exit code {exc.exitcode})"
    if isinstance(exc, TimeoutError):
        return "decoding took longer than the hashing deadline"
    return None


class _Worker:
    """A worker process's own state, set once by its initializer (the parent never reads or sets it)."""

    flags: Any = None


def _init_worker(flags: Any) -> None:
    _Worker.flags = flags
    # A worker is interrupted by its parent's pool, never by the terminal's Ctrl-C: the parent decides.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _hash(path: str, options: HashOptions, slot: int) -> MediaHashes:
    return hash_file(Path(path), options, stop=StopFlag(_Worker.flags, slot))


def default_workers() -> int:
    """Every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def hand_pool(settings: BaseSettings, pool: HashingPool) -> None:
    """The runner's pool, for every crawler it makes (a crawler handed none makes its own)."""
    settings.set(POOL_SETTING, Shared(pool), priority="cmdline")


def pool_of(crawler: Crawler) -> HashingPool | None:
    handle = crawler.settings.get(POOL_SETTING)
    return handle.value if isinstance(handle, Shared) and isinstance(handle.value, HashingPool) else None


def pool_for(settings: BaseSettings) -> HashingPool:
    workers = settings.getint("SPREADTRACE_HASH_WORKERS") or default_workers()
    return HashingPool(hash_options(settings), workers)
