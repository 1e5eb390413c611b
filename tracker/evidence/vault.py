"""The evidentiary store: each case's sealed artefacts and custody log, apart from the working store.

    HOME/evidence/CASE/custody.jsonl       the chain of custody (`tracker.evidence.custody`)
    HOME/evidence/CASE/artefacts/SHA256    each artefact sealed with the case key (`tracker.evidence.sealed`),
                                           named by its plaintext's SHA-256, written once, never replaced
    HOME/evidence/CASE/staging/            artefacts sealed and not yet in the log
    HOME/evidence/CASE/timestamps/         RFC 3161 tokens over batches of entries (`tracker.evidence.stamps`)
    HOME/evidence/CASE/due.json            captures still owed, retried at the next visit (`tracker.evidence.due`)
    HOME/keys/CASE.key                     the case key (`tracker.evidence.keys`), apart from the rest

Recording is two-phase, so a process killed at any moment leaves no half artefact in the log: artefacts
are sealed into ``staging/`` and synced, then the entry naming them is appended, then they move into
``artefacts/``. `recover` (run before each record and by `verify`) finishes the move for staged files
the log names, and deletes the others: sealed copies of material nothing vouches for.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import uuid
from contextlib import AbstractContextManager, contextmanager, nullcontext
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tracker.clock import utc_now
from tracker.evidence.custody import CustodyEntry, CustodyLog
from tracker.evidence.due import Due, read_due, write_due
from tracker.evidence.errors import ArtefactDamaged
from tracker.evidence.keys import Keyring
from tracker.evidence.sealed import seal, unseal
from tracker.models import validate_case_id

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Artefact:
    """Something to keep as evidence: ``source`` is a file (streamed) or bytes."""

    role: str  # "warc", "screenshot", "certificate", ...
    media_type: str
    source: Path | bytes | BinaryIO  # a stream is read from where it stands, and left open


@dataclass(frozen=True, slots=True)
class StoredArtefact:
    """An artefact as a custody entry names it."""

    role: str
    media_type: str
    sha256: str
    size: int

    @classmethod
    def from_detail(cls, raw: Mapping[str, Any]) -> StoredArtefact:
        return cls(str(raw["role"]), str(raw["media_type"]), str(raw["sha256"]), int(raw["size"]))


def artefacts_of(entry: CustodyEntry) -> list[StoredArtefact]:
    return [StoredArtefact.from_detail(raw) for raw in entry.detail.get("artefacts", ())]


def open_vault(home: Path, keys: str = "") -> EvidenceVault:
    """A home's vault: ``HOME/evidence``, its keys in ``keys`` (SPREADTRACE_EVIDENCE_KEYS) or ``HOME/keys``."""
    return EvidenceVault(home / "evidence", Keyring(Path(keys).expanduser() if keys else home / "keys"))


class EvidenceVault:
    def __init__(self, root: Path, keyring: Keyring) -> None:
        self.root = root
        self.keyring = keyring

    def folder(self, case_id: str) -> Path:
        return self.root / validate_case_id(case_id)

    def custody(self, case_id: str) -> CustodyLog:
        return CustodyLog(self.folder(case_id) / "custody.jsonl", case_id)

    def cases(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if (p / "custody.jsonl").exists()) if self.root.is_dir() else []

    def record(self, case_id: str, kind: str, actor: str, detail: Mapping[str, Any],
               artefacts: Sequence[Artefact] = ()) -> CustodyEntry:  # fmt: skip
        """Keep ``artefacts`` sealed and append the entry that names them (in ``detail["artefacts"]``)."""
        folder = self.folder(case_id)
        with self._case_lock(case_id):
            self._recover(case_id)
            staging = folder / "staging"
            staging.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = self.keyring.key(case_id, create=True) if artefacts else b""
            stored = [self._stage(staging, key, case_id, artefact) for artefact in artefacts]
            entry = self.custody(case_id).append(kind, actor, {**detail, "artefacts": [asdict(s) for s in stored]} if stored else detail)
            for artefact in stored:
                self._commit(folder, artefact.sha256)
            return entry

    def owed(self, case_id: str) -> dict[int, Due]:
        """The captures the case still owes (`tracker.evidence.due`), by sighting id."""
        return read_due(self.folder(case_id))

    def owe(self, case_id: str, sighting: int, what: str, reason: str, *, failed: bool) -> Due:
        """Note that ``sighting`` owes a ``what``; ``failed`` counts an attempt that failed."""
        with self._case_lock(case_id):
            owed = read_due(self.folder(case_id))
            before = owed.get(sighting)
            due = Due(sighting, what, reason, before.since if before else utc_now(), (before.attempts if before else 0) + failed)
            owed[sighting] = due
            write_due(self.folder(case_id), owed)
            return due

    def settle(self, case_id: str, sighting: int) -> None:
        """``sighting`` owes nothing now."""
        with self._case_lock(case_id):
            owed = read_due(self.folder(case_id))
            if owed.pop(sighting, None) is not None:
                write_due(self.folder(case_id), owed)

    def read(self, case_id: str, sha256: str) -> Iterator[bytes]:
        """The plaintext of one artefact, streamed. Raises KeyMissing, ArtefactDamaged (also when its
        content does not hash to its name), FileNotFoundError."""
        path = self.folder(case_id) / "artefacts" / sha256
        key = self.keyring.key(case_id)
        digest = hashlib.sha256()
        with open(path, "rb") as sealed:
            for chunk in unseal(sealed, key, _context(case_id), name=str(path)):
                digest.update(chunk)
                yield chunk
        if digest.hexdigest() != sha256:
            raise ArtefactDamaged(f"{path}: its content does not hash to its name")

    def stored(self, case_id: str) -> set[str]:
        """The SHA-256 names of the artefacts kept for the case."""
        folder = self.folder(case_id) / "artefacts"
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def recover(self, case_id: str) -> None:
        """Finish or undo what a killed `record` left in ``staging/``."""
        if self.folder(case_id).is_dir():
            with self._case_lock(case_id):
                self._recover(case_id)

    @contextmanager
    def _case_lock(self, case_id: str) -> Iterator[None]:
        """One record of a case at a time, across threads (a crawler each) and processes: a record's staged
        files are only ever another's leftovers once it holds the lock."""
        folder = self.folder(case_id)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _recover(self, case_id: str) -> None:
        _drop_dead_batches(self.folder(case_id) / "timestamps")
        staging = self.folder(case_id) / "staging"
        leftovers = sorted(staging.iterdir()) if staging.is_dir() else []
        if not leftovers:
            return
        named = {a.sha256 for entry in self.custody(case_id).entries() for a in artefacts_of(entry)}
        for path in leftovers:
            if path.name in named:
                self._commit(staging.parent, path.name)
            else:
                path.unlink(missing_ok=True)

    def shred(self, case_id: str) -> None:
        """Destroy the case's key and its sealed artefacts; the custody log and its timestamps stay."""
        with self._case_lock(case_id):
            self.keyring.destroy(case_id)
            for name in ("artefacts", "staging"):
                shutil.rmtree(self.folder(case_id) / name, ignore_errors=True)

    def _stage(self, staging: Path, key: bytes, case_id: str, artefact: Artefact) -> StoredArtefact:
        part = staging / f".part-{uuid.uuid4().hex}"
        try:
            with open(part, "xb") as target:
                os.chmod(part, 0o600)
                with _stream(artefact.source) as source:
                    sha256, size = seal(source, target, key, _context(case_id))
                target.flush()
                os.fsync(target.fileno())
            os.replace(part, staging / sha256)
        finally:
            part.unlink(missing_ok=True)
        return StoredArtefact(artefact.role, artefact.media_type, sha256, size)

    def _commit(self, folder: Path, sha256: str) -> None:
        if set(sha256) - _HEX or len(sha256) != 64:
            raise ValueError(f"not an artefact name: {sha256!r}")
        kept = folder / "artefacts"
        kept.mkdir(mode=0o700, exist_ok=True)
        staged = folder / "staging" / sha256
        try:
            os.link(staged, kept / sha256)  # written once: the same content kept before stays as it was
        except FileExistsError:
            pass
        staged.unlink(missing_ok=True)


def _context(case_id: str) -> bytes:
    return b"case:" + case_id.encode()


def _stream(source: Path | bytes | BinaryIO) -> AbstractContextManager[BinaryIO]:
    if isinstance(source, Path):
        return open(source, "rb")
    return io.BytesIO(source) if isinstance(source, bytes) else nullcontext(source)


def _drop_dead_batches(stamps: Path) -> None:
    """A timestamp batch a killed process was writing (``.batch-….json.PID``, `Stamper._write`): its entries
    are stamped again by the next batch, and the half-written file is nobody's."""
    for path in stamps.glob(".batch-*.json.*") if stamps.is_dir() else []:
        pid = path.suffix.lstrip(".")
        if pid.isdigit() and not _running(int(pid)):
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
