"""The SQLite tables of the review queue: analysts' decisions on sightings, and the allowlist they add to."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from tracker.errors import UnknownCase
from tracker.models import AllowEntry, ReviewDecision, Sighting, StatusEvent
from tracker.stores import sqlite_rows as rows
from tracker.stores.sqlite_journal import SQLiteJournal


class SQLiteReviews(SQLiteJournal):
    def awaiting_review(self, case_id: str | None = None) -> list[Sighting]:
        conn = self._read()
        if case_id is not None and conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is None:
            raise UnknownCase(case_id)
        where, args = ("AND case_id = ?", (case_id,)) if case_id is not None else ("", ())
        found = conn.execute(
            f"SELECT * FROM sightings WHERE verdict = 'needs_review' AND review IS NULL {where} ORDER BY first_seen, id", args
        )
        return [rows.sighting(r) for r in found]

    def save_review(
        self, review: ReviewDecision, sighting: Sighting, events: Sequence[StatusEvent], allow: Sequence[AllowEntry], *,
        expected_revision: int,
    ) -> Sighting | None:  # fmt: skip
        r = review

        def save(conn: sqlite3.Connection) -> Sighting | None:
            saved = rows.write_sighting(conn, sighting, events, expected_revision)
            if saved is None:
                return None  # nothing else written: the transaction holds only what came before
            cursor = conn.execute(
                "INSERT INTO reviews (sighting_id, case_id, reference_id, decision, actor, at, why) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.sighting_id, r.case_id, r.reference_id, str(r.decision), r.actor, r.at, r.why),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO allowlist (reference_id, kind, value, review_id) VALUES (?, ?, ?, ?)",
                [(e.reference_id, e.kind, e.value, cursor.lastrowid) for e in allow],
            )
            return saved

        return self._write(save)

    def reviews(self, case_id: str | None = None) -> list[ReviewDecision]:
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        return [rows.review(r) for r in self._read().execute(f"SELECT * FROM reviews {where} ORDER BY id", args)]

    def allowlist(self) -> list[AllowEntry]:
        found = self._read().execute(
            "SELECT a.* FROM allowlist a JOIN refs r ON r.id = a.reference_id JOIN cases c ON c.id = r.case_id"
            " WHERE c.withdrawn_at IS NULL ORDER BY a.review_id, a.kind, a.value"
        )  # fmt: skip
        return [rows.allow_entry(r) for r in found]
