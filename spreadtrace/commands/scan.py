"""`spreadtrace scan`: match local files against every case, on every core, without recording anything.

Files are hashed and matched by worker processes (`spreadtrace.pool`, `spreadtrace.jobs.ScanJob`) and
printed in the order given as they come back, so a scan of 100,000 files holds a few records at a time.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spreadtrace.pool import parallel_map, worker_count
from spreadtrace.app import App
from spreadtrace.errors import ReturnCode
from spreadtrace.files import expand_paths
from spreadtrace.jobs import ScanJob, ScanRecord
from spreadtrace.progress import file_progress
from spreadtrace.render import print_error

# Files per printed table: a long scan shows its results as it goes, and never holds more than these rows.
TABLE_ROWS = 1000


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes hashing at once [default: one per core; one for a few files].")  # fmt: skip
@click.pass_obj
def scan(app: App, paths: tuple[Path, ...], as_json: bool, workers: int | None) -> None:
    """Check local image and video files against every case's references, on every core.

    A file or folder that cannot be read (missing, no permission, a broken link, corrupt) gets one error
    line and the rest are scanned; exit 1 only if nothing could be. Results are printed in the order
    given; a progress bar (files/s, time left) shows on standard error when it is a terminal."""
    files = list(expand_paths(paths))
    store_uri = app.settings["SPREADTRACE_STORE_URI"]
    app.store  # created, migrated and made private here, before any worker reads it
    job = ScanJob(store_uri, app.tracker.policy, app.hash_options)
    output: _Output = _JsonOutput() if as_json else _TableOutput(app.out)
    scanned = 0
    with (
        file_progress(app.err, "scanning", len(files)) as advance,
        parallel_map(job, files, workers=worker_count(workers, len(files))) as records,
    ):
        for record in records:
            output.add(record)
            if record["error"]:
                print_error(app.err, f"{record['path']}: {record['error']}")
            else:
                scanned += 1
            advance()
    output.close()
    if not scanned:
        raise click.exceptions.Exit(ReturnCode.FAILED)


class _Output:
    def add(self, record: ScanRecord) -> None: ...

    def close(self) -> None: ...


class _JsonOutput(_Output):
    """One JSON array, written an element at a time: the same text ``json.dumps(records, indent=2)`` gives."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, record: ScanRecord) -> None:
        click.echo(("[\n" if not self.count else ",\n") + textwrap.indent(json.dumps(record, indent=2), "  "), nl=False)
        self.count += 1

    def close(self) -> None:
        click.echo("\n]" if self.count else "[]")


class _TableOutput(_Output):
    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: list[tuple[str, Text | str]] = []

    def add(self, record: ScanRecord) -> None:
        found = "; ".join(
            f"{m['case']} / {m['reference_label']}: {m['verdict'].replace('_', ' ')} "
            f"({m['decided_by']}, confidence {m['confidence']:.2f})"
            for m in record["matches"]
        )
        self.rows.append((record["path"], Text(record["error"], style="red") if record["error"] else (found or "-")))
        if len(self.rows) == TABLE_ROWS:
            self.close()

    def close(self) -> None:
        if self.rows:
            table = Table("file", "matches")
            for row in self.rows:
                table.add_row(*row)
            self.console.print(table)
            self.rows = []
