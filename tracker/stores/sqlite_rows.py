"""SQLite rows -> the record's models. Enum columns are read back as their enums, JSON columns parsed."""

from __future__ import annotations

import json
import sqlite3

from matcher import Signal
from tracker.models import Link, Observation, PageVisit, Sighting, StatusEvent, Validators, Visit
from tracker.states import ClaimState, PageOutcome, PageRole, PageState, Status, Verdict, VisitOutcome


def signal(row: sqlite3.Row) -> Signal:
    return Signal(row["kind"], row["value"], row["version"], row["quality"], row["variant"])


def observation(row: sqlite3.Row) -> Observation:
    fields = {name: row[name] for name in Observation.__slots__}
    state = fields["page_state"]
    fields["page_state"] = None if state is None else PageState(state)
    return Observation(**fields)


def sighting(row: sqlite3.Row) -> Sighting:
    fields = {name: row[name] for name in Sighting.__slots__ if name not in ("signals", "status", "verdict")}
    return Sighting(
        **fields, status=Status(row["status"]), verdict=Verdict(row["verdict"]), signals=tuple(json.loads(row["signals"]))
    )


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
