"""A case's evidence as one WACZ file (WACZ 1.2.0, signed as the WACZ signing spec says, timestamped by every
configured TSA), for a court, a lawyer or a platform's trust and safety team. See docs/architecture.md
("WACZ export").

    archive/capture-SEQ.warc.gz    each capture's WARC, byte for byte the sealed artefact its custody entry
                                   names (its SHA-256 is the entry's), decrypted; SEQ is the entry's number
    archive/screenshot-SEQ.warc.gz each screenshot's WARC of the page as Chromium fetched it (redirects first)
    archive/screenshots.warc.gz    every screenshot, a ``resource`` record at ``urn:view:PAGE_URL``
    indexes/index.cdxj             the CDXJ index of all of them (`tracker.evidence.wacz_index`)
    pages/pages.jsonl              one page per capture: its page, or the file for one reached by a link
    certificates/SHA256.der        the TLS certificates the captures name
    custody/custody.jsonl          the case's chain of custody, as far as the export read it
    timestamps/batch-*.json        the RFC 3161 tokens over it, with their certificates
    report/evidence.html, .pdf     the evidence report (`tracker.evidence.evidence_report`)
    datapackage.json               every member above with its SHA-256 and size
    datapackage-digest.json        datapackage.json's hash, ``signedData``, and ``timestamps``: a token from
                                   each TSA over datapackage.json (its imprint is the digest's hash)

Everything is streamed: a capture is decrypted into a nameless temporary file (it is the reported
material), indexed, and copied into the ZIP; the bundle is written beside the target and renamed over it
only when complete. Every folder holds files directly (py-wacz's validate names members by their last two
path parts), and every member but the two datapackage files is listed in datapackage.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

from tracker.clock import utc_now
from tracker.models import AuditEvent
from tracker.store import AuditStore
from tracker.evidence.custody import CustodyEntry
from tracker.evidence.errors import ArtefactDamaged, EvidenceError, KeyMissing, TimestampFailed
from tracker.evidence.evidence_report import CaptureSection, EvidenceReport, ScreenshotSection, render_html, stamps_by_entry
from tracker.evidence.preview import PreviewFailed, blurred_preview
from tracker.evidence.stamps import TimestampAuthority, read_batches, token_record
from tracker.evidence.vault import EvidenceVault, StoredArtefact, artefacts_of
from tracker.evidence.verify import WITHDRAWN, CaseCheck
from tracker.evidence.wacz_index import ArchiveIndex, IndexLine, page_title
from tracker.evidence.wacz_sign import SigningKey, signing_key
from tracker.evidence.wacz_zip import PackageWriter, Resource
from tracker.evidence.warc import WarcResource, write_resources

# Kept for the readers that check it: py-wacz's validate refuses any other wacz_version, and WACZ 1.2.0's
# profile "wacz" is not one frictionless knows (so the same validate refuses it too). The rest is 1.2.0.
WACZ_VERSION = "1.1.1"
PROFILE = "data-package"
SCREENSHOTS = "screenshots.warc.gz"


class NothingToExport(EvidenceError):
    """Raised by `export_wacz` for a case with no evidence, or one withdrawn (its captures are destroyed)."""


@dataclass(slots=True)
class WaczExport:
    """What an export wrote: the file, its hash, and how its signing and timestamps went."""

    path: Path
    sha256: str
    size: int
    captures: int
    screenshots: int
    pages: int
    signer: str  # the signing key's fingerprint
    stamps: list[dict[str, str]]  # {"tsa", "time"} per TSA that stamped datapackage.json
    stamp_failures: list[str]
    pdf: bool
    omitted: list[str] = field(default_factory=list)  # artefacts left out, damaged (--even-if-damaged only)

    def detail(self) -> dict[str, Any]:
        """The export's custody entry and audit event."""
        return {"file": self.path.name, "sha256": self.sha256, "size": self.size, "captures": self.captures,
                "screenshots": self.screenshots, "signing_key": self.signer, "timestamps": self.stamps,
                "timestamp_failures": self.stamp_failures, "report_pdf": self.pdf, "omitted": self.omitted}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ExportRequest:
    case_id: str
    actor: str
    tool: str  # "spreadtrace/VERSION"
    authorities: Sequence[TimestampAuthority] = ()
    chromium: Path | None = None  # None: no PDF report
    check: CaseCheck | None = None  # the verification run before; its problems go on the report's first page


def export_steps(vault: EvidenceVault, case_id: str) -> int:
    """How many steps `export_wacz` reports: one per capture and screenshot, then the report, then signing."""
    return sum(1 for e in vault.custody(case_id).entries() if e.kind in ("capture", "screenshot")) + 2


def export_wacz(vault: EvidenceVault, request: ExportRequest, target: Path, advance: Callable[[], None] = lambda: None) -> WaczExport:
    """Write the case's WACZ to ``target`` (replaced only when the new one is complete). Raises
    NothingToExport; ArtefactDamaged and KeyMissing unless ``request.check`` found the case damaged, when a
    damaged artefact is left out and named on the report."""
    entries = list(vault.custody(request.case_id).entries())
    if not entries:
        raise NothingToExport(f"no evidence kept for case {request.case_id!r} (see: spreadtrace case list)")
    if tombstone := next((e for e in entries if e.kind == WITHDRAWN), None):
        raise NothingToExport(f"case {request.case_id!r} was withdrawn at {tombstone.at}: its evidence is destroyed, nothing to export")
    if not any(e.kind == "capture" for e in entries):
        raise NothingToExport(f"case {request.case_id!r} has no captures yet (crawls capture each sighting)")
    key = signing_key(vault.keyring.folder)
    fd, staged = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as out:
            export = _Bundle(vault, request, entries, key, out, advance).write()
            out.flush()
            os.fsync(out.fileno())
            out.seek(0)
            export.sha256, export.size = _hash(out)
        os.replace(staged, target)
    except BaseException:
        Path(staged).unlink(missing_ok=True)
        raise
    export.path = target
    return export


def record_export(vault: EvidenceVault, audit: AuditStore, export: WaczExport, case_id: str, actor: str) -> CustodyEntry:
    """The export's custody entry and audit event: every export of evidence is both. An export the custody
    log cannot name is not left behind."""
    detail = {**export.detail(), "exported_by": actor}
    try:
        entry = vault.record(case_id, "export", actor, detail)
    except BaseException:
        export.path.unlink(missing_ok=True)
        raise
    audit.log_event(AuditEvent(entry.at, actor, "export-evidence", case_id, detail))
    return entry


class _Bundle:
    """One export being written: members in order, then datapackage.json, its signature and tokens."""

    def __init__(self, vault: EvidenceVault, request: ExportRequest, entries: list[CustodyEntry], key: SigningKey,
                 out: BinaryIO, advance: Callable[[], None]) -> None:  # fmt: skip
        self.vault, self.request, self.entries, self.key, self.advance = vault, request, entries, key, advance
        self.case_id = request.case_id
        self.created = utc_now()
        self.package = PackageWriter(out, self.created)
        self.index = ArchiveIndex()
        self.pages: list[dict[str, Any]] = []
        self.omitted: list[str] = []
        self.sections: dict[int, CaptureSection] = {}

    def write(self) -> WaczExport:
        try:
            return self._write()
        except BaseException:
            self.package.abandon()
            raise

    def _write(self) -> WaczExport:
        try:
            captures = [e for e in self.entries if e.kind == "capture"]
            for entry in captures:
                self._capture(entry)
                self.advance()
            for entry in (e for e in self.entries if e.kind == "screenshot"):
                self._documents(entry)
            shots = self._screenshots([e for e in self.entries if e.kind == "screenshot"])
            self.package.add_file("indexes/index.cdxj", self.index.finish(), stored=False)
        finally:
            self.index.close()
        header = {"format": "json-pages-1.0", "id": "pages", "title": f"Captures of case {self.case_id}"}
        self.package.add_bytes("pages/pages.jsonl", b"".join(_json_line(page) for page in [header, *self.pages]))
        self._custody()
        pdf = self._report(shots)
        self.advance()
        datapackage = self._datapackage()
        self.package.add_bytes("datapackage.json", datapackage, listed=False)
        hash_text = "sha256:" + hashlib.sha256(datapackage).hexdigest()
        tokens, failures = _stamp(datapackage, self.request.authorities)
        digest = {"path": "datapackage.json", "hash": hash_text, "signedData": self.key.sign(hash_text, self.created, self.request.tool),
                  "timestamps": tokens}  # fmt: skip
        self.package.add_bytes("datapackage-digest.json", json.dumps(digest, indent=2).encode(), listed=False)
        self.package.close()
        self.advance()
        return WaczExport(Path(), "", 0, len(self.sections), len(shots), len(self.pages), self.key.fingerprint,
                          [{"tsa": t["tsa"], "time": t["time"]} for t in tokens], failures, pdf, self.omitted)  # fmt: skip

    def _capture(self, entry: CustodyEntry) -> None:
        section = CaptureSection(entry)
        self.sections[entry.seq] = section
        for artefact in artefacts_of(entry):
            if artefact.role == "certificate":
                self._certificate(entry, artefact)
            elif artefact.role == "warc":
                with tempfile.TemporaryFile() as warc:  # nameless: the reported material, decrypted
                    if (archived := self._archive(entry, artefact, warc)) is not None:
                        lines, section.warc = archived
                        self._page(entry, lines, warc)

    def _documents(self, entry: CustodyEntry) -> None:
        """A screenshot's WARC (the page as Chromium fetched it, redirects first): indexed, so a file reached
        through a link has its linking page in the archive too; not a page of its own."""
        for artefact in (a for a in artefacts_of(entry) if a.role == "warc"):
            with tempfile.TemporaryFile() as warc:
                self._archive(entry, artefact, warc)

    def _archive(self, entry: CustodyEntry, artefact: StoredArtefact, warc: BinaryIO) -> tuple[list[IndexLine], Resource] | None:
        """Decrypt a WARC artefact into ``warc``, index it and store it as ``archive/KIND-SEQ.warc.gz`` (its
        entry's kind and number); None when it was left out (`_decrypt`)."""
        if not self._decrypt(entry, artefact, warc):
            return None
        name = f"{entry.kind}-{entry.seq:08d}.warc.gz"
        return self.index.add(warc, name), self.package.add_file(f"archive/{name}", warc, stored=True)

    def _page(self, entry: CustodyEntry, lines: list[IndexLine], warc: BinaryIO) -> None:
        detail = entry.detail
        # A file reached through a link (a forum attachment) was captured without its linking page: the file
        # is the page a reader opens.
        url = str(detail["page_url"] if detail.get("page_in_warc", True) else detail["media_url"])
        found = next((line for line in lines if line.url == url), None)
        page: dict[str, Any] = {"id": f"capture-{entry.seq}", "url": url,
                                "ts": found.rfc3339 if found else str(detail.get("observed_at", entry.at))}  # fmt: skip
        if title := page_title(warc, url):
            page["title"] = title
        page.update({"capture": entry.seq, "sighting": detail.get("sighting"), "why": detail.get("why")})
        self.pages.append(page)
        self.sections[entry.seq].page = page

    def _certificate(self, entry: CustodyEntry, artefact: StoredArtefact) -> None:
        path = f"certificates/{artefact.sha256}.der"
        if any(resource.path == path for resource in self.package.resources):
            return
        with tempfile.TemporaryFile() as der:
            if self._decrypt(entry, artefact, der):
                self.package.add_file(path, der, stored=False)

    def _decrypt(self, entry: CustodyEntry, artefact: StoredArtefact, target: BinaryIO) -> bool:
        """Whether ``artefact`` was decrypted into ``target``; a damaged one is left out only when the case
        was found damaged before the export and the analyst chose to export it anyway."""
        try:
            for chunk in self.vault.read(self.case_id, artefact.sha256):
                target.write(chunk)
        except (ArtefactDamaged, KeyMissing, FileNotFoundError) as exc:
            if self.request.check is None or self.request.check.ok:
                raise
            self.omitted.append(f"{artefact.role} {artefact.sha256} of entry {entry.seq}: {exc}")
            return False
        target.seek(0)
        return True

    def _screenshots(self, shots: list[CustodyEntry]) -> list[ScreenshotSection]:
        sections: list[ScreenshotSection] = []
        if not shots:
            return sections

        def resources() -> Iterator[WarcResource]:
            for entry in shots:
                for artefact in (a for a in artefacts_of(entry) if a.role == "screenshot"):
                    with tempfile.TemporaryFile() as png:
                        if not self._decrypt(entry, artefact, png):
                            continue
                        sections.append(_screenshot_section(entry, artefact, png.read()))
                        png.seek(0)
                        url = f"urn:view:{entry.detail.get('page_url', '')}"
                        yield WarcResource(url, str(entry.detail.get("taken_at", entry.at)), artefact.media_type, png, artefact.size)
                self.advance()

        info = {"software": self.request.tool, "format": "WARC File Format 1.1",
                "description": f"spreadtrace screenshots of case {self.case_id}, as exported at {self.created}"}  # fmt: skip
        with tempfile.TemporaryFile() as warc:
            write_resources(warc, resources(), info, SCREENSHOTS)
            if sections:
                self.index.add(warc, SCREENSHOTS)
                self.package.add_file(f"archive/{SCREENSHOTS}", warc, stored=True)
        return sections

    def _custody(self) -> None:
        """The chain as read (its lines are the entries' own canonical bytes), and the batches over it."""
        self.package.add_bytes("custody/custody.jsonl", b"".join(entry.line() for entry in self.entries))
        folder = self.vault.folder(self.case_id) / "timestamps"
        last = self.entries[-1].seq
        for path in sorted(folder.glob("batch-*.json")) if folder.is_dir() else []:
            raw = path.read_bytes()
            if int(json.loads(raw)["last"]) <= last:  # a batch written since covers entries not in this copy
                self.package.add_bytes(f"timestamps/{path.name}", raw)

    def _report(self, shots: list[ScreenshotSection]) -> bool:
        """Write the report, HTML and (when a Chromium is at hand) PDF; whether the PDF was written."""
        from tracker.chromium import html_to_pdf

        unattached = []
        for shot in shots:
            section = self.sections.get(int(shot.entry.detail.get("capture_seq", 0)))
            if section is None:
                unattached.append(shot)
            else:
                section.screenshots.append(shot)
        report = EvidenceReport(
            case_id=self.case_id, created=self.created, actor=self.request.actor, signer=self.key.fingerprint,
            tool=self.request.tool, check=self.request.check, captures=list(self.sections.values()),
            unattached=unattached,
            stamps=stamps_by_entry(read_batches(self.vault.folder(self.case_id) / "timestamps")),
            authorities=[tsa.name for tsa in self.request.authorities], omitted=self.omitted,
            entries=len(self.entries), pdf=self.request.chromium is not None,
        )  # fmt: skip
        html = render_html(report)
        self.package.add_bytes("report/evidence.html", html.encode())
        if self.request.chromium is None:
            return False
        self.package.add_bytes("report/evidence.pdf", html_to_pdf(html, self.request.chromium), stored=True)
        return True

    def _datapackage(self) -> bytes:
        home = min(self.pages, key=lambda page: str(page["ts"]), default=None)
        package: dict[str, Any] = {
            "profile": PROFILE, "wacz_version": WACZ_VERSION,
            "title": f"Evidence of case {self.case_id}",
            "description": (f"Captures of case {self.case_id} kept by spreadtrace, with their chain of custody "
                            "(`custody/`), its RFC 3161 timestamps (`timestamps/`) and the evidence report (`report/`)."),
            "created": self.created, "software": self.request.tool,
            **({"home": {"url": home["url"], "ts": home["ts"]}} if home else {}),
            "resources": [resource.to_json() for resource in self.package.resources],
        }  # fmt: skip
        return json.dumps(package, indent=2).encode()


def _screenshot_section(entry: CustodyEntry, artefact: StoredArtefact, png: bytes) -> ScreenshotSection:
    try:
        preview = "data:image/jpeg;base64," + base64.b64encode(blurred_preview(png)).decode()
        return ScreenshotSection(entry, artefact, preview, None)
    except PreviewFailed as exc:
        return ScreenshotSection(entry, artefact, None, str(exc))


def _stamp(datapackage: bytes, authorities: Sequence[TimestampAuthority]) -> tuple[list[dict[str, Any]], list[str]]:
    """A token over datapackage.json from each TSA (kept as the custody batches keep theirs, with the
    certificates to check it offline), and a line per TSA that failed."""
    tokens: list[dict[str, Any]] = []
    failures: list[str] = []
    for tsa in authorities:
        try:
            tokens.append(token_record(tsa, *tsa.stamp(datapackage)))
        except TimestampFailed as exc:
            failures.append(str(exc))
    return tokens, failures


def _json_line(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"


def _hash(stream: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
