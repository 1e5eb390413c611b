"""`spreadtrace report CASE`: sightings, first appearance and spread, as JSON or text."""

from __future__ import annotations

import json

import click

from spreadtrace.app import App
from spreadtrace.render import render_report
from tracker import build_report


@click.command()
@click.argument("case_id", metavar="CASE")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def report(app: App, case_id: str, fmt: str) -> None:
    """Report where CASE's material was found, where it appeared first and how it spread."""
    built = build_report(app.store, case_id)
    if fmt == "json":
        click.echo(json.dumps(built.to_json(), indent=2))
    else:
        render_report(app.out, built)
