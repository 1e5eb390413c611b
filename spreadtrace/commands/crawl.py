"""`spreadtrace crawl`: one visit of each registered site (or the named ones), now."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.table import Table

from crawler.runner import VisitSummary, run_visits
from crawler.sites import Site
from spreadtrace.app import App
from spreadtrace.errors import ReturnCode, UserError


def visit(app: App, sites: Sequence[Site], progress: bool) -> list[VisitSummary]:
    """Run the visits in this process (a Twisted reactor runs once per process)."""
    settings = app.settings.copy()
    settings.set("SPREADTRACE_PROGRESS", progress, priority="cmdline")
    app.close()  # the crawl's pipeline opens the store itself; writes go through its writer thread
    return run_visits(settings, sites, app.err)


def print_summaries(app: App, summaries: Sequence[VisitSummary]) -> None:
    table = Table("site", "pages", "media", "hashed", "unhashable", "sightings", "finished")
    for s in summaries:
        table.add_row(s.site, str(s.pages), str(s.media), str(s.hashed), str(s.unhashable), str(s.sightings),
                      s.finish_reason)  # fmt: skip
    app.out.print(table)


@click.command()
@click.option("--site", "names", multiple=True, help="Visit only this site (repeatable).")
@click.option("--progress/--no-progress", default=None, help="Live progress display (default: on a terminal).")
@click.pass_obj
def crawl(app: App, names: tuple[str, ...], progress: bool | None) -> None:
    """Visit registered sites once: find media, hash it, record sightings."""
    registry = app.sites()
    sites = [registry.get(name) for name in names] if names else list(registry)
    if not sites:
        raise UserError(f"no sites in {registry.path} (add one: spreadtrace site add NAME URL)")
    summaries = visit(app, sites, app.err.is_terminal if progress is None else progress)
    print_summaries(app, summaries)
    if all(s.pages == 0 for s in summaries):
        app.err.print("error: no page could be fetched from any site", markup=False)
        raise click.exceptions.Exit(ReturnCode.FAILED)
