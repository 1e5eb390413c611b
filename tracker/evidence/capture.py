"""Freezing a sighting: when a copy is first seen, and at every change of its status (a removal too: the
404 or the "removed" page proves when it went), what the crawler fetched becomes a sealed WARC and a custody
entry of the sighting's case.

The entry's detail is the sighting's forensic record: page and media URLs, the UTC time of the
observation, each server's IP address, the TLS certificate's SHA-256 (the certificate itself is kept as an
artefact), the collector (organisation and analyst), spreadtrace's version, the match decision and its
signals, and the SHA-256 of every artefact (in ``artefacts``).

The WARC is written to a nameless temporary file (nothing of it is left on disk if the process is
killed) and sealed from there into the vault; only the sealed copy stays.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from contextlib import suppress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from tracker.evidence.custody import CustodyEntry
from tracker.evidence.due import Due
from tracker.evidence.vault import Artefact, EvidenceVault
from tracker.evidence.warc import write_warc
from tracker.models import HttpExchange, Observation, Sighting


@dataclass(frozen=True, slots=True)
class Collector:
    """Who collects the evidence: named in every capture, as the Berkeley Protocol asks."""

    organisation: str
    analyst: str
    tool: str  # "spreadtrace/VERSION"


class Screenshots(Protocol):
    """Takes a capture's screenshot apart from the crawl (`crawler.screenshots`), and reports back through
    `EvidenceRecorder.screenshot_taken` / `screenshot_failed`."""

    def request(self, sighting: Sighting, capture: CustodyEntry) -> str | None:
        """Queue a screenshot of the sighting's page: None, or why it was not queued (its queue is full)."""
        ...


class EvidenceRecorder:
    """Captures sightings into the vault, and keeps what each case still owes (`tracker.evidence.due`):
    a failed capture or screenshot is taken again at the next visit that sees the copy."""

    def __init__(self, vault: EvidenceVault, collector: Collector, screenshots: Screenshots | None = None) -> None:
        self.vault = vault
        self.collector = collector
        self.screenshots = screenshots
        self._owed: dict[str, dict[int, Due]] = {}  # per case, read once: asked for every sighting seen again
        self._taken: set[tuple[str, int]] = set()  # captured by this process: what they owe waits for the next visit
        self._lock = threading.Lock()  # the record thread and the screenshot pool's callbacks both write

    def owes(self, sighting: Sighting) -> Due | None:
        """What ``sighting`` owes from an earlier visit (a capture of this process owes nothing yet: its
        screenshot may still be on its way, and one that failed is taken again at the next visit)."""
        with self._lock:
            if (sighting.case_id, sighting.id) in self._taken:
                return None
            return self._owed_by(sighting.case_id).get(sighting.id)

    def owe(self, sighting: Sighting, what: str, reason: str, *, failed: bool) -> None:
        with self._lock:
            due = self.vault.owe(sighting.case_id, sighting.id, what, reason, failed=failed)
            self._owed_by(sighting.case_id)[sighting.id] = due

    def settle(self, sighting: Sighting) -> None:
        with self._lock:
            self._owed_by(sighting.case_id).pop(sighting.id, None)
            self.vault.settle(sighting.case_id, sighting.id)

    def _owed_by(self, case_id: str) -> dict[int, Due]:
        """The case's owed captures, read from the vault the first time the case comes up (whatever asks)."""
        if case_id not in self._owed:
            self._owed[case_id] = self.vault.owed(case_id)
        return self._owed[case_id]

    def screenshot_taken(self, sighting: Sighting) -> None:
        self.settle(sighting)

    def screenshot_failed(self, sighting: Sighting, reason: str) -> None:
        self.owe(sighting, "screenshot", reason, failed=True)

    def capture(self, sighting: Sighting, why: str, observation: Observation, exchanges: Sequence[HttpExchange]) -> CustodyEntry:
        """Keep ``exchanges`` (the page, then the media) as the evidence of ``sighting`` at ``observation``,
        and ask for its screenshot. A capture that raises is owed, and taken again at the next visit."""
        with self._lock:
            self._taken.add((sighting.case_id, sighting.id))
        try:
            entry = self._record(sighting, why, observation, exchanges)
        except Exception as exc:
            with suppress(OSError):  # the disk that refused the capture may refuse this too; the caller stops
                self.owe(sighting, "capture", f"capture failed: {type(exc).__name__}: {exc}", failed=True)
            raise
        if self.screenshots is None:
            if self.owes(sighting) is not None:
                self.settle(sighting)
            return entry
        self.owe(sighting, "screenshot", "screenshot pending", failed=False)  # before: the answer can come at once
        refused = self.screenshots.request(sighting, entry)
        if refused is not None:
            self.owe(sighting, "screenshot", refused, failed=True)
        return entry

    def _record(self, sighting: Sighting, why: str, observation: Observation, exchanges: Sequence[HttpExchange]) -> CustodyEntry:
        info = {
            "software": self.collector.tool, "format": "WARC File Format 1.1",
            "operator": f"{self.collector.organisation} / {self.collector.analyst}",
            "description": f"spreadtrace capture: case {sighting.case_id}, sighting {sighting.id} ({why})",
        }  # fmt: skip
        artefacts = []
        with tempfile.TemporaryFile() as warc:  # nameless: gone with the process, whatever kills it
            write_warc(warc, exchanges, info, f"sighting-{sighting.id}.warc.gz")
            warc.seek(0)
            artefacts.append(Artefact("warc", "application/warc", warc))
            certificates = {e.url: e.certificate for e in exchanges if e.certificate}
            artefacts += [Artefact("certificate", "application/pkix-cert", der) for der in dict.fromkeys(certificates.values()) if der]
            return self.vault.record(sighting.case_id, "capture", self.collector.analyst, {
                "why": why,
                "sighting": sighting.id, "reference": sighting.reference_id,
                "page_url": sighting.page_url, "media_url": sighting.media_url, "host": sighting.host,
                # False for a file reached through a link (a forum attachment): the linking page was read
                # earlier in the visit, and its own bytes are not at hand when the file is recorded.
                "page_in_warc": any(e.url == sighting.page_url for e in exchanges),
                "status": str(sighting.status), "observed_at": observation.observed_at,
                "media_sha256": observation.sha256,
                "servers": {e.url: e.ip for e in exchanges if e.ip},
                "certificates": {url: hashlib.sha256(der).hexdigest() for url, der in certificates.items() if der},
                "http_status": {e.url: e.status for e in exchanges},
                "decision": {"verdict": str(sighting.verdict), "decided_by": sighting.decided_by,
                             "distance": sighting.distance, "signals": list(sighting.signals)},
                "collector": {"organisation": self.collector.organisation, "analyst": self.collector.analyst},
                "tool": self.collector.tool,
            }, artefacts)  # fmt: skip
