"""spreadtrace.pool: results in input order, a bounded number in flight, a dying worker costs only its own
item, and Ctrl-C leaves no worker behind. The jobs are real worker processes (spawned), not stand-ins."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from spreadtrace.pool import IN_FLIGHT_PER_WORKER, POOL_MIN_ITEMS, WORKER_DIED, parallel_map, worker_count
from tests.conftest import interruptible

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Square:
    """Squares numbers, slower for some so that they finish out of order; dies on ``die``, hangs on ``hang``."""

    die: int = -1
    hang: int = -1

    def __call__(self, item: int) -> tuple[int, int]:
        if item == self.die:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer or a crashing decoder would
        if item == self.hang:
            time.sleep(600)
        time.sleep(0.05 if item % 3 == 0 else 0)
        return item * item, os.getpid()

    def failed(self, item: int, reason: str) -> tuple[int, int]:
        return -1, 0


def test_results_come_in_input_order_from_the_workers():
    with parallel_map(Square(), range(40), workers=2) as results:
        found = list(results)
    assert [square for square, _ in found] == [n * n for n in range(40)]
    assert os.getpid() not in {pid for _, pid in found}  # how the two workers shared them is the machine's business


def test_one_worker_works_in_this_process():
    with parallel_map(Square(), range(3), workers=1) as results:
        assert {pid for _, pid in results} == {os.getpid()}


def test_items_are_taken_a_few_at_a_time():
    taken = []

    def items():
        for n in range(30):
            taken.append(n)
            yield n

    with parallel_map(Square(), items(), workers=2) as results:
        next(results)
        assert len(taken) <= 2 * IN_FLIGHT_PER_WORKER + 1  # not the whole folder at once
        assert [square for square, _ in results] == [n * n for n in range(1, 30)]


def test_a_worker_that_dies_costs_only_the_item_that_killed_it():
    with parallel_map(Square(die=7), range(20), workers=2) as results:
        found = [square for square, _ in results]
    assert found == [-1 if n == 7 else n * n for n in range(20)]


def test_worker_count_is_one_per_core_for_many_items_and_one_for_a_few():
    assert worker_count(None, POOL_MIN_ITEMS - 1) == 1
    assert worker_count(None, 10_000) == len(os.sched_getaffinity(0))
    assert worker_count(4, 3) == 3 and worker_count(3, 10) == 3


SCRIPT = (
    "import faulthandler, signal\n"
    "faulthandler.register(signal.SIGUSR1, all_threads=True)\n"  # where it hangs, should it ever (see `finished`)
    "from spreadtrace.pool import parallel_map\n"
    "from tests.test_cli_pool import Square\n"
    "with parallel_map(Square(hang=4), range(8), workers=2) as results:\n"
    "    for square, pid in results:\n"
    "        print(pid, flush=True)\n"
)


def start_hanging_pool() -> tuple[subprocess.Popen[str], set[int]]:
    """A process whose two workers squared items 0-3 (their pids) and now hang on item 4."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A session of its own: Ctrl-C in a terminal signals the whole foreground group, workers included.
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=interruptible)  # fmt: skip
    assert parent.stdout is not None
    return parent, {int(parent.stdout.readline()) for _ in range(4)}


def assert_gone(pids: set[int]) -> None:
    """Each process ended: no longer there, or a zombie (dead, waiting for whoever adopted it to reap it)."""
    for pid in pids:
        for _ in range(100):  # SIGKILL from the kernel on the parent's death takes a moment to land
            if _state(pid) in (None, "Z", "X"):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"worker {pid} outlived its parent")


def finished(parent: subprocess.Popen[str], workers: set[int]) -> str:
    """The parent's stderr once it and everything holding its pipes ended; if that takes over a minute,
    fail with what is still there and the parent's thread stacks, rather than a bare timeout."""
    try:
        return parent.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        alive = {pid: _state(pid) for pid in {parent.pid, *workers}}
        if alive[parent.pid] not in (None, "Z"):
            os.kill(parent.pid, signal.SIGUSR1)
            time.sleep(1)
        os.killpg(parent.pid, signal.SIGKILL)
        pytest.fail(f"still there after 60 s (pid: state): {alive}; stderr:\n{parent.communicate()[1][-4000:]}")


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def test_ctrl_c_stops_every_worker():
    parent, workers = start_hanging_pool()
    os.killpg(parent.pid, signal.SIGINT)
    err = finished(parent, workers)
    assert parent.returncode != 0 and "KeyboardInterrupt" in err
    assert_gone(workers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_with_a_parent_killed_outright():
    parent, workers = start_hanging_pool()
    parent.kill()
    finished(parent, workers)
    assert_gone(workers)

