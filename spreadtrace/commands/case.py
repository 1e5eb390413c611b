"""`spreadtrace case add|list` (and `withdraw`, `contacts`): open cases and register reported material as hashes (hash lists: `hashes`)."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress
from rich.table import Table

from dashboards.web.accounts import open_case_to
from matcher.hashlist import label_problem
from spreadtrace.app import App
from spreadtrace.commands.contacts import contacts
from spreadtrace.commands.hashes import export_hashes, import_hashes
from spreadtrace.commands.history import match_earlier_media
from spreadtrace.commands.withdraw import withdraw
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.files import expand_paths
from spreadtrace.jobs import ReferenceJob
from spreadtrace.pool import parallel_map, worker_count
from spreadtrace.render import plain_column, print_error
from tracker import Reference, Sighting
from tracker.models import validate_case_id


@dataclass
class AddOutcome:
    added: list[Reference] = field(default_factory=list)
    duplicates: int = 0
    skipped: int = 0
    earlier_sightings: list[Sighting] = field(default_factory=list)


def add_files(app: App, case_id: str, paths: Sequence[Path], workers: int | None = None) -> AddOutcome:
    """Hash each file as a reference of ``case_id`` (on every core for a folder); the files themselves
    are not kept. References are added in the order given."""
    validate_case_id(case_id)
    outcome = AddOutcome()
    # The file name becomes the label: one with a line break could forge a line of an export.
    files = [(path, problem or label_problem(path.name)) for path, problem in expand_paths(paths)]
    columns = (plain_column("hashing"), BarColumn(), MofNCompleteColumn(), plain_column("{task.fields[name]}"))
    with (
        Progress(*columns, console=app.err, transient=True) as progress,
        parallel_map(ReferenceJob(app.hash_options), files, workers=worker_count(workers, len(files))) as hashed,
    ):
        task = progress.add_task("hashing", total=len(files), name="")
        for item in hashed:
            progress.update(task, name=item.path.name)
            if item.hashes is None:
                print_error(app.err, f"{item.path}: {item.error}")
                outcome.skipped += 1
            else:
                app.store.ensure_case(case_id)
                reference = app.tracker.add_reference(case_id, item.hashes, label=item.path.name)
                if reference is None:
                    outcome.duplicates += 1
                else:
                    outcome.added.append(reference)
            progress.advance(task)
    if outcome.added:
        outcome.earlier_sightings = match_earlier_media(app, outcome.added)
    return outcome


@click.group()
def case() -> None:
    """Open cases and register the reported material (kept as hashes only)."""


@case.command("add")
@click.argument("case_id", metavar="CASE")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes hashing at once [default: one per core; one for a few files].")  # fmt: skip
@click.pass_obj
def case_add(app: App, case_id: str, paths: tuple[Path, ...], workers: int | None) -> None:
    """Hash image and video files, or folders of them, as references of CASE (created if new).

    Only hashes are stored, never the files. Media crawled before is matched at once. A file or folder that
    cannot be used gets one error line and the rest are added; exit 1 only if nothing could be.
    """
    outcome = add_files(app, case_id, paths, workers)
    app.out.print(
        f"case {case_id}: {len(outcome.added)} reference(s) added, {outcome.duplicates} already registered, "
        f"{outcome.skipped} file(s) skipped"
    )
    if outcome.earlier_sightings:
        app.out.print(f"{len(outcome.earlier_sightings)} sighting(s) found among media seen before")
    if outcome.skipped and not (outcome.added or outcome.duplicates):
        raise click.exceptions.Exit(ReturnCode.FAILED)


@case.command("list")
@click.pass_obj
def case_list(app: App) -> None:
    """List cases with their reference and sighting counts."""
    cases = app.store.list_cases()
    if not cases:
        app.out.print("no cases yet (open one: spreadtrace case add CASE FILES...)")
        return
    table = Table("case", "created", "references", "sightings", "status")
    for c in cases:
        status = f"withdrawn {c.withdrawn_at}" if c.withdrawn_at else "open"
        sightings = sum(1 for s in app.store.sightings(c.id) if not s.rejected)  # as the report counts them
        table.add_row(c.id, c.created_at, str(c.reference_count), str(sightings), status)
    app.out.print(table)


@case.command("restrict")
@click.argument("case_id", metavar="CASE")
@click.argument("names", nargs=-1)
@click.option("--everyone", is_flag=True, help="Open CASE to every dashboard account again.")
@click.pass_obj
def case_restrict(app: App, case_id: str, names: tuple[str, ...], everyone: bool) -> None:
    """Show CASE on the dashboard only to the accounts NAMES (and admins); --everyone lifts that.
    Any other account is told the case does not exist."""
    if bool(names) == everyone:
        raise UserError("give the account names CASE is open to, or --everyone")
    case = app.store.get_case(case_id)
    if unknown := open_case_to(app.store, case.id, names, actor=getpass.getuser(), via="cli"):
        raise UserError(f"no dashboard account called {', '.join(unknown)} (see: spreadtrace user add)")
    app.out.print(f"case {case.id}: open to {', '.join(names) + ' and admins' if names else 'every account'}")


case.add_command(import_hashes)
case.add_command(export_hashes)
case.add_command(withdraw)
case.add_command(contacts)
