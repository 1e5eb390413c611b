"""`spreadtrace scan`: match local files against every case, without recording anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from matcher import UnhashableContent, hash_file
from spreadtrace.app import App
from spreadtrace.errors import ReturnCode
from spreadtrace.files import expand_paths
from spreadtrace.render import print_error
from tracker import Reference


def scan_file(app: App, references: dict[int, Reference], path: Path, problem: str | None) -> dict[str, Any]:
    try:
        if problem:
            raise UnhashableContent(problem)
        hashes = hash_file(path, app.hash_options)
    except UnhashableContent as exc:
        return {"path": str(path), "error": str(exc), "matches": []}
    matches = [
        {
            "case": references[d.reference_id].case_id,
            "reference_id": d.reference_id,
            "reference_label": references[d.reference_id].label,
            **d.as_dict(),
        }
        for d in app.tracker.matcher.match(hashes.signals)
    ]
    return {"path": str(path), "sha256": hashes.sha256, "error": None, "matches": matches}


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def scan(app: App, paths: tuple[Path, ...], as_json: bool) -> None:
    """Check local image and video files against every case's references.

    A file or folder that cannot be read (missing, no permission, a broken link, corrupt) gets one error
    line and the rest are scanned; exit 1 only if nothing could be."""
    references = {ref.id: ref for ref in app.store.references()}
    results = [scan_file(app, references, path, problem) for path, problem in expand_paths(paths)]
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        table = Table("file", "matches")
        for r in results:
            found = "; ".join(
                f"{m['case']} / {m['reference_label']}: {m['verdict'].replace('_', ' ')} "
                f"({m['decided_by']}, confidence {m['confidence']:.2f})"
                for m in r["matches"]
            )
            table.add_row(r["path"], Text(r["error"], style="red") if r["error"] else (found or "-"))
        app.out.print(table)
    for r in results:
        if r["error"]:
            print_error(app.err, f"{r['path']}: {r['error']}")
    if all(r["error"] for r in results):
        raise click.exceptions.Exit(ReturnCode.FAILED)
