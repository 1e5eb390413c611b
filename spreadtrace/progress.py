"""The progress bar of a command that works through files (`scan`, `hash`): files done of the total, files
per second and the time left, on standard error when it is a terminal, and nothing otherwise (a pipe, a
log, ``--json`` read by a program)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TimeRemainingColumn
from rich.text import Text

from spreadtrace.render import plain_column


class RateColumn(ProgressColumn):
    """Files (or ``unit``) per second over rich's recent window (the first files include the workers' start)."""

    def __init__(self, unit: str = "files") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"-- {self.unit}/s" if speed is None else f"{speed:,.1f} {self.unit}/s", style="progress.data.speed")


@contextmanager
def file_progress(console: Console, verb: str, total: int, unit: str = "files") -> Iterator[Callable[[], None]]:
    """A bar of ``total`` files (or ``unit``); calling what it yields counts one more done.

    Output printed meanwhile to standard output or error still appears, above the bar (rich redirects
    both while the bar is shown)."""
    if not console.is_terminal:  # rich's disabled bar still prints an empty line when it stops
        yield lambda: None
        return
    columns = (plain_column(verb), BarColumn(), MofNCompleteColumn(), RateColumn(unit), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(verb, total=total)
        yield lambda: progress.advance(task)
