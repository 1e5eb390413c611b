"""The evidentiary record: sealed captures, the chain of custody, trusted time. See docs/architecture.md
("Evidence")."""

from tracker.evidence.capture import Collector, EvidenceRecorder
from tracker.evidence.custody import CustodyEntry
from tracker.evidence.vault import Artefact, EvidenceVault, open_vault
from tracker.evidence.warc import write_warc

__all__ = ["Artefact", "Collector", "CustodyEntry", "EvidenceRecorder", "EvidenceVault", "open_vault", "write_warc"]
