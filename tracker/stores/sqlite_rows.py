"""SQLite rows <-> the record's models. Enum columns are read back as their enums, JSON columns parsed."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from matcher import Signal
from collections.abc import Sequence

from tracker.models import AllowEntry, Link, Observation, PageVisit, ReviewDecision, Sighting, StatusEvent, Validators, Visit
from tracker.states import ClaimState, PageOutcome, PageRole, PageState, Review, Status, Verdict, VisitOutcome

# What `sighting_values` writes, in its order (the id and revision are the store's own).
SIGHTING_COLUMNS = (
    "case_id", "reference_id", "media_url", "page_url", "host", "site", "sha256", "first_seen", "last_seen", "status",
    "distance", "decided_by", "signals", "claimed_at", "claimed_source", "verdict", "confidence", "status_at", "review",
)  # fmt: skip


def sighting_values(s: Sighting) -> tuple[Any, ...]:
    return (
        s.case_id, s.reference_id, s.media_url, s.page_url, s.host, s.site, s.sha256, s.first_seen, s.last_seen,
        str(s.status), s.distance, s.decided_by, json.dumps(list(s.signals)), s.claimed_at, s.claimed_source,
        str(s.verdict), s.confidence, s.status_at, None if s.review is None else str(s.review),
    )  # fmt: skip


def signal(row: sqlite3.Row) -> Signal:
    return Signal(row["kind"], row["value"], row["version"], row["quality"], row["variant"])


def observation(row: sqlite3.Row) -> Observation:
    fields = {name: row[name] for name in Observation.__slots__}
    state = fields["page_state"]
    fields["page_state"] = None if state is None else PageState(state)
    return Observation(**fields)


def write_sighting(
    conn: sqlite3.Connection, written: Sighting, events: Sequence[StatusEvent], expected_revision: int | None
) -> Sighting | None:
    """Insert (``expected_revision`` None) or compare-and-set a sighting, with its events, inside the caller's
    transaction; the stored sighting, or None when another writer got there first."""
    values = sighting_values(written)
    if expected_revision is None:
        placeholders = ", ".join("?" * len(SIGHTING_COLUMNS))
        cursor = conn.execute(
            f"INSERT OR IGNORE INTO sightings ({', '.join(SIGHTING_COLUMNS)}, revision) VALUES ({placeholders}, 1)", values
        )
        if not cursor.rowcount:
            return None  # another writer recorded this copy first
        sighting_id = cursor.lastrowid
    else:
        assignments = ", ".join(f"{column} = ?" for column in SIGHTING_COLUMNS)
        cursor = conn.execute(
            f"UPDATE sightings SET {assignments}, revision = revision + 1 WHERE id = ? AND revision = ?",
            (*values, written.id, expected_revision),
        )
        if not cursor.rowcount:
            return None
        sighting_id = written.id
    conn.executemany(
        "INSERT INTO sighting_events (sighting_id, at, status, reason, observation_id) VALUES (?, ?, ?, ?, ?)",
        [(sighting_id, e.at, str(e.status), e.reason, e.observation_id) for e in events],
    )
    return sighting(conn.execute("SELECT * FROM sightings WHERE id = ?", (sighting_id,)).fetchone())


def sighting(row: sqlite3.Row) -> Sighting:
    fields = {name: row[name] for name in Sighting.__slots__ if name not in ("signals", "status", "verdict", "review")}
    review = None if row["review"] is None else Review(row["review"])
    return Sighting(
        **fields, status=Status(row["status"]), verdict=Verdict(row["verdict"]), signals=tuple(json.loads(row["signals"])),
        review=review,
    )  # fmt: skip


def review(row: sqlite3.Row) -> ReviewDecision:
    return ReviewDecision(row["sighting_id"], row["case_id"], row["reference_id"], Review(row["decision"]), row["actor"],
                          row["at"], row["why"], row["id"])  # fmt: skip


def allow_entry(row: sqlite3.Row) -> AllowEntry:
    return AllowEntry(row["reference_id"], row["kind"], row["value"], row["review_id"])


def status_event(row: sqlite3.Row) -> StatusEvent:
    return StatusEvent(row["sighting_id"], row["at"], Status(row["status"]), row["reason"], row["observation_id"])


def visit(row: sqlite3.Row) -> Visit:
    outcome = None if row["outcome"] is None else VisitOutcome(row["outcome"])
    return Visit(row["id"], row["site"], row["started_at"], row["finished_at"], outcome, row["pages"], json.loads(row["detail"]))


def page_visit(row: sqlite3.Row) -> PageVisit:
    outcome = None if row["outcome"] is None else PageOutcome(row["outcome"])
    return PageVisit(row["visit_id"], row["url"], PageRole(row["role"]), ClaimState(row["state"]), row["http_status"],
                     row["final_url"], outcome, row["reason"], json.loads(row["metadata"]))  # fmt: skip


def link(row: sqlite3.Row) -> Link:
    return Link(row["from_url"], row["to_url"], row["from_host"], row["to_host"], row["to_site"], row["first_seen"],
                row["last_seen"])  # fmt: skip


def validators(row: sqlite3.Row) -> Validators:
    return Validators(row["url"], row["etag"], row["last_modified"], row["sha256"], row["http_status"],
                      row["content_type"], row["checked_at"])  # fmt: skip
