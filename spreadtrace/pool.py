"""Work on every core: a job mapped over items by worker processes, in input order, a few at a time.

`parallel_map(job, items, workers=N)` yields ``job(item)`` for each item, in the order of ``items``, with at
most a few items per worker in flight, so a folder of 100,000 files costs the memory of a handful of
results. The job is pickled once into each worker (it may build what it needs there, once: a matcher of
every reference), and each item is sent alone.

- Workers are started by ``spawn``, never ``fork``: the parent may hold a SQLite connection, its writer
  thread and OpenMP's threads, none of which survive a fork. They ignore SIGINT: Ctrl-C is the parent's,
  which stops and reaps them (nothing is left behind) and raises KeyboardInterrupt. A parent killed
  outright takes its workers with it (Linux).
- Each worker runs its native libraries on one thread (FAISS's OpenMP, OpenCV): the parallelism is the
  processes', and two OpenMP threads per worker on a busy machine spin instead of working (measured: a
  descriptor search 3-6 times slower on two threads than on one while other processes ran).
- A worker that dies (a decoder crashing on a hostile file, the kernel killing it for memory) loses the
  items it held. They are run again, one at a time in a fresh pool, so that only the item that kills a
  worker on its own gets `Job.failed`'s result, and the rest go on.
- One worker runs in this process (`worker_count` asks for one below POOL_MIN_ITEMS items): starting a
  worker costs its imports, 1-2 s.
"""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)

# Items in flight per worker: one being worked on, one waiting, so a worker never idles between items.
IN_FLIGHT_PER_WORKER = 2
# Fewer items than this are worked on in this process: a worker's start (its imports, 1-2 s) would cost
# more than it saves.
POOL_MIN_ITEMS = 8
TERM_GRACE_S = 5.0
WORKER_DIED = "the process hashing it died (a crash while decoding it, or out of memory)"


class Job(Protocol[T_contra, R_co]):
    """What a worker does with one item. Pickled into each worker once; must not raise for a bad item
    (a corrupt file is a result, an error line), only for a bug."""

    def __call__(self, item: T_contra) -> R_co: ...

    def failed(self, item: T_contra, reason: str) -> R_co:
        """The result for an item whose worker died while working on it, alone."""
        ...


def worker_count(requested: int | None, items: int) -> int:
    """Workers for ``items`` items: as many as asked for, else one per core, but one (this process) below
    POOL_MIN_ITEMS items, and never more than there are items."""
    if requested is None:
        requested = available_cores() if items >= POOL_MIN_ITEMS else 1
    return max(1, min(requested, items))


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, as `os.process_cpu_count` of 3.13 says)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def parallel_map(job: Job[T, R], items: Iterable[T], *, workers: int) -> Iterator[Iterator[R]]:
    """``job(item)`` for each item, in order, on ``workers`` processes; see the module's docstring.

    A context manager, so that leaving the loop early (an exception, Ctrl-C) stops the workers at once
    rather than when the iterator is collected."""
    results = _inline(job, items) if workers <= 1 else _pooled(job, items, workers)
    try:
        yield results
    finally:
        results.close()


def _inline(job: Job[T, R], items: Iterable[T]) -> Generator[R]:
    for item in items:
        yield job(item)


def _pooled(job: Job[T, R], items: Iterable[T], workers: int) -> Generator[R]:
    pending: deque[tuple[T, Future[Any]]] = deque()
    source = iter(items)
    pool = _start(job, workers)
    finished = False
    try:
        while True:
            for item in itertools.islice(source, workers * IN_FLIGHT_PER_WORKER - len(pending)):
                pending.append((item, _submit(pool, item)))
            if not pending:
                break
            try:
                result = cast(R, pending[0][1].result())
            except BrokenProcessPool:
                _stop(pool)
                lost = [item for item, _ in pending]
                pending.clear()
                pool = _start(job, workers)
                for again in lost:
                    result, pool = _alone(job, again, pool, workers)
                    yield result
                continue
            pending.popleft()
            yield result
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:
            _stop(pool)


def _alone(job: Job[T, R], item: T, pool: ProcessPoolExecutor, workers: int) -> tuple[R, ProcessPoolExecutor]:
    """Run ``item`` with nothing else in flight: if the pool breaks now, this item broke it."""
    try:
        return cast(R, _submit(pool, item).result()), pool
    except BrokenProcessPool:
        _stop(pool)
        return job.failed(item, WORKER_DIED), _start(job, workers)


def _submit(pool: ProcessPoolExecutor, item: object) -> Future[Any]:
    """``pool.submit``, whose refusal of a broken pool (a worker died since the last result) is handed
    over as that item's outcome, so it is dealt with where every other death is."""
    try:
        return pool.submit(_run, item)
    except BrokenProcessPool as exc:
        refused: Future[Any] = Future()
        refused.set_exception(exc)
        return refused


def _start(job: Job[T, R], workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_started, initargs=(job, os.getpid()))


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel what waits, end the workers now (an item may take seconds: a long video) and reap them. A
    worker still there after TERM_GRACE_S (stuck in native code that masks signals) is killed: Ctrl-C must
    leave nothing behind, and a worker alive keeps the terminal's pipes open after we exit."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # terminate_workers() is 3.14's
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(TERM_GRACE_S)
        if process.exitcode is None:
            process.kill()
            process.join()


# -- in the worker ------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_job: Job[Any, Any] | None = None  # the worker process's job, set once when it starts


def _worker_started(job: Job[Any, Any], parent: int) -> None:
    global _job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    _one_thread_each()
    _job = job


def _die_with(parent: int) -> None:
    """End this worker when its parent ends, however it ends: a parent killed outright (SIGKILL, or SIGTERM
    with no handler) runs no cleanup, and its workers would wait for work forever (Linux's
    PR_SET_PDEATHSIG; elsewhere only Ctrl-C and a normal end are covered)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before the request was made
        os._exit(1)


def _one_thread_each() -> None:
    """One thread for each native library the job brought in (unpickling it imported them); a job that
    needs none of them (a test's) does not pay for importing them here."""
    if (faiss := sys.modules.get("faiss")) is not None:
        faiss.omp_set_num_threads(1)
    if (cv2 := sys.modules.get("cv2")) is not None:
        cv2.setNumThreads(1)


def _run(item: object) -> object:
    assert _job is not None, "a worker runs items only after _worker_started"
    return _job(item)
