"""`spreadtrace report CASE`: sightings, first appearance and spread, as text, JSON, or pictures (HTML, PDF)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from spreadtrace.app import App
from spreadtrace.errors import UserError, one_line
from spreadtrace.output import refuse_existing, write_whole
from spreadtrace.render import render_report
from tracker import build_report
from tracker.chromium import find_chromium
from tracker.pictures import build_pictures, log_export, report_document


@click.command()
@click.argument("case_id", metavar="CASE")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html", "pdf"]), default="text", show_default=True,
              help="html and pdf draw the timeline and spread graph, with blurred previews from the evidence.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to this file (whole or not at all) instead of the standard output; needed for pdf.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.pass_obj
def report(app: App, case_id: str, fmt: str, output: Path | None, force: bool) -> None:
    """Report where CASE's material was found, where it appeared first and how it spread.

    The HTML and PDF reports show previews of the captured copies, blurred on the server, which means
    decrypting evidence: each such report is recorded in the case's custody log and the audit log."""
    if fmt == "pdf" and output is None:
        raise UserError("--format pdf writes a file: name it with -o FILE")
    if fmt == "text" and output is not None:
        raise UserError("-o writes json, html or pdf: the text report is for the terminal")
    if output is not None:
        refuse_existing([output], force)
    built = build_report(app.store, case_id)
    if fmt == "text":
        render_report(app.out, built)
        return
    pictures = build_pictures(app.store, built, app.sites().site_of)
    if fmt == "json":
        content = (json.dumps({**built.to_json(), **pictures.to_json()}, indent=2) + "\n").encode()
        _deliver(output, content)
        return
    document = report_document(built, pictures, app.vault, "pdf" if fmt == "pdf" else "html",
                               lambda: find_chromium(app.settings.get("SPREADTRACE_CHROMIUM")))  # fmt: skip
    destination = "stdout" if output is None else str(output)
    if output is None:  # once written to the terminal it cannot be taken back: logged first
        log_export(app.store, app.vault, case_id, document, actor=getpass.getuser(), destination=destination)
        _deliver(None, document.content)
        return
    _deliver(output, document.content)
    try:
        log_export(app.store, app.vault, case_id, document, actor=getpass.getuser(), destination=destination)
    except BaseException:
        output.unlink(missing_ok=True)  # an export the logs cannot tell of must not stay
        raise
    app.err.print(f"report of case {case_id} written to {one_line(str(output))}", markup=False, highlight=False)


def _deliver(output: Path | None, content: bytes) -> None:
    if output is None:
        click.echo(content.decode(), nl=False)
    else:
        write_whole(output, content)
