"""Takedown notices in SQLite: a notice's searchable fields as columns, the rest as one JSON document (a
notice is read and written whole, and its shape grows with the laws it speaks to)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, replace
from typing import Any

from tracker.errors import UnknownNotice
from tracker.stores.sqlite_base import SQLiteConnections
from tracker.takedowns.models import Notice, NoticeEvent, NoticeItem, NoticeStatus


class SQLiteTakedowns(SQLiteConnections):
    def add_notice(self, notice: Notice) -> Notice:
        return replace(notice, id=self._insert(
            "INSERT INTO notices (case_id, host, status, created_at, deadline_at, body) VALUES (?, ?, ?, ?, ?, ?)",
            (notice.case_id, notice.host, str(notice.status), notice.created_at, notice.deadline_at, _document(notice))))  # fmt: skip

    def save_notice(self, notice: Notice) -> Notice:
        assert notice.id is not None, "save_notice replaces a notice that add_notice stored"

        def update(conn: sqlite3.Connection) -> None:
            changed = conn.execute(
                "UPDATE notices SET status = ?, deadline_at = ?, body = ? WHERE id = ?",
                (str(notice.status), notice.deadline_at, _document(notice), notice.id),
            ).rowcount
            if not changed:
                raise UnknownNotice(f"no notice {notice.id}")

        self._write(update)
        return notice

    def notice(self, notice_id: int) -> Notice:
        row = self._read().execute("SELECT * FROM notices WHERE id = ?", (notice_id,)).fetchone()
        if row is None:
            raise UnknownNotice(f"no notice {notice_id} (see: spreadtrace takedown list)")
        return _notice(row)

    def notices(self, case_id: str | None = None) -> list[Notice]:
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        return [_notice(row) for row in self._read().execute(f"SELECT * FROM notices {where} ORDER BY id", args)]

    def add_notice_event(self, event: NoticeEvent) -> NoticeEvent:
        return replace(event, id=self._insert(
            "INSERT INTO notice_events (notice_id, at, actor, what, detail) VALUES (?, ?, ?, ?, ?)",
            (event.notice_id, event.at, event.actor, event.what, json.dumps(event.detail, sort_keys=True))))  # fmt: skip

    def notice_events(self, notice_id: int) -> list[NoticeEvent]:
        found = self._read().execute("SELECT * FROM notice_events WHERE notice_id = ? ORDER BY id", (notice_id,))
        return [NoticeEvent(r["notice_id"], r["at"], r["actor"], r["what"], json.loads(r["detail"]), id=r["id"]) for r in found]


def _document(notice: Notice) -> str:
    fields = asdict(notice)
    for key in ("id", "case_id", "host", "status", "created_at", "deadline_at"):
        fields.pop(key)
    return json.dumps(fields, sort_keys=True)


def _notice(row: sqlite3.Row) -> Notice:
    fields: dict[str, Any] = json.loads(row["body"])
    items = tuple(NoticeItem(**{**item, "captures": tuple(item["captures"])}) for item in fields.pop("items"))
    return Notice(id=row["id"], case_id=row["case_id"], host=row["host"], status=NoticeStatus(row["status"]),
                  created_at=row["created_at"], deadline_at=row["deadline_at"], items=items, **fields)  # fmt: skip
