"""The text form of a report: what an analyst reads on the terminal."""

from __future__ import annotations

from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from tracker import Report
from tracker.report import Appearance
from tracker.states import Basis, Verdict


def render_report(console: Console, report: Report) -> None:
    case, summary = report.case, report.summary
    labels = {ref.id: ref.label or f"reference {ref.id}" for ref in report.references}
    review = f", {summary.needs_review} need review" if summary.needs_review else ""
    console.print(
        f"[bold]Case {case.id}[/bold]: {case.reference_count} reference(s), "
        f"{summary.sightings} sighting(s) on {summary.hosts} host(s), {summary.online} online{review}",
        markup=True, highlight=False,
    )  # fmt: skip
    first, candidate = report.first_appearance, report.earliest_candidate
    if first is None and candidate is None:
        console.print("No sightings yet.")
        return
    if first is not None:
        _appearance(console, "First appearance", first, labels)
    else:
        console.print("[bold]First appearance[/bold]: none confirmed yet")
    if candidate is not None:
        _appearance(console, "Earlier candidate, needs review (not confirmed)", candidate, labels)
    tree = Tree("[bold]Spread[/bold] (hosts in order of first appearance, confirmed matches)")
    for number, host in enumerate(report.spread, 1):
        site = f" ({host.site})" if host.site else ""
        tree.add(escape(f"{number}. {host.host}{site}: from {host.first_appeared} ({host.basis}), {host.sighting_count} sighting(s)"))
    console.print(tree)
    timeline = Table(title="Timeline of copies", title_justify="left")
    for column in ("appeared", "basis", "reference", "verdict", "match", "status", "page", "file"):
        timeline.add_column(column, overflow="fold", no_wrap=column == "appeared")
    for s in sorted(report.sightings, key=lambda s: (s.appeared_at, s.id)):
        verdict = "match" if s.verdict is Verdict.MATCH else "[yellow]needs review[/yellow]"
        confidence = "" if s.confidence is None else f" {s.confidence:.2f}"
        timeline.add_row(s.appeared_at[:16].replace("T", " "), str(s.appeared_basis), escape(labels.get(s.reference_id, "?")),
                         verdict + confidence, f"{s.decided_by} {s.distance}", str(s.status), escape(s.page_url),
                         escape(_file_name(s.media_url)))  # fmt: skip
    console.print(timeline)


def _appearance(console: Console, title: str, seen: Appearance, labels: dict[int, str]) -> None:
    basis = f"claimed by the page, {seen.claimed_source}" if seen.basis is Basis.CLAIMED else "observed by us"
    console.print(f"[bold]{title}[/bold]: {seen.time} ({escape(basis)}) on {escape(seen.host)}", highlight=False)
    console.print(f"  page  {seen.page_url}\n  media {seen.media_url}\n  of    {labels.get(seen.reference_id)}",
                  markup=False, highlight=False)  # fmt: skip


def _file_name(url: str) -> str:
    """The media URL's last path segment and query: what tells two copies on one page apart."""
    parts = urlsplit(url)
    name = parts.path.rsplit("/", 1)[-1] or parts.path
    return f"{name}?{parts.query}" if parts.query else name
