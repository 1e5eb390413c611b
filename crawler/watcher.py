"""The revisit schedule (`spreadtrace watch`): every registered site visited on its schedule, each visit in
its own process. (Not Scrapy's SCHEDULER, which orders one crawl's requests.)

APScheduler 3 keeps the schedule in HOME/schedule.db (a SQLAlchemy job store), so schedules and missed
runs survive a restart: a run missed while nothing was watching happens once, right after start
(coalesced, no grace limit). A visit runs as `spreadtrace crawl --site NAME` in a child process, because a
Twisted reactor cannot restart; it gets SPREADTRACE_VISIT_TIME_LIMIT seconds and stops itself then. One
that does not is asked to stop (SIGTERM) a minute later, and killed half a minute after that; then its
temporary folder is swept (`crawler.scratch`), so a killed visit leaves nothing of what it downloaded. Nothing runs twice at once: one watcher per home (a lock file), one run per site at a time
(max_instances), and `crawl` itself takes a per-site lock, so a hand-started crawl cannot overlap either.
The child `crawl` also delivers its visit's alerts when the visit ends (`tracker.alerts`), as a crawl
started by hand does.
"""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.errors import CrawlerError
from crawler.scratch import sweep
from crawler.sites import Site, interval_seconds

logger = logging.getLogger(__name__)
KILL_GRACE_SECONDS = 60
# Takedown notices' deadlines are checked this often (a notice is due at most this late past its deadline).
DEADLINE_CHECK_SECONDS = 15 * 60
DEADLINE_JOB = "~takedown-deadlines"  # not a site name: those are [a-z0-9_-]
TERM_GRACE_SECONDS = 30


class AlreadyRunning(CrawlerError):
    """Another process holds the lock: a watcher on this home, or a visit of this site."""


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (released by the kernel if the process dies, even by SIGKILL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise AlreadyRunning(f"{what} is already running (pid {holder}; lock {path})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def site_lock(home: Path, site: str) -> Path:
    return home / "locks" / f"site-{site}.lock"


def schedule_db(home: Path) -> Path:
    return home / "schedule.db"


def trigger_for(site: Site) -> BaseTrigger:
    if site.cron:
        return CronTrigger.from_crontab(site.cron, timezone=UTC)
    return IntervalTrigger(seconds=interval_seconds(site.every), timezone=UTC)


def spreadtrace_command(home: str, overrides: Mapping[str, str], *args: str) -> list[str]:
    """``spreadtrace --home HOME -s NAME=VALUE ... ARGS`` as a child process runs it (a Twisted reactor
    runs once per process, so every crawl a long-running command starts is a process of its own)."""
    settings = [arg for name, value in overrides.items() for arg in ("-s", f"{name}={value}")]
    return [sys.executable, "-m", "spreadtrace", "--home", home, *settings, *args]


def run_visit(home: str, site: str, overrides: Mapping[str, str], time_limit: float) -> int:
    """One visit of ``site`` in a child process; its exit code (negative: the signal that ended it)."""
    command = spreadtrace_command(home, overrides, "crawl", "--site", site, "--no-progress", "--time-limit", str(time_limit))
    started = time.monotonic()
    logger.warning("visit of %s started", site)
    child = subprocess.Popen(command)
    try:
        code = child.wait(timeout=time_limit + KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        code = _end(child)
        logger.warning("visit of %s ended by signal %d after %.0f s; the next run resumes it", site, -code, time.monotonic() - started)
        return code
    finally:
        sweep(Path(home) / "tmp")
    logger.warning("visit of %s ended with exit code %d after %.1f s", site, code, time.monotonic() - started)
    return code


def run_deadline_check(home: str, overrides: Mapping[str, str]) -> int:
    """`spreadtrace takedown check` in a child process: notices past their deadline are re-checked (a
    targeted visit of their pages), closed, marked overdue or reopened."""
    code = subprocess.run(spreadtrace_command(home, overrides, "takedown", "check")).returncode
    sweep(Path(home) / "tmp")
    return code


def _end(child: subprocess.Popen[bytes]) -> int:
    """Ask the child to stop (it records why and leaves its visit resumable), then kill it."""
    child.terminate()
    try:
        return child.wait(timeout=TERM_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        return child.wait()


class Watcher:
    """The scheduler over a home's job store, synced with the site registry."""

    def __init__(self, home: Path, overrides: Mapping[str, str], time_limit: float) -> None:
        self.home = home
        self.overrides = dict(overrides)
        self.time_limit = time_limit
        store = SQLAlchemyJobStore(url=f"sqlite:///{schedule_db(home)}")
        self.scheduler = BackgroundScheduler(
            jobstores={"default": store},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def start(self, sites: Sequence[Site]) -> list[str]:
        """Start (paused), bring the jobs in line with ``sites``, then run; returns what changed."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.scheduler.start(paused=True)
        changes = self.sync(sites)
        self.scheduler.resume()
        return changes

    def sync(self, sites: Sequence[Site]) -> list[str]:
        changes = []
        wanted = {site.name: site for site in sites}
        if self.scheduler.get_job(DEADLINE_JOB) is None:
            self.scheduler.add_job(run_deadline_check, IntervalTrigger(seconds=DEADLINE_CHECK_SECONDS), id=DEADLINE_JOB,
                                   name="takedown deadlines", args=[str(self.home), self.overrides])  # fmt: skip
        for job in self.scheduler.get_jobs():
            if job.id not in wanted and job.id != DEADLINE_JOB:
                job.remove()
                changes.append(f"{job.id}: removed (no longer in the registry)")
        for site in sites:
            trigger = trigger_for(site)
            args: list[Any] = [str(self.home), site.name, self.overrides, self.time_limit]
            job = self.scheduler.get_job(site.name)
            if job is None:  # a new site is visited right away, then on its schedule
                self.scheduler.add_job(run_visit, trigger, args=args, id=site.name, name=f"visit {site.name}",
                                       next_run_time=datetime.now(UTC))  # fmt: skip
                changes.append(f"{site.name}: scheduled ({site.schedule}), first visit now")
            elif str(job.trigger) != str(trigger) or list(job.args) != args:
                job.modify(args=args)
                job.reschedule(trigger)
                changes.append(f"{site.name}: rescheduled ({site.schedule})")
            else:  # unchanged: keep its next run time, which may be a run missed while stopped
                changes.append(f"{site.name}: next visit {_when(job.next_run_time)}")
        return changes

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)


def next_runs(home: Path) -> dict[str, str | None]:
    """Next run per site from the job store, read without starting a scheduler (for `site status`)."""
    import sqlite3

    path = schedule_db(home)
    if not path.exists():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            rows = conn.execute("SELECT id, next_run_time FROM apscheduler_jobs").fetchall()
        except sqlite3.OperationalError:
            return {}
    return {job: None if at is None else _when(datetime.fromtimestamp(at, UTC)) for job, at in rows}


def _when(moment: datetime | None) -> str:
    return "paused" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
