"""What the CLI prints on a terminal: its consoles, and the text form of a report.

Nearly everything printed holds text from outside: file names, labels, URLs, case and site names, the
reasons sites give. Rich would read ``[/]x.jpg`` as markup (and crash) or ``[bold red]x.jpg`` as a style
(and lose the name), so the CLI's consoles read no markup, emoji codes or highlighting at all, and style is
given as `Text` spans, never as markup inside a string. Progress columns take the same care, and the report
puts outside text in `Text` too, so it renders the same on any console.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import TextColumn
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from spreadtrace.errors import one_line
from tracker import Report
from tracker.report import Appearance
from tracker.states import Basis, Verdict


def plain_console(*, stderr: bool = False) -> Console:
    """A console that prints strings exactly as they are: no markup, no emoji codes, no highlighting."""
    return Console(stderr=stderr, soft_wrap=True, markup=False, emoji=False, highlight=False)


def print_error(console: Console, message: str) -> None:
    """One ``error:`` line, whatever ``message`` holds (a file name with a line break in it)."""
    console.print(Text(f"error: {one_line(message)}"))


def print_warning(console: Console, message: str) -> None:
    """One ``warning:`` line: something the command did not do, though its work is done."""
    console.print(Text(f"warning: {one_line(message)}"))


def plain_column(template: str) -> TextColumn:
    """A progress column whose fields (a file name) are shown as they are, not read as markup."""
    return TextColumn(template, markup=False)


def render_report(console: Console, report: Report) -> None:
    case, summary = report.case, report.summary
    labels = {ref.id: ref.label or f"reference {ref.id}" for ref in report.references}
    review = f", {summary.needs_review} need review" if summary.needs_review else ""
    review += f", {len(report.rejected)} candidate(s) rejected" if report.rejected else ""
    console.print(Text.assemble(
        (f"Case {case.id}", "bold"),
        f": {case.reference_count} reference(s), {summary.sightings} sighting(s) on {summary.hosts} host(s), "
        f"{summary.online} online{review}",
    ))  # fmt: skip
    first, candidate = report.first_appearance, report.earliest_candidate
    if first is None and candidate is None:
        console.print("No sightings yet.")
        _rejected(console, report, labels)
        return
    if first is not None:
        _appearance(console, "First appearance", first, labels)
    else:
        console.print(Text.assemble(("First appearance", "bold"), ": none confirmed yet"))
    if candidate is not None:
        _appearance(console, "Earlier candidate, needs review (not confirmed)", candidate, labels)
    tree = Tree(Text.assemble(("Spread", "bold"), " (hosts in order of first appearance, confirmed matches)"))
    for number, host in enumerate(report.spread, 1):
        site = f" ({host.site})" if host.site else ""
        tree.add(Text(f"{number}. {host.host}{site}: from {host.first_appeared} ({host.basis}), {host.sighting_count} sighting(s)"))
    console.print(tree)
    timeline = Table(title="Timeline of copies", title_justify="left")
    for column in ("appeared", "basis", "reference", "verdict", "match", "status", "page", "file"):
        timeline.add_column(column, overflow="fold", no_wrap=column == "appeared")
    for s in sorted(report.sightings, key=lambda s: (s.appeared_at, s.id)):
        verdict = Text("match") if s.verdict is Verdict.MATCH else Text("needs review", style="yellow")
        if s.confidence is not None:
            verdict.append(f" {s.confidence:.2f}")
        timeline.add_row(s.appeared_at[:16].replace("T", " "), str(s.appeared_basis), Text(labels.get(s.reference_id, "?")),
                         verdict, f"{s.decided_by} {s.distance}", str(s.status), Text(s.page_url),
                         Text(file_name(s.media_url)))  # fmt: skip
    console.print(timeline)
    _rejected(console, report, labels)


def _rejected(console: Console, report: Report, labels: dict[int, str]) -> None:
    if not report.rejected:
        return
    table = Table(title="Rejected by analysts (not copies: not counted above, never in a notice)", title_justify="left")
    for column in ("sighting", "reference", "rejected", "by", "why", "page", "file"):
        table.add_column(column, overflow="fold", no_wrap=column == "rejected")
    for r in report.rejected:
        table.add_row(str(r.sighting_id), Text(labels.get(r.reference_id, "?")), r.rejected_at[:16].replace("T", " "),
                      Text(r.rejected_by), Text(r.why), Text(r.page_url), Text(file_name(r.media_url)))  # fmt: skip
    console.print(table)


def _appearance(console: Console, title: str, seen: Appearance, labels: dict[int, str]) -> None:
    basis = f"claimed by the page, {seen.claimed_source}" if seen.basis is Basis.CLAIMED else "observed by us"
    console.print(Text.assemble((title, "bold"), f": {seen.time} ({basis}) on {seen.host}"))
    console.print(Text(f"  page  {seen.page_url}\n  media {seen.media_url}\n  of    {labels.get(seen.reference_id)}"))


def file_name(url: str) -> str:
    """The media URL's last path segment and query: what tells two copies on one page apart."""
    parts = urlsplit(url)
    name = parts.path.rsplit("/", 1)[-1] or parts.path
    return f"{name}?{parts.query}" if parts.query else name
