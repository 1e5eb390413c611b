"""The SQLite tables of the visit journal: visits, their pages, links between pages, and validators."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from tracker.clock import utc_now
from tracker.models import Link, PageReading, PageVisit, PendingPage, Validators, Visit, host_of
from tracker.states import ClaimState, PageRole, VisitOutcome
from tracker.stores import sqlite_rows as rows
from tracker.stores.sqlite_base import SQLiteConnections


class SQLiteJournal(SQLiteConnections):
    def open_visit(self, visit_id: str, site: str) -> Visit:
        self._write(
            lambda conn: conn.execute(
                "INSERT OR IGNORE INTO visits (id, site, started_at) VALUES (?, ?, ?)", (visit_id, site, utc_now())
            )
        )
        return rows.visit(self._read().execute("SELECT * FROM visits WHERE id = ?", (visit_id,)).fetchone())

    def finish_visit(self, visit_id: str, outcome: VisitOutcome, detail: dict[str, object]) -> None:
        self._write(
            lambda conn: conn.execute(
                "UPDATE visits SET finished_at = ?, outcome = ?, detail = ? WHERE id = ?",
                (utc_now(), str(outcome), json.dumps(detail, sort_keys=True), visit_id),
            )
        )

    def visits(self, site: str | None = None, limit: int = 20) -> list[Visit]:
        where, args = ("WHERE site = ?", (site,)) if site is not None else ("", ())
        found = self._read().execute(f"SELECT * FROM visits {where} ORDER BY started_at DESC, rowid DESC LIMIT ?", (*args, limit))
        return [rows.visit(r) for r in found]

    def claim_page(self, visit_id: str, url: str, role: PageRole, cap: int | None) -> int | None:
        def claim(conn: sqlite3.Connection) -> int | None:
            if cap is not None:
                row = conn.execute("SELECT pages FROM visits WHERE id = ?", (visit_id,)).fetchone()
                if row is not None and row["pages"] >= cap:
                    return None
            cursor = conn.execute(
                "INSERT OR IGNORE INTO visit_pages (visit_id, url, role, state) VALUES (?, ?, ?, ?)",
                (visit_id, url, str(role), str(ClaimState.QUEUED)),
            )
            if not cursor.rowcount:
                return None
            if cap is not None:  # pages outside the budget (re-checks) are not counted
                conn.execute("UPDATE visits SET pages = pages + 1 WHERE id = ?", (visit_id,))
            # The rowid: it only grows (rows are never deleted), so claims are ordered by it.
            position: int | None = cursor.lastrowid
            return position

        claimed = self._read().execute("SELECT 1 FROM visit_pages WHERE visit_id = ? AND url = ?", (visit_id, url))
        if claimed.fetchone() is not None:  # the common case, answered without queueing a write
            return None
        return self._write(claim)

    def finish_page(self, page: PageVisit) -> None:
        p = page
        outcome = None if p.outcome is None else str(p.outcome)
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO visit_pages (visit_id, url, role, state, http_status, final_url, outcome, reason, metadata)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (visit_id, url) DO UPDATE SET state = excluded.state,"
                " http_status = excluded.http_status, final_url = excluded.final_url, outcome = excluded.outcome,"
                " reason = excluded.reason, metadata = excluded.metadata",
                (p.visit_id, p.url, str(p.role), str(p.state), p.http_status, p.final_url, outcome, p.reason,
                 json.dumps(p.metadata, sort_keys=True)),
            )  # fmt: skip
        )

    def release_page(self, visit_id: str) -> None:
        self._write(lambda conn: conn.execute("UPDATE visits SET pages = max(pages - 1, 0) WHERE id = ?", (visit_id,)))

    def pending_pages(self, visit_id: str, after: int = 0, limit: int = 1000) -> list[PendingPage]:
        found = self._read().execute(  # the index on (visit_id, state) holds the rowid: a range read
            "SELECT rowid, url, role FROM visit_pages WHERE visit_id = ? AND state = ? AND rowid > ? ORDER BY rowid"
            " LIMIT ?",
            (visit_id, str(ClaimState.QUEUED), after, limit),
        )
        return [PendingPage(r["rowid"], r["url"], PageRole(r["role"])) for r in found]

    def page_visits(self, visit_id: str) -> list[PageVisit]:
        found = self._read().execute("SELECT * FROM visit_pages WHERE visit_id = ? ORDER BY rowid", (visit_id,))
        return [rows.page_visit(r) for r in found]

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
            return [rows.link(r) for r in conn.execute("SELECT * FROM links ORDER BY first_seen, from_url, to_url")]
        found: list[Link] = []
        for url in dict.fromkeys(to_urls):
            found.extend(rows.link(r) for r in conn.execute("SELECT * FROM links WHERE to_url = ? ORDER BY first_seen", (url,)))
        return found

    def links_from(self, from_urls: Sequence[str]) -> list[Link]:
        conn = self._read()
        found: list[Link] = []
        for url in dict.fromkeys(from_urls):  # the primary key (from_url, to_url) answers each
            found.extend(rows.link(r) for r in conn.execute("SELECT * FROM links WHERE from_url = ? ORDER BY first_seen, to_url", (url,)))
        return found

    def page_metadata(self, urls: Sequence[str]) -> dict[str, dict[str, dict[str, str]]]:
        conn = self._read()
        found: dict[str, dict[str, dict[str, str]]] = {}
        for url in dict.fromkeys(urls):
            row = conn.execute(
                "SELECT p.metadata FROM visit_pages p JOIN visits v ON v.id = p.visit_id"
                " WHERE p.url = ? AND p.metadata != '{}' ORDER BY v.started_at DESC, p.rowid DESC LIMIT 1", (url,)
            ).fetchone()  # fmt: skip
            if row is not None:
                found[url] = json.loads(row["metadata"])
        return found

    def validators(self, url: str) -> Validators | None:
        row = self._read().execute("SELECT * FROM url_validators WHERE url = ?", (url,)).fetchone()
        return None if row is None else rows.validators(row)

    def put_validators(self, validators: Validators) -> None:
        v = validators
        self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO url_validators (url, etag, last_modified, sha256, http_status, content_type,"
                " checked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (v.url, v.etag, v.last_modified, v.sha256, v.http_status, v.content_type, v.checked_at),
            )
        )

    def page_reading(self, url: str) -> PageReading | None:
        row = self._read().execute("SELECT * FROM page_readings WHERE url = ?", (url,)).fetchone()
        if row is None:
            return None
        return PageReading(row["url"], row["etag"], row["last_modified"], row["read_at"], json.loads(row["content"]))

    def put_page_reading(self, reading: PageReading) -> None:
        r = reading
        self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO page_readings (url, etag, last_modified, read_at, content) VALUES (?, ?, ?, ?, ?)",
                (r.url, r.etag, r.last_modified, r.read_at, json.dumps(r.content, sort_keys=True)),
            )
        )
