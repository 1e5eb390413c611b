"""`spreadtrace watch`: schedules and missed runs survive a restart, and nothing runs twice at once."""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from crawler.watcher import exclusive, site_lock
from tests.test_end_to_end import STARTS, spreadtrace


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_watcher_left_behind():
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


def watch(home):
    process = subprocess.Popen([sys.executable, "-m", "spreadtrace", "--home", str(home), "watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    _started.append(process)
    return process


def finished_visits(home) -> list[tuple[str, str]]:
    if not (home / "spreadtrace.db").exists():
        return []
    with sqlite3.connect(home / "spreadtrace.db", timeout=30) as conn:
        try:
            return conn.execute("SELECT started_at, finished_at FROM visits WHERE finished_at IS NOT NULL ORDER BY started_at").fetchall()
        except sqlite3.OperationalError:  # created a moment ago, its schema not yet written
            return []


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def stop(process) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return err


def next_run(home) -> float:
    with sqlite3.connect(home / "schedule.db") as conn:
        return conn.execute("SELECT next_run_time FROM apscheduler_jobs WHERE id = 'forum'").fetchone()[0]


def test_schedules_and_missed_runs_survive_a_restart_without_running_twice(world, home):
    forum = world.forum
    added = spreadtrace(home, "site", "add", "forum", forum.url(STARTS["forum"]), "--allow-domain", forum.host,
                        "--delay", "0", "--allow-private", "--every", "1h")  # fmt: skip
    assert added.returncode == 0, added.stderr
    first = watch(home)
    wait_for(lambda: len(finished_visits(home)) == 1)  # a new site is visited at once
    second = watch(home)  # a second watcher on the same home is refused
    assert second.wait(60) != 0 and "already running" in second.stderr.read()
    assert "forum: scheduled (every 1h), first visit now" in stop(first)
    scheduled = next_run(home)
    assert 0 < scheduled - time.time() <= 3600  # the schedule is on disk: within the hour, however long the visit took

    # Three runs are missed while nothing watches: the stored job is moved back three hours and a minute,
    # as if the watcher had been down that long (the time is in both the column and the pickled job).
    missed = scheduled - 3 * 3600 - 60
    with sqlite3.connect(home / "schedule.db") as conn:
        state = pickle.loads(conn.execute("SELECT job_state FROM apscheduler_jobs WHERE id = 'forum'").fetchone()[0])
        state["next_run_time"] = datetime.fromtimestamp(missed, UTC)
        conn.execute("UPDATE apscheduler_jobs SET next_run_time = ?, job_state = ? WHERE id = 'forum'",
                     (missed, pickle.dumps(state)))  # fmt: skip
    restarted = watch(home)
    wait_for(lambda: len(finished_visits(home)) == 2)
    time.sleep(3)
    assert len(finished_visits(home)) == 2  # the missed runs happened once, not three times
    stop(restarted)
    assert 0 < next_run(home) - time.time() <= 3600  # and the schedule goes on: due within the hour, not past due
    visits = finished_visits(home)
    assert visits[0][1] <= visits[1][0]  # one after the other, never overlapping

    status = spreadtrace(home, "site", "status", "--json")
    assert status.returncode == 0, status.stderr
    [row] = json.loads(status.stdout)
    assert row["outcome"] == "finished" and row["pages"] > 0 and row["next_visit"] is not None
    assert datetime.fromisoformat(row["next_visit"].replace("Z", "+00:00")) > datetime.now(UTC)


def test_a_site_being_visited_is_not_visited_again_at_the_same_time(world, home):
    forum = world.forum
    assert spreadtrace(home, "site", "add", "forum", forum.url("/forum/"), "--allow-private").returncode == 0
    with exclusive(site_lock(home, "forum"), "test"):
        crawl = spreadtrace(home, "crawl", "--no-progress")
    assert crawl.returncode == 2 and f"already running (pid {os.getpid()}" in crawl.stderr
