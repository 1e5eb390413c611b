"""Retroactive matching from the CLI: a progress bar while new references meet every media seen before."""

from __future__ import annotations

from collections.abc import Sequence

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from spreadtrace.app import App
from spreadtrace.render import plain_column
from tracker import Reference, Sighting


def match_earlier_media(app: App, references: Sequence[Reference]) -> list[Sighting]:
    """`Tracker.match_history`, showing on a terminal the media compared so far and then the candidates
    judged (a million media take a while, and media with keypoints longer)."""
    columns = (plain_column("matching media seen before"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=app.err, transient=True, disable=not app.err.is_terminal) as progress:
        task = progress.add_task("matching", total=None)
        return app.tracker.match_history(references, lambda done, total: progress.update(task, completed=done, total=total))
