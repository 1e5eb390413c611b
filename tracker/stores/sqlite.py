"""The embedded store: one SQLite file in WAL mode, every write through one writer thread.

As in datasette/database.py: readers use their own connection per thread and never block, and all writes
are queued to a single thread, so Scrapy's item threads, the CLI and a dashboard never fight over locks.
"""

from __future__ import annotations

import itertools
import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from matcher import MediaHashes, Signal
from tracker.clock import utc_now
from tracker.errors import StoreSchemaTooNew, StoreUnavailable, UnknownCase
from tracker.models import AuditEvent, Case, Observation, Reference, Sighting, validate_case_id
from tracker.stores.sqlite_schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION

T = TypeVar("T")
_Task = tuple[Callable[[sqlite3.Connection], Any], "Future[Any]"]


class SQLiteStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from None
        self._local = threading.local()
        self._queue: queue.Queue[_Task | None] = queue.Queue()  # None: stop
        self._migrate(writer)
        self._thread = threading.Thread(target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True)
        self._thread.start()

    # -- plumbing ---------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreSchemaTooNew(
                f"{self.path} has schema {version}, this spreadtrace knows {SCHEMA_VERSION}: upgrade spreadtrace"
            )
        if version == 0:
            conn.executescript(f"BEGIN; {SCHEMA}; PRAGMA user_version = 1; COMMIT;")
            version = 1
        for step, script in enumerate(MIGRATIONS[version - 1 :], start=version + 1):
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {step}; COMMIT;")

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                conn.close()
                return
            fn, future = task
            try:
                conn.execute("BEGIN IMMEDIATE")
                value = fn(conn)
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                future.set_exception(exc)
            else:
                future.set_result(value)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if not self._thread.is_alive():
            raise StoreUnavailable(f"{self.path}: the store is closed")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result()

    def _read(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- cases and references ---------------------------------------------------------------------

    def ensure_case(self, case_id: str) -> Case:
        validate_case_id(case_id)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR IGNORE INTO cases (id, created_at) VALUES (?, ?)", (case_id, utc_now()))

        self._write(insert)
        return self.get_case(case_id)

    def get_case(self, case_id: str) -> Case:
        row = self._read().execute(_CASE_QUERY + " WHERE c.id = ? GROUP BY c.id", (case_id,)).fetchone()
        if row is None:
            raise UnknownCase(case_id)
        return Case(row["id"], row["created_at"], row["reference_count"])

    def list_cases(self) -> list[Case]:
        rows = self._read().execute(_CASE_QUERY + " GROUP BY c.id ORDER BY c.created_at, c.id").fetchall()
        return [Case(r["id"], r["created_at"], r["reference_count"]) for r in rows]

    def add_reference(
        self, case_id: str, kind: str, sha256: str | None, md5: str | None, label: str | None,
        signals: Sequence[Signal],
    ) -> Reference | None:  # fmt: skip
        added_at = utc_now()

        def insert(conn: sqlite3.Connection) -> int | None:
            if conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
                raise UnknownCase(case_id)
            cursor = conn.execute(
                "INSERT OR IGNORE INTO refs (case_id, kind, sha256, md5, label, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, kind, sha256, md5, label, added_at),
            )
            if cursor.rowcount == 0:
                return None
            ref_id = cursor.lastrowid
            conn.executemany(
                "INSERT INTO ref_signals (ref_id, kind, version, value, quality, variant) VALUES (?, ?, ?, ?, ?, ?)",
                [(ref_id, s.kind, s.version, s.value, s.quality, s.variant) for s in signals],
            )
            return ref_id

        ref_id = self._write(insert)
        if ref_id is None:
            return None
        return Reference(ref_id, case_id, kind, sha256, md5, label, added_at, tuple(signals))

    def references(self, case_id: str | None = None) -> list[Reference]:
        conn = self._read()
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        refs = conn.execute(f"SELECT * FROM refs {where} ORDER BY id", args).fetchall()
        signals: dict[int, list[Signal]] = {}
        query = f"SELECT s.* FROM ref_signals s JOIN refs r ON r.id = s.ref_id {where.replace('case_id', 'r.case_id')}"
        for row in conn.execute(query + " ORDER BY s.rowid", args):
            signals.setdefault(row["ref_id"], []).append(_signal(row))
        return [
            Reference(r["id"], r["case_id"], r["kind"], r["sha256"], r["md5"], r["label"], r["added_at"],
                      tuple(signals.get(r["id"], ())))
            for r in refs
        ]  # fmt: skip

    # -- media ------------------------------------------------------------------------------------

    def put_media(self, hashes: MediaHashes) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO media (sha256, md5, size, kind, width, height, duration, hashed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (hashes.sha256, hashes.md5, hashes.size, str(hashes.kind), hashes.width, hashes.height, hashes.duration,
                 utc_now()),  # fmt: skip
            )
            if cursor.rowcount:
                conn.executemany(
                    "INSERT INTO media_signals (sha256, kind, version, value, quality, variant) VALUES (?, ?, ?, ?, ?, ?)",
                    [(hashes.sha256, s.kind, s.version, s.value, s.quality, s.variant) for s in hashes.signals],
                )

        self._write(insert)

    def put_unhashable(self, sha256: str, size: int, reason: str) -> None:
        self._write(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO media (sha256, size, hashed_at, error) VALUES (?, ?, ?, ?)",
                (sha256, size, utc_now(), reason),
            )
        )

    def media_signals(self, sha256: str) -> tuple[Signal, ...] | str | None:
        conn = self._read()
        row = conn.execute("SELECT error FROM media WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            return None
        if row["error"] is not None:
            return str(row["error"])
        rows = conn.execute("SELECT * FROM media_signals WHERE sha256 = ? ORDER BY rowid", (sha256,))
        return tuple(_signal(r) for r in rows)

    def iter_media_signals(self) -> Iterator[tuple[str, tuple[Signal, ...]]]:
        # One streaming pass, grouped by the ORDER BY, so memory stays flat however many files were seen.
        # Its own connection: an open statement pins a read snapshot, and callers write while iterating.
        conn = self._connect()
        try:
            rows = conn.execute("SELECT * FROM media_signals ORDER BY sha256, rowid")
            for sha256, group in itertools.groupby(rows, key=lambda row: row["sha256"]):
                yield sha256, tuple(_signal(row) for row in group)
        finally:
            conn.close()

    # -- observations -----------------------------------------------------------------------------

    def append_observation(self, observation: Observation) -> Observation:
        o = observation

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO observations (observed_at, site, page_url, media_url, host, http_status, sha256,"
                " content_type, size, error, claimed_at, claimed_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.observed_at, o.site, o.page_url, o.media_url, o.host, o.http_status, o.sha256, o.content_type,
                 o.size, o.error, o.claimed_at, o.claimed_source),
            )  # fmt: skip
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        row_id = self._write(insert)
        return Observation(**{**_fields(o), "id": row_id})

    def observations_of(self, sha256: str) -> list[Observation]:
        rows = self._read().execute("SELECT * FROM observations WHERE sha256 = ? ORDER BY id", (sha256,))
        return [_observation(r) for r in rows]

    def observation_count(self) -> int:
        return int(self._read().execute("SELECT count(*) FROM observations").fetchone()[0])

    # -- sightings --------------------------------------------------------------------------------

    def upsert_sighting(self, sighting: Sighting) -> Sighting:
        s = sighting

        def upsert(conn: sqlite3.Connection) -> Sighting:
            conn.execute(
                "INSERT INTO sightings (case_id, reference_id, media_url, page_url, host, site, sha256, first_seen,"
                " last_seen, status, distance, decided_by, signals, claimed_at, claimed_source, verdict, confidence)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (reference_id, page_url, media_url) DO UPDATE SET"
                "  verdict = CASE WHEN verdict = 'match' OR excluded.verdict = 'match' THEN 'match' ELSE verdict END,"
                "  confidence = max(coalesce(confidence, 0), coalesce(excluded.confidence, 0)),"
                "  first_seen = min(first_seen, excluded.first_seen),"
                "  last_seen = max(last_seen, excluded.last_seen),"
                "  status = CASE WHEN excluded.last_seen >= last_seen THEN excluded.status ELSE status END,"
                "  sha256 = CASE WHEN excluded.last_seen >= last_seen THEN excluded.sha256 ELSE sha256 END,"
                "  claimed_source = CASE WHEN claimed_at IS NULL OR excluded.claimed_at < claimed_at"
                "   THEN coalesce(excluded.claimed_source, claimed_source) ELSE claimed_source END,"
                "  claimed_at = CASE WHEN claimed_at IS NULL OR excluded.claimed_at < claimed_at"
                "   THEN coalesce(excluded.claimed_at, claimed_at) ELSE claimed_at END",
                (s.case_id, s.reference_id, s.media_url, s.page_url, s.host, s.site, s.sha256, s.first_seen,
                 s.last_seen, s.status, s.distance, s.decided_by, json.dumps(list(s.signals)), s.claimed_at,
                 s.claimed_source, s.verdict, s.confidence),
            )  # fmt: skip
            row = conn.execute(
                "SELECT * FROM sightings WHERE reference_id = ? AND page_url = ? AND media_url = ?",
                (s.reference_id, s.page_url, s.media_url),
            ).fetchone()
            return _sighting(row)

        return self._write(upsert)

    def sightings(self, case_id: str) -> list[Sighting]:
        self.get_case(case_id)
        rows = self._read().execute("SELECT * FROM sightings WHERE case_id = ? ORDER BY id", (case_id,))
        return [_sighting(r) for r in rows]


    # -- audit ------------------------------------------------------------------------------------

    def log_event(self, event: AuditEvent) -> AuditEvent:
        e = event

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO audit_events (at, actor, action, case_id, detail) VALUES (?, ?, ?, ?, ?)",
                (e.at, e.actor, e.action, e.case_id, json.dumps(e.detail, sort_keys=True)),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        return AuditEvent(e.at, e.actor, e.action, e.case_id, e.detail, id=self._write(insert))

    def audit_events(self, case_id: str | None = None) -> list[AuditEvent]:
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        rows = self._read().execute(f"SELECT * FROM audit_events {where} ORDER BY id", args)
        return [AuditEvent(r["at"], r["actor"], r["action"], r["case_id"], json.loads(r["detail"]), id=r["id"]) for r in rows]


_CASE_QUERY = (
    "SELECT c.id, c.created_at, count(r.id) AS reference_count FROM cases c LEFT JOIN refs r ON r.case_id = c.id"
)


def _signal(row: sqlite3.Row) -> Signal:
    return Signal(row["kind"], row["value"], row["version"], row["quality"], row["variant"])


def _fields(observation: Observation) -> dict[str, Any]:
    return {name: getattr(observation, name) for name in Observation.__slots__}


def _observation(row: sqlite3.Row) -> Observation:
    return Observation(**{name: row[name] for name in Observation.__slots__})


def _sighting(row: sqlite3.Row) -> Sighting:
    fields = {name: row[name] for name in Sighting.__slots__ if name != "signals"}
    return Sighting(**fields, signals=tuple(json.loads(row["signals"])))
