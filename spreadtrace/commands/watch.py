"""`spreadtrace watch`: revisit every registered site on its schedule until stopped."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from crawler.watcher import Watcher, exclusive
from spreadtrace.app import App
from spreadtrace.errors import UserError


@click.command()
@click.option("--time-limit", type=float, default=None, metavar="SECONDS",
              help="Longest one visit may run [SPREADTRACE_VISIT_TIME_LIMIT]; the next run resumes it.")
@click.pass_obj
def watch(app: App, time_limit: float | None) -> None:
    """Visit each registered site on its schedule (every/cron), each visit in its own process.

    Schedules live in HOME/schedule.db: stop and start again, and runs missed meanwhile happen once."""
    registry = app.sites()
    if not len(registry):
        raise UserError(f"no sites in {registry.path} (add one: spreadtrace site add NAME URL)")
    limit = time_limit if time_limit is not None else app.settings.getfloat("SPREADTRACE_VISIT_TIME_LIMIT")
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        stop.set()

    with exclusive(app.home / "watch.lock", f"spreadtrace watch for {app.home}"):
        watcher = Watcher(app.home, app.overrides, limit)
        for line in watcher.start(list(registry)):
            app.err.print(line)
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            app.err.print(f"watching {len(registry)} site(s); stop with Ctrl-C")
            stop.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            app.err.print("stopping: waiting for visits in progress")
            watcher.stop()
