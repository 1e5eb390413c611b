"""`spreadtrace case add|list`: open cases and register reported material as hashes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import getpass
import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from matcher import UnhashableContent, hash_file
from matcher.hashlist import HashEntry, parse_hash_list, write_hash_list
from spreadtrace.app import App
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.files import expand_paths
from tracker import Reference, Sighting
from tracker.models import validate_case_id


@dataclass
class AddOutcome:
    added: list[Reference] = field(default_factory=list)
    duplicates: int = 0
    skipped: int = 0
    earlier_sightings: list[Sighting] = field(default_factory=list)


def add_files(app: App, case_id: str, paths: Sequence[Path]) -> AddOutcome:
    """Hash each file as a reference of ``case_id``; the files themselves are not kept."""
    validate_case_id(case_id)
    outcome = AddOutcome()
    files = list(expand_paths(paths))
    columns = (TextColumn("hashing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[name]}"))
    with Progress(*columns, console=app.err, transient=True) as progress:
        task = progress.add_task("hashing", total=len(files), name="")
        for path, problem in files:
            progress.update(task, name=path.name)
            try:
                if problem:
                    raise UnhashableContent(problem)
                hashes = hash_file(path, app.hash_options, reference=True)
            except UnhashableContent as exc:
                app.err.print(f"error: {path}: {exc}", markup=False, highlight=False)
                outcome.skipped += 1
            else:
                app.store.ensure_case(case_id)
                reference = app.tracker.add_reference(case_id, hashes, label=path.name)
                if reference is None:
                    outcome.duplicates += 1
                else:
                    outcome.added.append(reference)
            progress.advance(task)
    if outcome.added:
        outcome.earlier_sightings = app.tracker.match_history(outcome.added)
    return outcome


@click.group()
def case() -> None:
    """Open cases and register the reported material (kept as hashes only)."""


@case.command("add")
@click.argument("case_id", metavar="CASE")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.pass_obj
def case_add(app: App, case_id: str, paths: tuple[Path, ...]) -> None:
    """Hash image and video files, or folders of them, as references of CASE (created if new).

    Only hashes are stored, never the files. Media crawled before is matched at once.
    """
    outcome = add_files(app, case_id, paths)
    message = (
        f"case {case_id}: {len(outcome.added)} reference(s) added, {outcome.duplicates} already registered, "
        f"{outcome.skipped} file(s) skipped"
    )
    app.out.print(message, markup=False, highlight=False)
    if outcome.earlier_sightings:
        app.out.print(f"{len(outcome.earlier_sightings)} sighting(s) found among media seen before", markup=False)
    if outcome.skipped and not (outcome.added or outcome.duplicates):
        raise click.exceptions.Exit(ReturnCode.FAILED)


@case.command("list")
@click.pass_obj
def case_list(app: App) -> None:
    """List cases with their reference and sighting counts."""
    cases = app.store.list_cases()
    if not cases:
        app.out.print("no cases yet (open one: spreadtrace case add CASE FILES...)", markup=False)
        return
    table = Table("case", "created", "references", "sightings")
    for c in cases:
        table.add_row(c.id, c.created_at, str(c.reference_count), str(len(app.store.sightings(c.id))))
    app.out.print(table)


@case.command("import-hashes")
@click.argument("case_id", metavar="CASE")
@click.argument("path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--skip-bad", is_flag=True, help="Import the good lines even when some lines are malformed.")
@click.pass_obj
def case_import_hashes(app: App, case_id: str, path: Path, skip_bad: bool) -> None:
    """Add PDQ or vPDQ hashes from FILE ('-': standard input) as references of CASE, with no file behind them.

    FILE holds one PDQ hex per line (optionally ',QUALITY' or ' QUALITY'), CSV with a header naming a
    'pdq', 'hash' or 'signal_value' column, or one video's vPDQ hash (FRAME,QUALITY,PDQ_HEX,SECONDS lines). Every malformed line is reported by number; unless
    --skip-bad is given, nothing is imported while any line is bad.
    """
    validate_case_id(case_id)
    source = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{source}: cannot read hash list: {exc}") from None
    entries, bad = parse_hash_list(text)
    for line in bad:
        app.err.print(f"error: {source}:{line.line}: {line.reason}", markup=False, highlight=False)
    if bad and not skip_bad:
        raise UserError(f"{source}: {len(bad)} malformed line(s), nothing imported (--skip-bad imports the rest)")
    if not entries:
        raise UserError(f"{source}: no hashes found")
    app.store.ensure_case(case_id)
    added, duplicates = app.tracker.import_hashes(case_id, entries, Path(source).name)
    earlier = app.tracker.match_history(added) if added else []
    message = f"case {case_id}: {len(added)} hash(es) imported, {duplicates} already held, {len(bad)} line(s) skipped"
    app.out.print(message, markup=False, highlight=False)
    if earlier:
        app.out.print(f"{len(earlier)} sighting(s) found among media seen before", markup=False)


@case.command("export-hashes")
@click.argument("case_id", metavar="CASE")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not to stdout (a folder for vpdq).")
@click.option("--format", "fmt", type=click.Choice(["txt", "csv", "vpdq"]), default="txt", show_default=True,
              help="txt/csv: PDQ of the pictures; vpdq: one vPDQ file per video, into the folder -o names.")
@click.option("--labels", is_flag=True, help="Include reference labels (file names can identify a person).")
@click.pass_obj
def case_export_hashes(app: App, case_id: str, output: Path | None, fmt: str, labels: bool) -> None:
    """Write CASE's hashes for sharing with partners; the export is recorded in the audit log."""
    app.store.get_case(case_id)
    if fmt == "vpdq" and output is None:
        raise UserError("--format vpdq writes one file per video: name a folder with -o")
    destination = str(output) if output else "stdout"
    kind = "vpdq" if fmt == "vpdq" else "pdq"
    entries = app.tracker.export_hashes(
        case_id, actor=getpass.getuser(), destination=destination, fmt=fmt, labels=labels, kind=kind
    )
    if output is not None and fmt == "vpdq":
        _write_vpdq_files(output, entries, labels)
    elif output is None:
        click.echo(write_hash_list(entries, fmt=fmt, labels=labels), nl=False)
    else:
        _write(output, write_hash_list(entries, fmt=fmt, labels=labels))
    if output is not None:
        app.err.print(f"{len(entries)} hash(es) of case {case_id} written to {output}", markup=False, highlight=False)


def _write_vpdq_files(folder: Path, entries: Sequence[HashEntry], labels: bool) -> None:
    """``reference-ID.vpdq.txt`` each; a label goes in a comment line only when asked for."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create folder: {exc.strerror or exc}") from None
    for entry in entries:
        header = f"# {entry.label}\n" if labels and entry.label else ""
        _write(folder / f"reference-{entry.line}.vpdq.txt", header + entry.signal.value)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
