"""The evidentiary record: sealed captures, the chain of custody, trusted time. See docs/architecture.md
("Evidence")."""

from tracker.evidence.capture import Collector, EvidenceRecorder
from tracker.evidence.vault import EvidenceVault, open_vault

__all__ = ["Collector", "EvidenceRecorder", "EvidenceVault", "open_vault"]
