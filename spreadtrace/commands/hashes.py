"""`spreadtrace case import-hashes|export-hashes`: hash lists exchanged with partners.

An import is one store transaction fed while the list is read: a bad line (unless --skip-bad), Ctrl-C,
SIGTERM or SIGKILL leaves nothing imported. An export is written to a temporary file that replaces the
target only when complete, and is logged in the audit log only once it was.
"""

from __future__ import annotations

import getpass
import itertools
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import BinaryIO

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from matcher.hashlist import BadLine, HashEntry, dump_hash_list, escape_controls, read_hash_list, write_hash_list
from spreadtrace.app import App
from spreadtrace.commands.history import match_earlier_media
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.output import refuse_existing, staged
from spreadtrace.render import plain_column, print_error
from tracker.models import validate_case_id

# Entries between two progress updates: often enough to move, rarely enough to cost nothing.
_PROGRESS_EVERY = 2000
# Entries handed from the reading thread to the import at once, and how often a waiting import looks for a stop.
_CHUNK = 1000
_STOP_CHECK_SECONDS = 0.2


class ImportInterrupted(Exception):
    """Raised into the store's import transaction when the user stops the import, so it rolls back."""


@click.command("import-hashes")
@click.argument("case_id", metavar="CASE")
@click.argument("path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True, readable=False))
@click.option("--skip-bad", is_flag=True, help="Import the good lines even when some lines are malformed.")
@click.pass_obj
def import_hashes(app: App, case_id: str, path: Path, skip_bad: bool) -> None:
    """Add PDQ or vPDQ hashes from FILE ('-': standard input) as references of CASE, with no file behind them.

    FILE holds one PDQ hex per line (optionally ',QUALITY' or ' QUALITY'), CSV with a header naming a
    'pdq', 'hash' or 'signal_value' column, or one video's vPDQ hash (FRAME,QUALITY,PDQ_HEX,SECONDS lines).
    Every malformed line is reported by number; unless --skip-bad is given, nothing is imported while any
    line is bad. The import is all or nothing: interrupted or killed, it leaves nothing imported.
    """
    validate_case_id(case_id)
    source = "stdin" if str(path) == "-" else str(path)
    bad: list[int] = []

    def report(line: BadLine) -> None:
        bad.append(line.line)
        print_error(app.err, f"{source}:{line.line}: {line.reason}")

    with _opened(path, source) as stream, _progress(app, stream) as advance:
        stop = threading.Event()

        def entries() -> Iterator[HashEntry]:
            """Runs in the store's writer thread, inside the import's transaction: raising rolls it back."""
            count = 0
            for count, entry in enumerate(_until_stopped(read_hash_list(stream, report), stop), start=1):
                if count % _PROGRESS_EVERY == 0:
                    advance()
                yield entry
            if bad and not skip_bad:
                raise UserError(f"{source}: {len(bad)} malformed line(s), nothing imported (--skip-bad imports the rest)")
            if not count:
                raise UserError(f"{source}: no hashes found")

        try:
            with _interrupt_on_sigterm():
                added, duplicates = app.tracker.import_hashes(case_id, entries(), Path(source).name)
        except KeyboardInterrupt:
            stop.set()
            app.close()  # waits for the writer thread to roll the transaction back
            print_error(app.err, f"{source}: import interrupted, nothing imported")
            raise click.exceptions.Exit(ReturnCode.FAILED) from None
    earlier = match_earlier_media(app, added) if added else []
    app.out.print(
        f"case {case_id}: {len(added)} hash(es) imported, {duplicates} already held, {len(bad)} line(s) skipped"
    )
    if earlier:
        app.out.print(f"{len(earlier)} sighting(s) found among media seen before")


def _until_stopped(entries: Iterator[HashEntry], stop: threading.Event) -> Iterator[HashEntry]:
    """``entries``, read on a thread of their own and handed over in chunks, so that ``stop`` is seen
    within a moment even while reading waits on standard input (a reader left waiting is a daemon)."""
    chunks: queue.Queue[list[HashEntry] | BaseException | None] = queue.Queue(maxsize=16)

    def read() -> None:
        try:
            while chunk := list(itertools.islice(entries, _CHUNK)):
                chunks.put(chunk)
            chunks.put(None)
        except BaseException as exc:  # handed to the transaction, which rolls back and raises it
            chunks.put(exc)

    threading.Thread(target=read, name="hash-list-reader", daemon=True).start()
    while True:
        try:
            item = chunks.get(timeout=_STOP_CHECK_SECONDS)
        except queue.Empty:
            item = []
        if stop.is_set():
            raise ImportInterrupted()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield from item


@contextmanager
def _opened(path: Path, source: str) -> Iterator[BinaryIO]:
    if str(path) == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise UserError(f"{source}: cannot read hash list: {(exc.strerror or str(exc)).lower()}") from None
    with stream:
        yield stream


@contextmanager
def _progress(app: App, stream: BinaryIO) -> Iterator[Callable[[], None]]:
    """A progress bar of bytes read, on a terminal; ``advance()`` moves it to where the reading is."""
    try:
        total: int | None = os.fstat(stream.fileno()).st_size if stream.seekable() else None
    except (OSError, ValueError):
        total = None
    columns = (plain_column("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=app.err, transient=True, disable=not app.err.is_terminal) as progress:
        task = progress.add_task("importing", total=total)
        yield lambda: progress.update(task, completed=stream.tell() if total is not None else 0)


@contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM stops the import as Ctrl-C does (rolled back, and said so), rather than ending the process
    mid-sentence. Only the main thread can set a handler; elsewhere the default stays."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("export-hashes")
@click.argument("case_id", metavar="CASE")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write here, not to stdout (a folder for vpdq).")
@click.option("--format", "fmt", type=click.Choice(["txt", "csv", "vpdq"]), default="txt", show_default=True,
              help="txt/csv: PDQ of the pictures; vpdq: one vPDQ file per video, into the folder -o names.")
@click.option("--labels", is_flag=True, help="Include reference labels (file names can identify a person).")
@click.option("--force", is_flag=True, help="Replace output files that exist.")
@click.pass_obj
def export_hashes(app: App, case_id: str, output: Path | None, fmt: str, labels: bool, force: bool) -> None:
    """Write CASE's hashes for sharing with partners; the export is recorded in the audit log.

    An existing file is not replaced without --force. Files are written whole or not at all, readable by
    their owner only; a failed export is not logged."""
    app.store.get_case(case_id)
    if fmt == "vpdq" and output is None:
        raise UserError("--format vpdq writes one file per video: name a folder with -o")
    if output is not None and fmt != "vpdq":
        refuse_existing([output], force)
    written: list[Path] = []

    def write(entries: list[HashEntry]) -> None:
        if output is None:
            click.echo(write_hash_list(entries, fmt=fmt, labels=labels), nl=False)
        elif fmt == "vpdq":
            written.extend(_write_vpdq_files(output, entries, labels, force))
        else:
            with staged(output) as stream:
                dump_hash_list(entries, stream, fmt=fmt, labels=labels)
            written.append(output)

    kind = "vpdq" if fmt == "vpdq" else "pdq"
    try:
        entries = app.tracker.export_hashes(
            case_id, actor=getpass.getuser(), destination=str(output) if output else "stdout", fmt=fmt,
            labels=labels, kind=kind, write=write,
        )  # fmt: skip
    except BaseException:
        for path in written:  # written, but the audit log could not say so: an unlogged export must not stay
            path.unlink(missing_ok=True)
        raise
    if output is not None:
        app.err.print(f"{len(entries)} hash(es) of case {case_id} written to {escape_controls(str(output))}")


def _write_vpdq_files(folder: Path, entries: Sequence[HashEntry], labels: bool, force: bool) -> list[Path]:
    """``reference-ID.vpdq.txt`` each, all or none; a label goes in a comment line only when asked for."""
    targets = [folder / f"reference-{entry.line}.vpdq.txt" for entry in entries]
    refuse_existing(targets, force)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{folder}: not a folder (--format vpdq writes one file per video into a folder)") from None
    with ExitStack() as files:  # every file staged before any replaces its target
        for entry, target in zip(entries, targets):
            stream = files.enter_context(staged(target))
            if labels and entry.label:
                stream.write(f"# {escape_controls(entry.label)}\n")
            stream.write(entry.signal.value)
    return targets
