"""The embedded store: cases, references, media hashes, observations, sightings and the audit log in one
SQLite file (the journal's tables are in `sqlite_journal`, alerts' in `sqlite_alerts`, the plumbing in `sqlite_base`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from matcher import ContentKind, MediaHashes, Signal
from tracker.clock import utc_now
from tracker.errors import CaseWithdrawn, UnknownCase, UnknownSighting
from tracker.models import AuditEvent, Case, Observation, Reference, Sighting, StatusEvent, validate_case_id, validate_label
from tracker.store import HashReference, MediaCodes, media_codes
from tracker.stores import sqlite_rows as rows
from tracker.stores.sqlite_base import open_case
from tracker.stores.sqlite_alerts import SQLiteAlerts, forget_alerts
from tracker.stores.sqlite_takedowns import SQLiteTakedowns
from tracker.stores.sqlite_reviews import SQLiteReviews
from tracker.stores.sqlite_users import SQLiteUsers

_CASE_QUERY = (
    "SELECT c.id, c.created_at, c.withdrawn_at, count(CASE WHEN c.withdrawn_at IS NULL THEN r.id END) AS reference_count"
    " FROM cases c"
    " LEFT JOIN refs r ON r.case_id = c.id"
)
# Rows per executemany in a bulk import: big enough that SQLite, not Python, sets the pace.
_IMPORT_BATCH = 5000


class SQLiteStore(SQLiteTakedowns, SQLiteReviews, SQLiteAlerts, SQLiteUsers):
    # -- cases and references ---------------------------------------------------------------------

    def ensure_case(self, case_id: str) -> Case:
        validate_case_id(case_id)
        self._write(
            lambda conn: conn.execute("INSERT OR IGNORE INTO cases (id, created_at) VALUES (?, ?)", (case_id, utc_now()))
        )
        case = self.get_case(case_id)
        if case.withdrawn_at is not None:
            raise CaseWithdrawn(case_id, case.withdrawn_at)
        return case

    def withdraw_case(self, case_id: str, at: str) -> tuple[int, int]:
        def withdraw(conn: sqlite3.Connection) -> tuple[int, int]:
            if conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
                raise UnknownCase(case_id)
            conn.execute("DELETE FROM sighting_events WHERE sighting_id IN (SELECT id FROM sightings WHERE case_id = ?)", (case_id,))
            # The allowlist holds hashes of pictures met beside the victim's: nothing of the case stays.
            conn.execute("DELETE FROM allowlist WHERE reference_id IN (SELECT id FROM refs WHERE case_id = ?)", (case_id,))
            conn.execute("DELETE FROM reviews WHERE case_id = ?", (case_id,))
            sightings = conn.execute("DELETE FROM sightings WHERE case_id = ?", (case_id,)).rowcount
            references = conn.execute(
                "SELECT count(*) FROM refs r WHERE r.case_id = ? AND (r.sha256 IS NOT NULL OR r.label IS NOT NULL"
                " OR EXISTS (SELECT 1 FROM ref_signals s WHERE s.ref_id = r.id))", (case_id,)
            ).fetchone()[0]  # fmt: skip
            conn.execute("DELETE FROM ref_signals WHERE ref_id IN (SELECT id FROM refs WHERE case_id = ?)", (case_id,))
            # The rows stay, emptied of every hash and name: their ids are never handed out again, so the
            # custody log's and audit log's mentions of them keep meaning these references.
            conn.execute("UPDATE refs SET sha256 = NULL, md5 = NULL, label = NULL WHERE case_id = ?", (case_id,))
            conn.execute("UPDATE cases SET withdrawn_at = coalesce(withdrawn_at, ?) WHERE id = ?", (at, case_id))
            forget_alerts(conn, case_id)
            return references, sightings

        return self._write(withdraw)

    def get_case(self, case_id: str) -> Case:
        row = self._read().execute(_CASE_QUERY + " WHERE c.id = ? GROUP BY c.id", (case_id,)).fetchone()
        if row is None:
            raise UnknownCase(case_id)
        return Case(row["id"], row["created_at"], row["reference_count"], row["withdrawn_at"])

    def list_cases(self) -> list[Case]:
        found = self._read().execute(_CASE_QUERY + " GROUP BY c.id ORDER BY c.created_at, c.id").fetchall()
        return [Case(r["id"], r["created_at"], r["reference_count"], r["withdrawn_at"]) for r in found]

    def add_reference(
        self, case_id: str, kind: ContentKind, sha256: str | None, md5: str | None, label: str | None,
        signals: Sequence[Signal],
    ) -> Reference | None:  # fmt: skip
        validate_label(label)
        added_at = utc_now()

        def insert(conn: sqlite3.Connection) -> int | None:
            open_case(conn, case_id)
            cursor = conn.execute(
                "INSERT OR IGNORE INTO refs (case_id, kind, sha256, md5, label, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, str(kind), sha256, md5, label, added_at),
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
        return Reference(ref_id, case_id, ContentKind(kind), sha256, md5, label, added_at, tuple(signals))

    def import_references(self, case_id: str, references: Iterable[HashReference]) -> tuple[list[Reference], int]:
        validate_case_id(case_id)
        added_at = utc_now()

        def insert(conn: sqlite3.Connection) -> tuple[list[Reference], int]:
            conn.execute("INSERT OR IGNORE INTO cases (id, created_at) VALUES (?, ?)", (case_id, added_at))
            withdrawn = conn.execute("SELECT withdrawn_at FROM cases WHERE id = ?", (case_id,)).fetchone()["withdrawn_at"]
            if withdrawn is not None:
                raise CaseWithdrawn(case_id, withdrawn)
            held = conn.execute(
                "SELECT s.kind, s.value FROM ref_signals s JOIN refs r ON r.id = s.ref_id WHERE r.case_id = ?", (case_id,)
            )
            known = {_signal_key(kind, value) for kind, value in held}
            # The writer holds the database (BEGIN IMMEDIATE): no other insert can take these ids meanwhile.
            next_id = int(conn.execute("SELECT coalesce(max(id), 0) FROM refs").fetchone()[0]) + 1
            added: list[Reference] = []
            skipped = 0
            pending = iter(references)
            while batch := list(itertools.islice(pending, _IMPORT_BATCH)):
                ref_rows, signal_rows = [], []
                for kind, label, s in batch:
                    validate_label(label)
                    key = _signal_key(s.kind, s.value)
                    if key in known:
                        skipped += 1
                        continue
                    known.add(key)
                    ref_rows.append((next_id, case_id, str(kind), label, added_at))
                    signal_rows.append((next_id, s.kind, s.version, s.value, s.quality, s.variant))
                    added.append(Reference(next_id, case_id, ContentKind(kind), None, None, label, added_at, (s,)))
                    next_id += 1
                conn.executemany("INSERT INTO refs (id, case_id, kind, label, added_at) VALUES (?, ?, ?, ?, ?)", ref_rows)
                conn.executemany(
                    "INSERT INTO ref_signals (ref_id, kind, version, value, quality, variant) VALUES (?, ?, ?, ?, ?, ?)",
                    signal_rows,
                )
            return added, skipped

        return self._write(insert)

    def references(self, case_id: str | None = None) -> list[Reference]:
        conn = self._read()
        where = "WHERE c.withdrawn_at IS NULL" + (" AND r.case_id = ?" if case_id is not None else "")
        args: tuple[str, ...] = (case_id,) if case_id is not None else ()
        refs = conn.execute(f"SELECT r.* FROM refs r JOIN cases c ON c.id = r.case_id {where} ORDER BY r.id", args).fetchall()
        signals: dict[int, list[Signal]] = {}
        query = f"SELECT s.* FROM ref_signals s JOIN refs r ON r.id = s.ref_id JOIN cases c ON c.id = r.case_id {where}"
        for row in conn.execute(query + " ORDER BY s.rowid", args):
            signals.setdefault(row["ref_id"], []).append(rows.signal(row))
        return [
            Reference(r["id"], r["case_id"], ContentKind(r["kind"]), r["sha256"], r["md5"], r["label"], r["added_at"],
                      tuple(signals.get(r["id"], ())))
            for r in refs
        ]  # fmt: skip

    # -- media ------------------------------------------------------------------------------------

    def put_media(self, hashes: MediaHashes) -> None:
        codes = media_codes(hashes.signals)

        def insert(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO media (sha256, md5, size, kind, width, height, duration, hashed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (hashes.sha256, hashes.md5, hashes.size, str(hashes.kind), hashes.width, hashes.height, hashes.duration,
                 utc_now()),  # fmt: skip
            )
            if cursor.rowcount and hashes.signals:
                conn.executemany(
                    "INSERT INTO media_signals (sha256, kind, version, value, quality, variant) VALUES (?, ?, ?, ?, ?, ?)",
                    [(hashes.sha256, s.kind, s.version, s.value, s.quality, s.variant) for s in hashes.signals],
                )
                conn.execute(
                    "INSERT INTO media_codes (sha256, pdq, phash, keypoints) VALUES (?, ?, ?, ?)",
                    (hashes.sha256, *codes),
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
        found = conn.execute("SELECT * FROM media_signals WHERE sha256 = ? ORDER BY rowid", (sha256,))
        return tuple(rows.signal(r) for r in found)

    def iter_media_signals(self) -> Iterator[tuple[str, tuple[Signal, ...]]]:
        # One streaming pass, grouped by the ORDER BY, so memory stays flat however many files were seen.
        # Its own connection: an open statement pins a read snapshot, and callers write while iterating.
        conn = self._connect()
        try:
            found = conn.execute("SELECT * FROM media_signals ORDER BY sha256, rowid")
            for sha256, group in itertools.groupby(found, key=lambda row: row["sha256"]):
                yield sha256, tuple(rows.signal(row) for row in group)
        finally:
            conn.close()

    def media_count(self) -> int:
        return int(self._read().execute("SELECT count(*) FROM media_codes").fetchone()[0])

    def iter_media_codes(self, budget: int) -> Iterator[list[MediaCodes]]:
        # One statement in one read transaction, on a connection of its own: a snapshot (media written
        # meanwhile are not seen half), and callers may write while they iterate.
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            batch: list[MediaCodes] = []
            size = 0
            for row in conn.execute("SELECT id, pdq, phash, keypoints FROM media_codes ORDER BY id"):
                batch.append(MediaCodes._make(row))
                size += len(row[1]) + len(row[2])
                if size >= budget:
                    yield batch
                    batch, size = [], 0
            if batch:
                yield batch
        finally:
            conn.close()

    def media_sha256(self, numbers: Iterable[int]) -> Iterator[str]:
        # A temporary table on a connection of its own: a million candidates are sorted in SQLite's
        # temporary files, not in Python's memory.
        conn = self._connect()
        try:
            conn.execute("CREATE TEMP TABLE chosen (id INTEGER PRIMARY KEY)")
            conn.executemany("INSERT OR IGNORE INTO chosen (id) VALUES (?)", ((number,) for number in numbers))
            for (sha256,) in conn.execute("SELECT c.sha256 FROM chosen JOIN media_codes c USING (id) ORDER BY c.sha256"):
                yield sha256
        finally:
            conn.close()

    # -- observations -----------------------------------------------------------------------------

    def append_observation(self, observation: Observation) -> Observation:
        o = observation
        state = None if o.page_state is None else str(o.page_state)

        def insert(conn: sqlite3.Connection) -> Observation:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO observations (observed_at, site, page_url, media_url, host, http_status, sha256,"
                " content_type, size, error, claimed_at, claimed_source, visit_id, page_state, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (o.observed_at, o.site, o.page_url, o.media_url, o.host, o.http_status, o.sha256, o.content_type,
                 o.size, o.error, o.claimed_at, o.claimed_source, o.visit_id, state, o.note),
            )  # fmt: skip
            if cursor.rowcount:
                assert cursor.lastrowid is not None
                return replace(o, id=cursor.lastrowid)
            row = conn.execute(  # this visit observed the pair already (a resumed visit re-fetching a page)
                "SELECT * FROM observations WHERE visit_id = ? AND page_url = ? AND media_url = ?",
                (o.visit_id, o.page_url, o.media_url),
            ).fetchone()
            return rows.observation(row)

        return self._write(insert)

    def observations_of(self, sha256: str) -> list[Observation]:
        found = self._read().execute("SELECT * FROM observations WHERE sha256 = ? ORDER BY id", (sha256,))
        return [rows.observation(r) for r in found]

    def observations_at(self, page_url: str, media_url: str) -> list[Observation]:
        found = self._read().execute(
            "SELECT * FROM observations WHERE page_url = ? AND media_url = ? ORDER BY observed_at, id", (page_url, media_url)
        )
        return [rows.observation(r) for r in found]

    def observation_count(self) -> int:
        return int(self._read().execute("SELECT count(*) FROM observations").fetchone()[0])

    # -- sightings --------------------------------------------------------------------------------

    def save_sighting(
        self, sighting: Sighting, events: Sequence[StatusEvent], *, expected_revision: int | None
    ) -> Sighting | None:
        return self._write(lambda conn: rows.write_sighting(conn, sighting, events, expected_revision))

    def get_sighting(self, sighting_id: int) -> Sighting:
        row = self._read().execute("SELECT * FROM sightings WHERE id = ?", (sighting_id,)).fetchone()
        if row is None:
            raise UnknownSighting(sighting_id)
        return rows.sighting(row)

    def sightings(self, case_id: str) -> list[Sighting]:
        self.get_case(case_id)
        found = self._read().execute("SELECT * FROM sightings WHERE case_id = ? ORDER BY id", (case_id,))
        return [rows.sighting(r) for r in found]

    def sightings_on_page(self, page_url: str) -> list[Sighting]:
        found = self._read().execute("SELECT * FROM sightings WHERE page_url = ? ORDER BY id", (page_url,))
        return [rows.sighting(r) for r in found]

    def sightings_of_site(self, site: str) -> list[Sighting]:
        found = self._read().execute("SELECT * FROM sightings WHERE site = ? ORDER BY id", (site,))
        return [rows.sighting(r) for r in found]

    def status_history(self, sighting_id: int) -> list[StatusEvent]:
        found = self._read().execute("SELECT * FROM sighting_events WHERE sighting_id = ? ORDER BY at, id", (sighting_id,))
        return [rows.status_event(r) for r in found]

    # -- audit ------------------------------------------------------------------------------------

    def log_event(self, event: AuditEvent) -> AuditEvent:
        e = event
        return replace(e, id=self._insert("INSERT INTO audit_events (at, actor, action, case_id, detail) VALUES (?, ?, ?, ?, ?)",
                                          (e.at, e.actor, e.action, e.case_id, json.dumps(e.detail, sort_keys=True))))

    def audit_events(self, case_id: str | None = None) -> list[AuditEvent]:
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        found = self._read().execute(f"SELECT * FROM audit_events {where} ORDER BY id", args)
        return [_audit_event(r) for r in found]

    def recent_audit_events(self, *, actor: str | None = None, action: str | None = None, case_id: str | None = None,
                            since: str | None = None, before_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        terms = {"actor = ?": actor, "action = ?": action, "case_id = ?": case_id, "at >= ?": since, "id < ?": before_id}
        given = {term: value for term, value in terms.items() if value is not None}
        where = f"WHERE {' AND '.join(given)}" if given else ""
        found = self._read().execute(f"SELECT * FROM audit_events {where} ORDER BY id DESC LIMIT ?", (*given.values(), limit))
        return [_audit_event(r) for r in found]


def _audit_event(row: sqlite3.Row) -> AuditEvent:
    return AuditEvent(row["at"], row["actor"], row["action"], row["case_id"], json.loads(row["detail"]), id=row["id"])


def _signal_key(kind: str, value: str) -> bytes:
    """A signal as a 16-byte digest: a million vPDQ or PDQ values held as keys cost a fraction of the text."""
    return hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=16).digest()
