"""`spreadtrace demo`: the whole job on simulated sites, for a newcomer. No real person's image is used."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from crawler.sites import Site
from simsites import START_PATHS, running_world
from spreadtrace.app import App
from spreadtrace.commands.case import add_files
from spreadtrace.commands.crawl import print_summaries, visit
from spreadtrace.render import render_report
from tracker import build_report

DEMO_CASE = "demo"


@click.command()
@click.option("--progress/--no-progress", default=None, help="Live progress display (default: on a terminal).")
@click.pass_obj
def demo(app: App, progress: bool | None) -> None:
    """Start four simulated hosting sites on loopback, open a demo case, crawl, and report.

    Uses a fresh temporary home unless --home is given, so your own data is never touched.
    """
    app.out.print(f"spreadtrace demo: data in {app.home}")
    with running_world() as world:
        with tempfile.TemporaryDirectory(prefix="spreadtrace-report-") as reported:
            # The "reported files" a victim hands over; hashed, then deleted with the folder.
            for name, data in world.reference_files().items():
                (Path(reported) / name).write_bytes(data)
            outcome = add_files(app, DEMO_CASE, [Path(reported)])
        app.out.print(f"case {DEMO_CASE}: {len(outcome.added)} reference(s) registered as hashes")
        registry = app.sites()
        for name, server in world.sites.items():
            registry.add(
                Site(name, (server.url(START_PATHS[name]),), (server.host,), "6h", delay=0.0, allow_private=True), replace=True
            )  # the simulated sites live on loopback
        registry.save()
        app.out.print(f"sites: {', '.join(s.name + ' ' + s.start_urls[0] for s in registry)}")
        summaries = visit(app, list(registry), app.err.is_terminal if progress is None else progress)
    print_summaries(app, summaries)
    render_report(app.out, build_report(app.store, DEMO_CASE))
    app.out.print(f"\nExplore: spreadtrace --home {app.home} report {DEMO_CASE} --format json")


def demo_home() -> Path:
    return Path(tempfile.mkdtemp(prefix="spreadtrace-demo-"))
