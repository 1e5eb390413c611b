"""`spreadtrace hash`: hash files on every core into a hash list, to hand over the hashes, not the files.

The StopNCII way: whoever holds the pictures (the person in them, a partner) hashes them on their own
machine and passes on only the list, which `case import-hashes` reads. Only what the list carries is
computed (`matcher.media.exchange_hash`: PDQ of a picture, vPDQ of a video), the value `case add` keeps
and `case export-hashes` writes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import click

from matcher.hashlist import HashEntry, dump_hash_list, escape_controls
from spreadtrace.pool import parallel_map, worker_count
from spreadtrace.app import App
from spreadtrace.errors import ReturnCode
from spreadtrace.files import expand_paths
from spreadtrace.jobs import HashJob, ListedHash
from spreadtrace.output import refuse_existing, staged
from spreadtrace.progress import file_progress
from spreadtrace.render import print_error


@click.command("hash")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write the list here, not to stdout.")
@click.option("--format", "fmt", type=click.Choice(["txt", "csv"]), default="txt", show_default=True,
              help="txt: PDQ_HEX,QUALITY lines (what pdq-photo-hasher prints); csv: HMA-style columns.")
@click.option("--vpdq-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write each video's vPDQ hash into this folder, as video-N.vpdq.txt (one video per list).")
@click.option("--labels", is_flag=True, help="Include file names (a file name can identify a person).")
@click.option("--force", is_flag=True, help="Replace output files that exist.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes hashing at once [default: one per core; one for a few files].")  # fmt: skip
@click.pass_obj
def hash_files(
    app: App, paths: tuple[Path, ...], output: Path | None, fmt: str, vpdq_dir: Path | None, labels: bool,
    force: bool, workers: int | None,
) -> None:  # fmt: skip
    """Hash image and video files, or folders of them, into a list that `case import-hashes` reads.

    Pictures become PDQ lines of one list, in the order given; videos one vPDQ file each, with --vpdq-dir.
    Nothing else is computed, and the files are neither kept nor sent anywhere. A file that cannot be
    hashed gets one error line and the rest are hashed; exit 1 only if none could be. A list is written
    whole or not at all, readable by its owner only, and no file is replaced without --force."""
    if output is not None:
        refuse_existing([output], force)
    files = list(expand_paths(paths))
    job = HashJob(app.hash_options, videos=vpdq_dir is not None)
    listing = _Listing(app, labels, _VideoFolder(vpdq_dir, labels, force) if vpdq_dir is not None else None)
    with (
        file_progress(app.err, "hashing", len(files)) as advance,
        parallel_map(job, files, workers=worker_count(workers, len(files))) as hashed,
    ):
        pictures = listing.pictures(hashed, advance)
        if output is None:
            dump_hash_list(pictures, sys.stdout, fmt=fmt, labels=labels)
        else:
            try:
                with staged(output) as stream:
                    if not dump_hash_list(pictures, stream, fmt=fmt, labels=labels):
                        raise _NoPictures()  # no list rather than an empty one: staged removes it
                app.err.print(f"{listing.pictures_listed} hash(es) written to {escape_controls(str(output))}")
            except _NoPictures:
                pass
    if listing.videos is not None and listing.videos.written:
        app.err.print(f"{listing.videos.written} video hash(es) written to {escape_controls(str(vpdq_dir))}")
    if not listing.pictures_listed and not (listing.videos and listing.videos.written):
        raise click.exceptions.Exit(ReturnCode.FAILED)


class _NoPictures(Exception):
    pass


class _Listing:
    """Files' hashes as they come back: pictures' as list entries, videos' to their folder, errors as lines."""

    def __init__(self, app: App, labels: bool, videos: _VideoFolder | None) -> None:
        self.app, self.labels, self.videos = app, labels, videos
        self.pictures_listed = 0

    def pictures(self, hashed: Iterable[ListedHash], advance: Callable[[], None]) -> Iterator[HashEntry]:
        for number, item in enumerate(hashed, start=1):
            advance()
            problem = item.error
            if item.signal is not None and item.signal.kind == "pdq":
                self.pictures_listed += 1
                yield HashEntry(number, item.signal, item.path.name if self.labels else None)
            elif item.signal is not None and self.videos is not None:
                problem = self.videos.write(item)
            if problem is not None:
                print_error(self.app.err, f"{item.path}: {problem}")


class _VideoFolder:
    """One vPDQ file per video, ``video-N.vpdq.txt`` numbered in the order given, each written whole."""

    def __init__(self, folder: Path, labels: bool, force: bool) -> None:
        self.folder, self.labels, self.force = folder, labels, force
        self.written = 0

    def write(self, item: ListedHash) -> str | None:
        """Write ``item``'s vPDQ; the reason it could not be, or None."""
        assert item.signal is not None
        target = self.folder / f"video-{self.written + 1}.vpdq.txt"
        if target.exists() and not self.force:
            return f"{target} exists (use --force to replace it)"
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with staged(target) as stream:
            if self.labels:
                stream.write(f"# {escape_controls(item.path.name)}\n")
            stream.write(item.signal.value)
        self.written += 1
        return None
