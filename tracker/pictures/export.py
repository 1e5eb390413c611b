"""The report as a document to take away (HTML or PDF), and its record as an export.

Its previews decrypt evidence, so a document made from the vault is an export: one custody entry (kind
``"export"``: the format, where it went, the document's SHA-256, who) in the case's log and one audit event
in the store, as every export and reveal is. A document whose previews read nothing from the vault (no
evidence kept) decrypted nothing and is not logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tracker.chromium import html_to_pdf
from tracker.clock import utc_now
from tracker.evidence.custody import CustodyEntry
from tracker.evidence.vault import EvidenceVault
from tracker.models import AuditEvent
from tracker.pictures.build import Pictures
from tracker.pictures.html import READY, render_html
from tracker.pictures.previews import Previews, kept_previews
from tracker.report import Report
from tracker.store import AuditStore

DocumentFormat = Literal["html", "pdf"]


@dataclass(frozen=True, slots=True)
class ReportDocument:
    format: DocumentFormat
    content: bytes
    previews: Previews

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def decrypted_evidence(self) -> bool:
        return self.previews.artefacts_read > 0


def report_document(report: Report, pictures: Pictures, vault: EvidenceVault, fmt: DocumentFormat,
                    chromium: Callable[[], Path]) -> ReportDocument:  # fmt: skip
    """``chromium()`` names the browser that prints a PDF: asked first (for a PDF only), so a missing browser
    stops the report before any evidence is decrypted."""
    executable = chromium() if fmt == "pdf" else None
    previews = kept_previews(vault, report.case.id, ((s.id, s.media_url) for s in report.sightings))
    html = render_html(report, pictures, previews.by_sighting)
    content = html.encode() if executable is None else html_to_pdf(html, executable, ready=READY)
    return ReportDocument(fmt, content, previews)


def log_export(store: AuditStore, vault: EvidenceVault, case_id: str, document: ReportDocument, *, actor: str,
               destination: str) -> CustodyEntry | None:  # fmt: skip
    """The custody entry and audit event of ``document``, made only when it decrypted evidence."""
    if not document.decrypted_evidence:
        return None
    detail: dict[str, object] = {
        "what": "report", "format": document.format, "destination": destination, "sha256": document.sha256,
        "size": len(document.content), "previews": sorted(document.previews.by_sighting),
        "artefacts_read": document.previews.artefacts_read,
    }  # fmt: skip
    entry = vault.record(case_id, "export", actor, detail)
    store.log_event(AuditEvent(utc_now(), actor, "export-report", case_id, {**detail, "custody_seq": entry.seq}))
    return entry
