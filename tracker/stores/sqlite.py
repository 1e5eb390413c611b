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
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from matcher import MediaHashes, Signal
from tracker.clock import utc_now
from tracker.errors import StoreSchemaTooNew, StoreUnavailable, UnknownCase
from tracker.models import (
    ONLINE,
    REAPPEARED,
    STILL_ONLINE,
    AuditEvent,
    Case,
    Link,
    Observation,
    PageVisit,
    Reference,
    Sighting,
    StatusEvent,
    Validators,
    Visit,
    host_of,
    validate_case_id,
)
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

        def insert(conn: sqlite3.Connection) -> Observation:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO observations (observed_at, site, page_url, media_url, host, http_status, sha256,"
                " content_type, size, error, claimed_at, claimed_source, visit_id, page_state, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.observed_at, o.site, o.page_url, o.media_url, o.host, o.http_status, o.sha256, o.content_type,
                 o.size, o.error, o.claimed_at, o.claimed_source, o.visit_id, o.page_state, o.note),
            )  # fmt: skip
            if cursor.rowcount:
                assert cursor.lastrowid is not None
                return Observation(**{**_fields(o), "id": cursor.lastrowid})
            row = conn.execute(  # this visit observed the pair already (a resumed visit re-fetching a page)
                "SELECT * FROM observations WHERE visit_id = ? AND page_url = ? AND media_url = ?",
                (o.visit_id, o.page_url, o.media_url),
            ).fetchone()
            return _observation(row)

        return self._write(insert)

    def observations_of(self, sha256: str) -> list[Observation]:
        rows = self._read().execute("SELECT * FROM observations WHERE sha256 = ? ORDER BY id", (sha256,))
        return [_observation(r) for r in rows]

    def observation_count(self) -> int:
        return int(self._read().execute("SELECT count(*) FROM observations").fetchone()[0])

    # -- sightings --------------------------------------------------------------------------------

    def upsert_sighting(self, sighting: Sighting) -> Sighting:
        s = sighting

        def upsert(conn: sqlite3.Connection) -> Sighting:
            existed = conn.execute(
                "SELECT 1 FROM sightings WHERE reference_id = ? AND page_url = ? AND media_url = ?",
                (s.reference_id, s.page_url, s.media_url),
            ).fetchone()
            conn.execute(
                "INSERT INTO sightings (case_id, reference_id, media_url, page_url, host, site, sha256, first_seen,"
                " last_seen, status, distance, decided_by, signals, claimed_at, claimed_source, verdict, confidence, status_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (reference_id, page_url, media_url) DO UPDATE SET"
                "  verdict = CASE WHEN verdict = 'match' OR excluded.verdict = 'match' THEN 'match' ELSE verdict END,"
                "  confidence = max(coalesce(confidence, 0), coalesce(excluded.confidence, 0)),"
                "  first_seen = min(first_seen, excluded.first_seen),"
                "  last_seen = max(last_seen, excluded.last_seen),"
                "  sha256 = CASE WHEN excluded.last_seen >= last_seen THEN excluded.sha256 ELSE sha256 END,"
                "  claimed_source = CASE WHEN claimed_at IS NULL OR excluded.claimed_at < claimed_at"
                "   THEN coalesce(excluded.claimed_source, claimed_source) ELSE claimed_source END,"
                "  claimed_at = CASE WHEN claimed_at IS NULL OR excluded.claimed_at < claimed_at"
                "   THEN coalesce(excluded.claimed_at, claimed_at) ELSE claimed_at END",
                (s.case_id, s.reference_id, s.media_url, s.page_url, s.host, s.site, s.sha256, s.first_seen,
                 s.last_seen, s.status, s.distance, s.decided_by, json.dumps(list(s.signals)), s.claimed_at,
                 s.claimed_source, s.verdict, s.confidence, s.first_seen),
            )  # fmt: skip
            row = conn.execute(
                "SELECT * FROM sightings WHERE reference_id = ? AND page_url = ? AND media_url = ?",
                (s.reference_id, s.page_url, s.media_url),
            ).fetchone()
            if not existed:
                conn.execute(
                    "INSERT INTO sighting_events (sighting_id, at, status, reason) VALUES (?, ?, ?, 'first seen')",
                    (row["id"], s.first_seen, s.status),
                )
            return _sighting(row)

        return self._write(upsert)

    def sightings(self, case_id: str) -> list[Sighting]:
        self.get_case(case_id)
        rows = self._read().execute("SELECT * FROM sightings WHERE case_id = ? ORDER BY id", (case_id,))
        return [_sighting(r) for r in rows]

    def sightings_at(self, page_url: str, media_url: str) -> list[Sighting]:
        rows = self._read().execute(
            "SELECT * FROM sightings WHERE page_url = ? AND media_url = ? ORDER BY id", (page_url, media_url)
        )
        return [_sighting(r) for r in rows]

    def sightings_of_site(self, site: str) -> list[Sighting]:
        rows = self._read().execute("SELECT * FROM sightings WHERE site = ? ORDER BY id", (site,))
        return [_sighting(r) for r in rows]

    def set_status(
        self, sighting_id: int, status: str, at: str, reason: str | None, observation_id: int | None
    ) -> StatusEvent | None:
        def update(conn: sqlite3.Connection) -> StatusEvent | None:
            row = conn.execute(
                "SELECT status, coalesce(status_at, first_seen) AS status_at FROM sightings WHERE id = ?", (sighting_id,)
            ).fetchone()
            if row is None or at < row["status_at"]:
                return None  # a later observation decided already (workers finish out of order)
            new = status
            if status == ONLINE and row["status"] not in STILL_ONLINE:
                new = REAPPEARED
            elif status == ONLINE:
                new = row["status"]
            if new == row["status"]:
                return None
            conn.execute("UPDATE sightings SET status = ?, status_at = ? WHERE id = ?", (new, at, sighting_id))
            conn.execute(
                "INSERT INTO sighting_events (sighting_id, at, status, reason, observation_id) VALUES (?, ?, ?, ?, ?)",
                (sighting_id, at, new, reason, observation_id),
            )
            return StatusEvent(sighting_id, at, new, reason, observation_id)

        return self._write(update)

    def status_history(self, sighting_id: int) -> list[StatusEvent]:
        rows = self._read().execute(
            "SELECT * FROM sighting_events WHERE sighting_id = ? ORDER BY at, id", (sighting_id,)
        )
        return [StatusEvent(r["sighting_id"], r["at"], r["status"], r["reason"], r["observation_id"]) for r in rows]

    # -- visits -----------------------------------------------------------------------------------

    def begin_visit(self, site: str, visit_id: str | None = None, *, resume: bool = True) -> Visit:
        def begin(conn: sqlite3.Connection) -> str:
            if visit_id is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO visits (id, site, started_at) VALUES (?, ?, ?)", (visit_id, site, utc_now())
                )
                return visit_id
            if resume:
                row = conn.execute(
                    "SELECT id FROM visits WHERE site = ? AND finished_at IS NULL ORDER BY started_at DESC LIMIT 1",
                    (site,),
                ).fetchone()
                if row is not None:
                    return str(row["id"])
            new_id = f"{site}-{uuid.uuid4().hex[:12]}"
            conn.execute("INSERT INTO visits (id, site, started_at) VALUES (?, ?, ?)", (new_id, site, utc_now()))
            return new_id

        chosen = self._write(begin)
        return self._visit(chosen)

    def _visit(self, visit_id: str) -> Visit:
        row = self._read().execute("SELECT * FROM visits WHERE id = ?", (visit_id,)).fetchone()
        return _visit_row(row)

    def finish_visit(self, visit_id: str, outcome: str, detail: dict[str, object]) -> None:
        self._write(
            lambda conn: conn.execute(
                "UPDATE visits SET finished_at = ?, outcome = ?, detail = ? WHERE id = ?",
                (utc_now(), outcome, json.dumps(detail, sort_keys=True), visit_id),
            )
        )

    def visits(self, site: str | None = None, limit: int = 20) -> list[Visit]:
        where, args = ("WHERE site = ?", (site,)) if site is not None else ("", ())
        rows = self._read().execute(f"SELECT * FROM visits {where} ORDER BY started_at DESC, rowid DESC LIMIT ?", (*args, limit))
        return [_visit_row(r) for r in rows]

    def claim_page(self, visit_id: str, url: str, role: str, cap: int | None) -> bool:
        def claim(conn: sqlite3.Connection) -> bool:
            if cap is not None:
                row = conn.execute("SELECT pages FROM visits WHERE id = ?", (visit_id,)).fetchone()
                if row is not None and row["pages"] >= cap:
                    return False
            cursor = conn.execute(
                "INSERT OR IGNORE INTO visit_pages (visit_id, url, role, state) VALUES (?, ?, ?, 'queued')",
                (visit_id, url, role),
            )
            if not cursor.rowcount:
                return False
            if cap is not None:  # re-checks of known pages are not counted against the cap
                conn.execute("UPDATE visits SET pages = pages + 1 WHERE id = ?", (visit_id,))
            return True

        if self.is_claimed(visit_id, url):  # the common case, answered without queueing a write
            return False
        return self._write(claim)

    def is_claimed(self, visit_id: str, url: str) -> bool:
        row = self._read().execute("SELECT 1 FROM visit_pages WHERE visit_id = ? AND url = ?", (visit_id, url))
        return row.fetchone() is not None

    def finish_page(self, page: PageVisit) -> None:
        p = page
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO visit_pages (visit_id, url, role, state, http_status, final_url, outcome, reason, metadata)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (visit_id, url) DO UPDATE SET state = excluded.state,"
                " http_status = excluded.http_status, final_url = excluded.final_url, outcome = excluded.outcome,"
                " reason = excluded.reason, metadata = excluded.metadata",
                (p.visit_id, p.url, p.role, p.state, p.http_status, p.final_url, p.outcome, p.reason,
                 json.dumps(p.metadata, sort_keys=True)),
            )  # fmt: skip
        )

    def pending_pages(self, visit_id: str) -> list[tuple[str, str]]:
        rows = self._read().execute(
            "SELECT url, role FROM visit_pages WHERE visit_id = ? AND state = 'queued' ORDER BY rowid", (visit_id,)
        )
        return [(r["url"], r["role"]) for r in rows]

    def page_visits(self, visit_id: str) -> list[PageVisit]:
        rows = self._read().execute("SELECT * FROM visit_pages WHERE visit_id = ? ORDER BY rowid", (visit_id,))
        return [
            PageVisit(r["visit_id"], r["url"], r["role"], r["state"], r["http_status"], r["final_url"], r["outcome"],
                      r["reason"], json.loads(r["metadata"]))
            for r in rows
        ]  # fmt: skip

    def record_links(self, from_url: str, targets: Sequence[tuple[str, str | None]], at: str) -> None:
        if not targets:
            return
        from_host = host_of(from_url)
        self._write(
            lambda conn: conn.executemany(
                "INSERT INTO links (from_url, to_url, from_host, to_host, to_site, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (from_url, to_url) DO UPDATE SET"
                " last_seen = max(last_seen, excluded.last_seen), to_site = coalesce(excluded.to_site, to_site)",
                [(from_url, url, from_host, host_of(url), site, at, at) for url, site in targets],
            )
        )

    def links(self, to_urls: Sequence[str] | None = None) -> list[Link]:
        conn = self._read()
        if to_urls is None:
            rows = conn.execute("SELECT * FROM links ORDER BY first_seen, from_url, to_url").fetchall()
        else:
            rows = []
            for url in dict.fromkeys(to_urls):
                rows.extend(conn.execute("SELECT * FROM links WHERE to_url = ? ORDER BY first_seen", (url,)))
        return [Link(r["from_url"], r["to_url"], r["from_host"], r["to_host"], r["to_site"], r["first_seen"],
                     r["last_seen"]) for r in rows]  # fmt: skip

    def validators(self, url: str) -> Validators | None:
        row = self._read().execute("SELECT * FROM url_validators WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return Validators(row["url"], row["etag"], row["last_modified"], row["sha256"], row["http_status"],
                          row["content_type"], row["checked_at"])  # fmt: skip

    def put_validators(self, validators: Validators) -> None:
        v = validators
        self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO url_validators (url, etag, last_modified, sha256, http_status, content_type,"
                " checked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (v.url, v.etag, v.last_modified, v.sha256, v.http_status, v.content_type, v.checked_at),
            )
        )

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


def _visit_row(row: sqlite3.Row) -> Visit:
    return Visit(row["id"], row["site"], row["started_at"], row["finished_at"], row["outcome"], row["pages"],
                 json.loads(row["detail"]))  # fmt: skip


def _sighting(row: sqlite3.Row) -> Sighting:
    fields = {name: row[name] for name in Sighting.__slots__ if name != "signals"}
    return Sighting(**fields, signals=tuple(json.loads(row["signals"])))
