"""The Store: narrow protocols, combined. Functions take only the part they need.

Every backend passes the same contract tests (tests/test_tracker_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from matcher import MediaHashes, Signal
from tracker.models import AuditEvent, Case, Observation, Reference, Sighting


class CaseStore(Protocol):
    def ensure_case(self, case_id: str) -> Case: ...
    def get_case(self, case_id: str) -> Case:
        """Raises UnknownCase."""
        ...

    def list_cases(self) -> list[Case]: ...
    def add_reference(
        self, case_id: str, kind: str, sha256: str | None, md5: str | None, label: str | None,
        signals: Sequence[Signal],
    ) -> Reference | None:
        """The new reference, or None when the case already holds these bytes."""  # fmt: skip
        ...

    def references(self, case_id: str | None = None) -> list[Reference]: ...


class MediaStore(Protocol):
    """Hashes of every media file met, keyed by SHA-256, so bytes are hashed once and matched forever."""

    def put_media(self, hashes: MediaHashes) -> None: ...
    def put_unhashable(self, sha256: str, size: int, reason: str) -> None: ...
    def media_signals(self, sha256: str) -> tuple[Signal, ...] | str | None:
        """Signals of known media; the reason text for known-unhashable bytes; None for unknown."""
        ...

    def iter_media_signals(self) -> Iterator[tuple[str, tuple[Signal, ...]]]: ...


class ObservationStore(Protocol):
    def append_observation(self, observation: Observation) -> Observation: ...
    def observations_of(self, sha256: str) -> list[Observation]: ...
    def observation_count(self) -> int: ...


class SightingStore(Protocol):
    def upsert_sighting(self, sighting: Sighting) -> Sighting:
        """Insert, or widen the existing sighting of the same reference, page and media URL.

        ``id`` of the argument is ignored; the stored sighting is returned.
        """
        ...

    def sightings(self, case_id: str) -> list[Sighting]: ...


class AuditStore(Protocol):
    """Append-only: every export of hashes and every reveal of a preview is recorded, with who did it."""

    def log_event(self, event: AuditEvent) -> AuditEvent: ...
    def audit_events(self, case_id: str | None = None) -> list[AuditEvent]: ...


class Store(CaseStore, MediaStore, ObservationStore, SightingStore, AuditStore, Protocol):
    def close(self) -> None: ...
