"""A case's chain of custody: an append-only file of JSON lines, each entry chained to the one before.

Every capture, export, reveal, key change, timestamp and deletion of a case's evidence is an entry. An
entry's ``hash`` is the SHA-256 of its canonical JSON (sorted keys, no spaces, UTF-8) without the hash,
and that JSON holds ``prev``, the hash of the entry before it: changing, removing or reordering any entry
breaks every hash after it, and `read_chain` names the first line where the chain no longer holds.

Writers are several processes (a crawl, the CLI, the dashboard): an append takes an exclusive ``flock`` on
the file, reads the last entry under it, and writes one line with one ``write`` and an ``fsync``. A line
cut short by a killed process was never acknowledged to anyone; the next append drops it first.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tracker.clock import utc_now
from tracker.evidence.errors import CustodyBroken

GENESIS = "0" * 64
# An entry is a few KB at most; the last one is looked for in this much of the file's end.
_TAIL_WINDOW = 1 << 20


def canonical(value: Mapping[str, Any]) -> bytes:
    """The canonical JSON of ``value``: what an entry's hash covers (RFC 8785's key order and spacing for
    the strings, integers and nested objects entries hold)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class CustodyEntry:
    """One event in a case's custody. ``detail`` holds what the event is about: artefacts with their
    SHA-256, the URL and time of a capture, the file an export wrote, who revealed what and why."""

    seq: int
    at: str
    case_id: str
    kind: str
    actor: str
    detail: dict[str, Any]
    prev: str
    hash: str = field(default="")

    def body(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "case": self.case_id, "kind": self.kind, "actor": self.actor,
                "detail": self.detail, "prev": self.prev}  # fmt: skip

    def computed_hash(self) -> str:
        return hashlib.sha256(canonical(self.body())).hexdigest()

    def line(self) -> bytes:
        return canonical({**self.body(), "hash": self.hash}) + b"\n"

    @classmethod
    def from_line(cls, line: bytes) -> CustodyEntry:
        """Raises ValueError (a line that is not an entry)."""
        raw = json.loads(line)
        if not isinstance(raw, dict) or set(raw) != {"seq", "at", "case", "kind", "actor", "detail", "prev", "hash"}:
            raise ValueError("not a custody entry")
        return cls(int(raw["seq"]), str(raw["at"]), str(raw["case"]), str(raw["kind"]), str(raw["actor"]),
                   dict(raw["detail"]), str(raw["prev"]), str(raw["hash"]))  # fmt: skip


class CustodyLog:
    """The custody log of one case, at ``path`` (``HOME/evidence/CASE/custody.jsonl``)."""

    def __init__(self, path: Path, case_id: str) -> None:
        self.path = path
        self.case_id = case_id

    def append(self, kind: str, actor: str, detail: Mapping[str, Any], *, at: str | None = None) -> CustodyEntry:
        """Add an entry after the last one; it is on disk (fsync) when this returns."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _drop_torn_tail(fd, self.path)
            seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS)
            entry = CustodyEntry(seq, at or utc_now(), self.case_id, kind, actor, dict(detail), prev)
            entry = replace(entry, hash=entry.computed_hash())
            os.write(fd, entry.line())
            os.fsync(fd)
            return entry
        finally:
            os.close(fd)  # releases the lock

    def entries(self, after: int = 0) -> Iterator[CustodyEntry]:
        """Every entry as written, without checking the chain (`read_chain` checks it); with ``after``,
        from line ``after + 1`` on, the lines before not parsed (entry N is line N: a log where that
        fails is named by `verify`). Raises CustodyBroken for a line that is not an entry."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.endswith(b"\n"):
                    return  # a torn last line: never acknowledged, dropped by the next append
                if number <= after:
                    continue
                try:
                    yield CustodyEntry.from_line(line)
                except (ValueError, TypeError, KeyError) as exc:
                    raise CustodyBroken(f"{self.path}:{number}: not a custody entry ({exc})") from None


def read_chain(log: CustodyLog) -> tuple[list[CustodyEntry], list[str]]:
    """The log's entries, and a line per problem: an entry whose hash is not its content's (changed), one
    that does not chain to the entry numbered before it (rewritten around it), a number missing (removed)
    or seen twice, an entry out of place (reordered), or one naming another case."""
    entries: list[CustodyEntry] = []
    problems: list[str] = []
    try:
        entries.extend(log.entries())
    except CustodyBroken as exc:
        problems.append(str(exc))
    name = log.path.name
    by_seq: dict[int, CustodyEntry] = {}
    highest = 0
    for entry in entries:
        where = f"{name} entry {entry.seq}"
        if entry.seq in by_seq:
            problems.append(f"{where}: appears twice")
            continue
        by_seq[entry.seq] = entry
        if entry.computed_hash() != entry.hash:
            problems.append(f"{where}: changed (its hash does not match its content)")
        if entry.case_id != log.case_id:
            problems.append(f"{where}: belongs to case {entry.case_id!r}, not {log.case_id!r}")
        if entry.seq < highest:
            problems.append(f"{where}: out of place (found after entry {highest})")
        highest = max(highest, entry.seq)
    for seq in range(1, highest + 1):
        numbered = by_seq.get(seq)
        if numbered is None:
            problems.append(f"{name} entry {seq}: missing (removed)")
            continue
        before = GENESIS if seq == 1 else by_seq[seq - 1].hash if seq - 1 in by_seq else None
        if before is not None and numbered.prev != before:
            problems.append(f"{name} entry {seq}: does not chain to entry {seq - 1} (the log was rewritten around it)")
    return entries, problems


def _drop_torn_tail(fd: int, path: Path) -> CustodyEntry | None:
    """The last complete entry of the locked file, after truncating a torn last line (a killed writer's)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    window = min(size, _TAIL_WINDOW)
    tail = os.pread(fd, window, size - window)
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n")
        if cut < 0 and window < size:
            raise CustodyBroken(f"{path}: its last line is over {_TAIL_WINDOW:,} bytes long; see: spreadtrace evidence verify")
        os.ftruncate(fd, size - window + cut + 1)
        tail = tail[: cut + 1]
    lines = tail.splitlines()
    if not lines:
        return None
    try:
        return CustodyEntry.from_line(lines[-1])
    except (ValueError, TypeError, KeyError):
        raise CustodyBroken(f"{path}: its last entry is damaged, so nothing is added; see: spreadtrace evidence verify") from None
