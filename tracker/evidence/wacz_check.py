"""Checking an exported WACZ offline, from the file alone: every problem named, one line each.

- every member against datapackage.json (SHA-256 and size; missing, extra, unreadable), and
  datapackage.json against datapackage-digest.json;
- the anonymous signature (`tracker.evidence.wacz_sign`), and optionally that it is a given key's;
- each TSA's token over datapackage.json, against the certificates kept with it (`check_token`);
- pages/pages.jsonl: present, its header line, at least one page, every page's URL in the CDXJ index,
  the index sorted;
- the custody log in the bundle: its chain (`read_chain`), its timestamp batches (`check_stamps`), and each
  capture's WARC in ``archive/`` being the very artefact its entry names, each screenshot the one its
  entry names.

py-wacz's validate checks less (it passes a bundle without pages.jsonl, py-wacz#46, and checks no
signature without an online verifier): it is one check, this is the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from tracker.evidence.custody import CustodyEntry, CustodyLog, read_chain
from tracker.evidence.stamps import Batch, check_token
from tracker.evidence.vault import artefacts_of
from tracker.evidence.verify import CaseCheck, check_stamps
from tracker.evidence.wacz_index import parse_line
from tracker.evidence.wacz_sign import fingerprint_of, signature_problem

DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
PAGES = "pages/pages.jsonl"
CUSTODY = "custody/custody.jsonl"
REPORT = "report/evidence.html"
_CHUNK = 1 << 20


@dataclass(slots=True)
class WaczCheck:
    path: Path
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # not wrong: what a reader should know (no timestamp yet)
    signer: str | None = None
    stamps: list[dict[str, str]] = field(default_factory=list)
    pages: int = 0
    case_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_wacz(path: Path, signer: str | None = None) -> WaczCheck:
    """Check the WACZ at ``path``; with ``signer`` (a key fingerprint), also that it signed it."""
    check = WaczCheck(path)
    try:
        with zipfile.ZipFile(path) as bundle:
            _check(bundle, check, signer)
    except zipfile.BadZipFile as exc:
        check.problems.append(f"{path}: not a ZIP file ({exc})")
    return check


def _check(bundle: zipfile.ZipFile, check: WaczCheck, signer: str | None) -> None:
    names = [info.filename for info in bundle.infolist()]
    for name in sorted({n for n in names if names.count(n) > 1}):
        check.problems.append(f"{name}: in the ZIP more than once")
    if DATAPACKAGE not in names:
        check.problems.append(f"{DATAPACKAGE}: missing (this is not a WACZ)")
        return
    datapackage = bundle.read(DATAPACKAGE)
    try:
        package = json.loads(datapackage)
        resources = {str(r["path"]): r for r in package["resources"]}
    except (ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"{DATAPACKAGE}: not a datapackage ({exc})")
        return
    _check_digest(bundle, names, datapackage, package, check, signer)
    hashes = _check_members(bundle, names, resources, check)
    pages = _check_pages(bundle, names, check)
    _check_index(bundle, names, pages, check)
    _check_custody(bundle, names, hashes, check)
    if REPORT not in names:
        check.problems.append(f"{REPORT}: missing")


def _check_digest(bundle: zipfile.ZipFile, names: list[str], datapackage: bytes, package: dict[str, Any], check: WaczCheck,
                  signer: str | None) -> None:  # fmt: skip
    if DIGEST not in names:
        check.problems.append(f"{DIGEST}: missing (the bundle is neither signed nor timestamped)")
        return
    try:
        digest = json.loads(bundle.read(DIGEST))
        signed, tokens = digest["signedData"], digest.get("timestamps", [])
    except (ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"{DIGEST}: unreadable ({exc})")
        return
    actual = "sha256:" + hashlib.sha256(datapackage).hexdigest()
    if digest.get("path") != DATAPACKAGE or digest.get("hash") != actual:
        check.problems.append(f"{DATAPACKAGE}: changed (its hash is not the one {DIGEST} holds)")
    if (why := signature_problem(signed, actual, package.get("created"))) is not None:
        check.problems.append(f"{DIGEST}: {why}")
    try:
        check.signer = fingerprint_of(base64.b64decode(signed["publicKey"]))
    except (KeyError, TypeError, ValueError):
        check.signer = None
    if signer is not None and check.signer != signer.lower():
        check.problems.append(f"{DIGEST}: signed by key {check.signer}, not {signer}")
    for token in tokens:
        if (why := check_token(token, datapackage)) is not None:
            check.problems.append(f"{DIGEST}: {why}")
        else:
            check.stamps.append({"tsa": str(token["tsa"]), "time": str(token["time"])})
    if not tokens:
        check.notes.append("not timestamped: no TSA token over datapackage.json")


def _check_members(bundle: zipfile.ZipFile, names: list[str], resources: dict[str, Any], check: WaczCheck) -> dict[str, str]:
    """Every member against its line in datapackage.json; the SHA-256 of each member read."""
    hashes: dict[str, str] = {}
    for name in names:
        if name in (DATAPACKAGE, DIGEST) or name.endswith("/"):
            continue
        listed = resources.get(name)
        if listed is None:
            check.problems.append(f"{name}: extra (not listed in {DATAPACKAGE})")
            continue
        digest, size = hashlib.sha256(), 0
        try:
            with bundle.open(name) as member:
                while chunk := member.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            check.problems.append(f"{name}: unreadable, damaged in the ZIP ({exc})")
            continue
        hashes[name] = digest.hexdigest()
        if listed.get("hash") != f"sha256:{hashes[name]}" or listed.get("bytes") != size:
            check.problems.append(f"{name}: changed (its SHA-256 or size is not the one {DATAPACKAGE} lists)")
    for path in sorted(set(resources) - set(names)):
        check.problems.append(f"{path}: missing (listed in {DATAPACKAGE})")
    return hashes


def _check_pages(bundle: zipfile.ZipFile, names: list[str], check: WaczCheck) -> list[dict[str, Any]]:
    if PAGES not in names:
        check.problems.append(f"{PAGES}: missing")
        return []
    lines = bundle.read(PAGES).decode("utf-8", errors="replace").splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
        pages = [json.loads(line) for line in lines[1:] if line.strip()]
    except ValueError as exc:
        check.problems.append(f"{PAGES}: not JSON lines ({exc})")
        return []
    if not isinstance(header, dict) or header.get("format") != "json-pages-1.0":
        check.problems.append(f'{PAGES}: its first line is not the header {{"format": "json-pages-1.0", ...}}')
    if not pages:
        check.problems.append(f"{PAGES}: no pages")
    for n, page in enumerate(pages, start=2):
        if not isinstance(page, dict) or not page.get("url") or not page.get("ts"):
            check.problems.append(f"{PAGES}:{n}: a page needs a url and a ts")
    check.pages = len(pages)
    return [page for page in pages if isinstance(page, dict)]


def _check_index(bundle: zipfile.ZipFile, names: list[str], pages: list[dict[str, Any]], check: WaczCheck) -> None:
    indexes = [n for n in names if n.startswith("indexes/") and n.endswith((".cdxj", ".cdx"))]
    if not indexes:
        check.problems.append("indexes/: no CDXJ index")
        return
    urls: set[str] = set()
    for name in indexes:
        lines = bundle.read(name).decode("utf-8", errors="replace").splitlines()
        if lines != sorted(lines):
            check.problems.append(f"{name}: not sorted (CDXJ is looked up by binary search)")
        for number, line in enumerate(lines, start=1):
            try:
                urls.add(parse_line(line).url)
            except ValueError as exc:
                check.problems.append(f"{name}:{number}: {exc}")
    for page in pages:
        if page.get("url") and page["url"] not in urls:
            check.problems.append(f"{PAGES}: page {page['url']} is not in the index")


def _check_custody(bundle: zipfile.ZipFile, names: list[str], hashes: dict[str, str], check: WaczCheck) -> None:
    if CUSTODY not in names:
        check.problems.append(f"{CUSTODY}: missing")
        return
    first = bundle.read(CUSTODY).split(b"\n", 1)[0]
    try:
        check.case_id = CustodyEntry.from_line(first).case_id
    except (ValueError, TypeError, KeyError):
        check.problems.append(f"{CUSTODY}: its first line is not a custody entry")
        return
    with tempfile.TemporaryDirectory() as work:  # the log holds hashes and URLs, not the material
        log = CustodyLog(Path(work) / "custody.jsonl", check.case_id)
        log.path.write_bytes(bundle.read(CUSTODY))
        entries, problems = read_chain(log)
    check.problems += [f"custody/{problem}" for problem in problems]
    batches: list[Batch] = []
    for name in sorted(n for n in names if n.startswith("timestamps/batch-")):
        try:
            batches.append(Batch.from_json(json.loads(bundle.read(name))))
        except (ValueError, KeyError, TypeError) as exc:
            check.problems.append(f"{name}: not a timestamp batch ({exc})")
    stamps = CaseCheck(check.case_id)
    check_stamps(sorted(batches, key=lambda b: b.first), entries, (), stamps)
    check.problems += stamps.problems
    check.notes += [f"custody: {waiting}" for waiting in stamps.pending]
    _check_artefacts(bundle, names, hashes, entries, check)


def _check_artefacts(bundle: zipfile.ZipFile, names: list[str], hashes: dict[str, str], entries: Iterable[CustodyEntry],
                     check: WaczCheck) -> None:  # fmt: skip
    """Each capture's WARC (and each screenshot's, the page as Chromium fetched it) is the artefact its
    custody entry names; each screenshot is in the screenshots WARC."""
    shots: list[tuple[int, str]] = []
    for entry in entries:
        for artefact in artefacts_of(entry):
            if entry.kind in ("capture", "screenshot") and artefact.role == "warc":
                name = f"archive/{entry.kind}-{entry.seq:08d}.warc.gz"
                if name not in names:
                    check.problems.append(f"{name}: missing (the WARC of custody entry {entry.seq})")
                elif name in hashes and hashes[name] != artefact.sha256:
                    check.problems.append(f"{name}: not the WARC custody entry {entry.seq} names ({artefact.sha256})")
            elif entry.kind == "screenshot" and artefact.role == "screenshot":
                shots.append((entry.seq, artefact.sha256))
    if not shots:
        return
    found = _block_digests(bundle, "archive/screenshots.warc.gz") if "archive/screenshots.warc.gz" in names else set()
    for seq, sha256 in shots:
        if sha256 not in found:
            check.problems.append(f"archive/screenshots.warc.gz: lacks the screenshot of custody entry {seq} ({sha256})")


def _block_digests(bundle: zipfile.ZipFile, name: str) -> set[str]:
    """The SHA-256 (hex) of every resource record's content in the WARC ``name``, computed, not read from
    its headers."""
    found = set()
    try:
        with bundle.open(name) as warc:
            for record in ArchiveIterator(warc):
                if record.rec_type == "resource":
                    digest, stream = hashlib.sha256(), record.content_stream()
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                    found.add(digest.hexdigest())
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError):
        pass  # already named by the member check
    return found
