"""The text form of a report: what an analyst reads on the terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree


def render_report(console: Console, report: dict[str, Any]) -> None:
    case, summary = report["case"], report["summary"]
    labels = {ref["id"]: ref["label"] or f"reference {ref['id']}" for ref in report["references"]}
    console.print(
        f"[bold]Case {case['id']}[/bold]: {case['reference_count']} reference(s), "
        f"{summary['sightings']} sighting(s) on {summary['hosts']} host(s), {summary['online']} online"
    )
    first = report["first_appearance"]
    if first is None:
        console.print("No sightings yet.")
        return
    basis = f"claimed by the page, {first['claimed_source']}" if first["basis"] == "claimed" else "observed by us"
    console.print(
        f"[bold]First appearance[/bold]: {first['time']} ({basis}) on {first['host']}\n  page  {first['page_url']}"
        f"\n  media {first['media_url']}\n  of    {labels.get(first['reference_id'])}",
        highlight=False,
    )
    tree = Tree("[bold]Spread[/bold] (hosts in order of first appearance)")
    for number, host in enumerate(report["spread"], 1):
        site = f" ({host['site']})" if host["site"] else ""
        tree.add(f"{number}. {host['host']}{site}: from {host['first_appeared']} ({host['basis']}), "
                 f"{host['sighting_count']} sighting(s)")  # fmt: skip
    console.print(tree)
    timeline = Table(title="Timeline of copies", title_justify="left")
    for column in ("appeared", "basis", "reference", "match", "status", "page"):
        timeline.add_column(column, overflow="fold", no_wrap=column == "appeared")
    for s in sorted(report["sightings"], key=lambda s: (s["appeared_at"], s["id"])):
        timeline.add_row(s["appeared_at"].replace("T", " ").removesuffix(":00Z"), s["appeared_basis"], labels.get(s["reference_id"], "?"),
                         f"{s['decided_by']} {s['distance']}", s["status"], s["page_url"])  # fmt: skip
    console.print(timeline)
