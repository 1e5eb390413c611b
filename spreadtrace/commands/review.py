"""`spreadtrace review list|confirm|reject`: needs-review candidates, and an analyst's decision on each."""

from __future__ import annotations

import getpass
import json

import click
from rich.table import Table
from rich.text import Text

from spreadtrace.app import App
from spreadtrace.render import file_name
from tracker import Sighting
from tracker.review import confirm, queue, reject

_WHY = "Why, as the record and the audit log will keep it (e.g. \"another cat, same sofa\")."
_ACTOR = "Who decides [default: the login user]."


@click.group()
def review() -> None:
    """Needs-review candidates: look at them, then confirm or reject each.

    A confirmed candidate becomes a match (in reports and notices). A rejected one leaves reports and
    notices, and its media goes on its reference's allowlist (by SHA-256 and PDQ), so neither it nor a
    near duplicate becomes a candidate of that reference again, from the next crawl on.
    """


@review.command("list")
@click.argument("case_id", metavar="[CASE]", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def review_list(app: App, case_id: str | None, fmt: str) -> None:
    """List the candidates no analyst has decided, of CASE or of every case, oldest first."""
    candidates = queue(app.store, case_id)
    labels = _labels(app, candidates)
    if fmt == "json":
        click.echo(json.dumps([_entry(s, labels) for s in candidates], indent=2))
        return
    if not candidates:
        app.out.print("nothing to review" + (f" in case {case_id}" if case_id else ""))
        return
    table = Table(title=f"{len(candidates)} candidate(s) to review", title_justify="left")
    for column in ("sighting", "case: reference", "first seen", "candidate", "signals", "status", "page", "file"):
        table.add_column(column, overflow="fold", no_wrap=column in ("sighting", "first seen"))
    for s in candidates:
        reference = f"{s.case_id}: {labels.get(s.reference_id) or f'reference {s.reference_id}'}"
        confidence = "" if s.confidence is None else f" {s.confidence:.2f}"
        table.add_row(str(s.id), Text(reference), s.first_seen[:16].replace("T", " "), f"{s.decided_by}{confidence}",
                      _signals(s), str(s.status), Text(s.page_url), Text(file_name(s.media_url)))  # fmt: skip
    app.out.print(table)
    app.out.print("decide each: spreadtrace review confirm|reject SIGHTING --why TEXT")


@review.command("confirm")
@click.argument("sighting_id", metavar="SIGHTING", type=int)
@click.option("--why", required=True, help=_WHY)
@click.option("--actor", default=None, help=_ACTOR)
@click.pass_obj
def review_confirm(app: App, sighting_id: int, why: str, actor: str | None) -> None:
    """Confirm SIGHTING as a copy: it becomes a match, in reports and notices."""
    confirmed = confirm(app.tracker, sighting_id, actor=actor or getpass.getuser(), why=why)
    label = _labels(app, [confirmed]).get(confirmed.reference_id) or f"reference {confirmed.reference_id}"
    app.out.print(Text(f"sighting {confirmed.id} confirmed ({confirmed.decided_by}): a copy of {label} in case "
                       f"{confirmed.case_id}, on {confirmed.page_url}"))  # fmt: skip


@review.command("reject")
@click.argument("sighting_id", metavar="SIGHTING", type=int)
@click.option("--why", required=True, help=_WHY)
@click.option("--actor", default=None, help=_ACTOR)
@click.pass_obj
def review_reject(app: App, sighting_id: int, why: str, actor: str | None) -> None:
    """Reject SIGHTING: not a copy. It leaves reports and notices, and its media is never a candidate of
    its reference again (crawls started from now on; one running now ends as it began)."""
    rejection = reject(app.tracker, sighting_id, actor=actor or getpass.getuser(), why=why)
    rejected = rejection.sighting
    label = _labels(app, [rejected]).get(rejected.reference_id) or f"reference {rejected.reference_id}"
    app.out.print(Text(f"sighting {rejected.id} rejected: its media is on the allowlist of {label} "
                       f"({len(rejection.allowlisted)} hash(es) added)"))  # fmt: skip
    if rejection.also:
        ids = ", ".join(str(s.id) for s in rejection.also)
        app.out.print(f"also rejected, the same picture elsewhere: sighting(s) {ids}")


def _labels(app: App, sightings: list[Sighting]) -> dict[int, str | None]:
    labels: dict[int, str | None] = {}
    for case_id in dict.fromkeys(s.case_id for s in sightings):
        labels.update((ref.id, ref.label) for ref in app.store.references(case_id))
    return labels


def _signals(s: Sighting) -> Text:
    """Each signal the matcher compared, as ``kind distance/threshold`` and whether it agreed."""
    parts = []
    for signal in s.signals:
        if "distance" not in signal:
            continue  # a video's matched stretches: in the JSON form
        agreed = "ok" if signal.get("agreed") else "no"
        parts.append(f"{signal.get('kind')} {signal.get('distance')}/{signal.get('threshold')} {agreed}")
    return Text(", ".join(parts))


def _entry(s: Sighting, labels: dict[int, str | None]) -> dict[str, object]:
    return {
        "sighting": s.id, "case": s.case_id, "reference_id": s.reference_id, "reference_label": labels.get(s.reference_id),
        "media_url": s.media_url, "page_url": s.page_url, "host": s.host, "site": s.site, "sha256": s.sha256,
        "first_seen": s.first_seen, "last_seen": s.last_seen, "status": str(s.status), "verdict": str(s.verdict),
        "confidence": s.confidence, "decided_by": s.decided_by, "distance": s.distance, "signals": list(s.signals),
    }  # fmt: skip
