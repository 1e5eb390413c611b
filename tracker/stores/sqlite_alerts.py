"""The SQLite tables of alerts: a case's contacts and every delivery attempt; and the record as alerts read
it, by time (sightings first seen, status moves)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from tracker.models import Contact, Delivery, Sighting, StatusEvent
from tracker.states import Channel, DeliveryOutcome, Status
from tracker.stores import sqlite_rows as rows
from tracker.stores.sqlite_base import SQLiteConnections, open_case

INTERRUPTED = "interrupted: the run that claimed it ended without saying how it went"


class SQLiteAlerts(SQLiteConnections):
    # -- the record by time -----------------------------------------------------------------------

    def sightings_since(self, since: str) -> list[Sighting]:
        found = self._read().execute("SELECT * FROM sightings WHERE first_seen >= ? ORDER BY first_seen, id", (since,))
        return [rows.sighting(r) for r in found]

    def status_changes_since(self, since: str, status: Status) -> list[tuple[StatusEvent, Sighting]]:
        found = self._read().execute(
            "SELECT e.sighting_id AS e_sighting_id, e.at AS e_at, e.status AS e_status, e.reason AS e_reason,"
            " e.observation_id AS e_observation_id, s.* FROM sighting_events e JOIN sightings s ON s.id = e.sighting_id"
            " WHERE e.status = ? AND e.at >= ? ORDER BY e.at, e.id",
            (str(status), since),
        )  # fmt: skip
        return [(_event(r), rows.sighting(r)) for r in found]

    # -- contacts ---------------------------------------------------------------------------------

    def add_contact(self, case_id: str, channel: Channel, target: str, secret: str | None, at: str) -> Contact | None:
        def insert(conn: sqlite3.Connection) -> bool:
            open_case(conn, case_id)
            cursor = conn.execute(
                "INSERT OR IGNORE INTO alert_contacts (case_id, channel, target, secret, added_at) VALUES (?, ?, ?, ?, ?)",
                (case_id, str(channel), target, secret, at),
            )
            return bool(cursor.rowcount)

        return Contact(case_id, channel, target, at, secret) if self._write(insert) else None

    def remove_contact(self, case_id: str, target: str) -> bool:
        def delete(conn: sqlite3.Connection) -> bool:
            return bool(conn.execute("DELETE FROM alert_contacts WHERE case_id = ? AND target = ?", (case_id, target)).rowcount)

        return self._write(delete)

    def contacts(self, case_id: str | None = None) -> list[Contact]:
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        found = self._read().execute(f"SELECT * FROM alert_contacts {where} ORDER BY id", args)
        return [Contact(r["case_id"], Channel(r["channel"]), r["target"], r["added_at"], r["secret"]) for r in found]

    # -- deliveries -------------------------------------------------------------------------------

    def claim_deliveries(self, claims: Sequence[Delivery], stale_before: str) -> list[Delivery | None]:
        def claim(conn: sqlite3.Connection) -> list[Delivery | None]:
            return [_claim(conn, wanted, stale_before) for wanted in claims]

        return self._write(claim)

    def settle_deliveries(self, ids: Sequence[int], outcome: DeliveryOutcome, reason: str | None, at: str) -> None:
        self._write(
            lambda conn: conn.executemany(
                "UPDATE alert_deliveries SET outcome = ?, reason = ?, at = ? WHERE id = ?",
                [(str(outcome), reason, at, delivery_id) for delivery_id in ids],
            )
        )

    def undelivered(self, stale_before: str, max_attempts: int | None = None) -> list[Delivery]:
        # The latest attempt decides: a claim is refused once one was delivered, so none comes after that.
        found = self._read().execute(
            "SELECT d.* FROM alert_deliveries d WHERE d.id = (SELECT max(id) FROM alert_deliveries l"
            " WHERE l.alert_key = d.alert_key AND l.channel = d.channel AND l.target = d.target)"
            " AND (d.outcome = ? OR (d.outcome = ? AND d.at < ?)) AND (? IS NULL OR d.attempt < ?) ORDER BY d.id",
            (str(DeliveryOutcome.FAILED), str(DeliveryOutcome.SENDING), stale_before, max_attempts, max_attempts),
        )  # fmt: skip
        return [_delivery(r) for r in found]

    def deliveries(self, case_id: str | None = None, limit: int = 50) -> list[Delivery]:
        where, args = ("WHERE case_id = ?", (case_id,)) if case_id is not None else ("", ())
        found = self._read().execute(f"SELECT * FROM alert_deliveries {where} ORDER BY at DESC, id DESC LIMIT ?", (*args, limit))
        return [_delivery(r) for r in found]


def forget_alerts(conn: sqlite3.Connection, case_id: str) -> None:
    """A withdrawn case's contacts and deliveries go with its sightings: each delivery holds an alert's URLs
    and hashes."""
    conn.execute("DELETE FROM alert_deliveries WHERE case_id = ?", (case_id,))
    conn.execute("DELETE FROM alert_contacts WHERE case_id = ?", (case_id,))


def _claim(conn: sqlite3.Connection, wanted: Delivery, stale_before: str) -> Delivery | None:
    same = (wanted.alert_key, str(wanted.channel), wanted.target)
    latest = conn.execute(
        "SELECT id, outcome, at, attempt FROM alert_deliveries WHERE alert_key = ? AND channel = ? AND target = ?"
        " ORDER BY id DESC LIMIT 1", same,
    ).fetchone()  # fmt: skip
    if latest is not None:
        if latest["outcome"] == DeliveryOutcome.DELIVERED:
            return None
        if latest["outcome"] == DeliveryOutcome.SENDING:
            if latest["at"] >= stale_before:
                return None  # another run is at it
            conn.execute("UPDATE alert_deliveries SET outcome = ?, reason = ? WHERE id = ?",
                         (str(DeliveryOutcome.FAILED), INTERRUPTED, latest["id"]))  # fmt: skip
    attempt = 1 if latest is None else int(latest["attempt"]) + 1
    cursor = conn.execute(
        "INSERT INTO alert_deliveries (alert_key, case_id, channel, target, at, outcome, reason, attempt, alert)"
        " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        (*same[:1], wanted.case_id, *same[1:], wanted.at, str(DeliveryOutcome.SENDING), attempt,
         json.dumps(wanted.alert, sort_keys=True)),
    )  # fmt: skip
    return Delivery(wanted.alert_key, wanted.case_id, wanted.channel, wanted.target, wanted.at, DeliveryOutcome.SENDING,
                    None, wanted.alert, attempt, cursor.lastrowid)  # fmt: skip


def _event(row: sqlite3.Row) -> StatusEvent:
    return StatusEvent(row["e_sighting_id"], row["e_at"], Status(row["e_status"]), row["e_reason"], row["e_observation_id"])


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(row["alert_key"], row["case_id"], Channel(row["channel"]), row["target"], row["at"],
                    DeliveryOutcome(row["outcome"]), row["reason"], json.loads(row["alert"]), row["attempt"], row["id"])  # fmt: skip
