"""The evidence report inside a WACZ export: what each capture proves, in words a court reads, beside the
machine-checkable files (template: ``templates/evidence_report.html.j2``).

One section per capture: when and why it was taken, the page and media URLs, each server's IP address, TLS
certificate and HTTP status, the SHA-256 of every artefact (and where the WARC is in the bundle), the
match decision and its signals, the collector and tool, which TSA timestamped its custody entry and when,
and its screenshots, each only as a greyscale blurred preview made on the server (`blurred_preview`): the
report is printed, mailed and shown, and must never carry the material itself. A header names the case,
the export's time, the analyst who exported it and the fingerprint of the key that signed the bundle; when
the evidence failed verification and was exported anyway, the first page says so and lists the problems.

The report is inside the signed, timestamped datapackage, so it cannot list the bundle's own tokens (they
are over a hash that covers it): the export command prints them, and its custody entry keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from tracker.evidence.custody import CustodyEntry
from tracker.evidence.stamps import Batch
from tracker.evidence.vault import StoredArtefact, artefacts_of
from tracker.evidence.verify import CaseCheck
from tracker.evidence.wacz_zip import Resource

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(slots=True)
class ScreenshotSection:
    entry: CustodyEntry
    artefact: StoredArtefact
    preview: str | None  # a data: URI of the blurred JPEG
    preview_problem: str | None = None


@dataclass(slots=True)
class CaptureSection:
    entry: CustodyEntry
    warc: Resource | None = None  # where its WARC is in the bundle (None: left out, damaged)
    page: dict[str, Any] | None = None  # its line of pages.jsonl
    screenshots: list[ScreenshotSection] = field(default_factory=list)

    @property
    def artefacts(self) -> list[StoredArtefact]:
        return artefacts_of(self.entry)


@dataclass(slots=True)
class EvidenceReport:
    case_id: str
    created: str
    actor: str
    signer: str
    tool: str
    check: CaseCheck | None
    captures: list[CaptureSection]
    unattached: list[ScreenshotSection]  # screenshots whose capture is not in the log
    stamps: dict[int, list[dict[str, str]]]  # entry number -> {"tsa", "time", "batch"} of each token over it
    authorities: list[str]
    omitted: list[str]
    entries: int
    pdf: bool


def stamps_by_entry(batches: Iterable[Batch]) -> dict[int, list[dict[str, str]]]:
    found: dict[int, list[dict[str, str]]] = {}
    for batch in batches:
        for seq in range(batch.first, batch.last + 1):
            found.setdefault(seq, []).extend(
                {"tsa": str(t["tsa"]), "time": str(t["time"]), "batch": f"{batch.first}-{batch.last}"} for t in batch.tokens)  # fmt: skip
    return found


def render_html(report: EvidenceReport) -> str:
    """The report as one self-contained HTML page (styles and previews inline; it fetches nothing)."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    environment.filters["pairs"] = _pairs
    return environment.get_template("evidence_report.html.j2").render(report=report)


def _pairs(value: Mapping[str, Any], skip: Iterable[str] = ("kind",)) -> str:
    """A signal's fields as ``name=value, ...`` (nested values as they print)."""
    return ", ".join(f"{name}={value[name]}" for name in value if name not in set(skip))
