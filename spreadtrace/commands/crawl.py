"""`spreadtrace crawl`: one visit of each registered site (or the named ones), now."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

import click
from rich.table import Table

from crawler.runner import VisitSummary, run_visits
from crawler.sites import Site
from crawler.stop import DISK, ERROR
from crawler.watcher import exclusive, site_lock
from spreadtrace.app import App
from spreadtrace.commands.alerts import visit_alerts
from spreadtrace.commands.evidence import stamp_all
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.render import print_error
from tracker.clock import utc_now


def visit(
    app: App, sites: Sequence[Site], progress: bool, *, distributed: bool = False, resume: bool = True,
    time_limit: float | None = None,
) -> list[VisitSummary]:  # fmt: skip
    """Run the visits in this process (a Twisted reactor runs once per process)."""
    settings = app.settings.copy()
    settings.set("SPREADTRACE_PROGRESS", progress, priority="cmdline")
    if distributed:
        settings.set("SPREADTRACE_DISTRIBUTED", True, priority="cmdline")
    if not resume:
        settings.set("SPREADTRACE_RESUME", False, priority="cmdline")
    if time_limit is not None:  # the visit stops cleanly (crawler.stop); the next run resumes it
        settings.set("SPREADTRACE_TIME_LIMIT", time_limit, priority="cmdline")
    with ExitStack() as locks:
        if not distributed:  # one visit of a site at a time, whoever started it (watch, or by hand)
            for site in sites:
                lock = site_lock(app.home, site.name)
                try:
                    locks.enter_context(exclusive(lock, f"a visit of site {site.name!r}"))
                except OSError as exc:  # some (a size limit met at open) name no file: say which
                    raise OSError(exc.errno, exc.strerror, exc.filename or str(lock)) from None
        app.close()  # the crawl opens its own Tracker over the store
        return run_visits(settings, sites, app.err)


def visits_began(app: App, summaries: Sequence[VisitSummary], started: str) -> str:
    """When the earliest of the visits of ``summaries`` began (``started``, this run's start, at the latest)."""
    began = [started]
    for summary in summaries:
        began += [v.started_at for v in app.store.visits(summary.site, limit=5) if v.id == summary.visit_id]
    return min(began)


def print_summaries(app: App, summaries: Sequence[VisitSummary]) -> None:
    table = Table("site", "pages", "removed", "failed", "skipped", "media", "hashed", "unhashable", "sightings", "visit")
    for s in summaries:
        c = s.counts
        ended = s.finish_reason if s.finished or s.finish_reason != "finished" else "finished (others still working)"
        table.add_row(s.site, str(c.pages), str(c.removed_pages), str(c.failed_pages), str(c.skipped_pages), str(c.media),
                      str(c.hashed), str(c.unhashable), str(c.sightings), ended if s.finished else f"{ended}; resumes next run")  # fmt: skip
    app.out.print(table)


@click.command()
@click.option("--site", "names", multiple=True, help="Visit only this site (repeatable).")
@click.option("--progress/--no-progress", default=None, help="Live progress display (default: on a terminal).")
@click.option("--distributed", is_flag=True,
              help="Share the visit with other workers through Redis (SPREADTRACE_REDIS_URL).")
@click.option("--fresh", is_flag=True, help="Start a new visit even if the last one was cut short.")
@click.option("--time-limit", type=float, default=None, metavar="SECONDS",
              help="Stop the visit after this long; the next run resumes it.")
@click.pass_obj
def crawl(
    app: App, names: tuple[str, ...], progress: bool | None, distributed: bool, fresh: bool, time_limit: float | None
) -> None:  # fmt: skip
    """Visit registered sites once: find media, hash it, record sightings, re-check known copies.

    A visit cut short (killed, or over its time limit) is resumed by the next run: pages already done are
    not fetched again, and nothing is recorded twice."""
    registry = app.sites()
    sites = [registry.get(name) for name in names] if names else list(registry)
    if not sites:
        raise UserError(f"no sites in {registry.path} (add one: spreadtrace site add NAME URL)")
    started = utc_now()
    summaries = visit(app, sites, app.err.is_terminal if progress is None else progress, distributed=distributed,
                      resume=not fresh, time_limit=time_limit)  # fmt: skip
    print_summaries(app, summaries)
    stamp_all(app)  # the visit's captures get their trusted time now; a TSA that fails is asked next time
    # Alerts of the visits, from the start of the earliest (a resumed visit began in an earlier run, which
    # may have been killed before it alerted); what was delivered before is not sent again.
    visit_alerts(app, visits_began(app, summaries, started), {s.site for s in summaries})
    # A full disk is the machine's state, not the sites': exit 3, as for any store that cannot be written.
    for summary in summaries:
        if summary.finish_reason.startswith((DISK, ERROR)):
            print_error(app.err, f"visit of {summary.site} stopped: {summary.finish_reason}")
            raise click.exceptions.Exit(ReturnCode.UNAVAILABLE if summary.finish_reason.startswith(DISK) else ReturnCode.FAILED)
    # A distributed worker may find nothing left to do; a failed start is still a failure.
    idle_worker = distributed and all(s.finish_reason == "finished" for s in summaries)
    # Stopped on purpose (time limit, SIGTERM) before a page was done is not a failure: it resumes.
    ran_out = all(s.finish_reason.startswith("finished") for s in summaries)
    if ran_out and all(s.counts.pages == 0 for s in summaries) and not idle_worker:
        print_error(app.err, "no page could be fetched from any site")
        raise click.exceptions.Exit(ReturnCode.FAILED)
