"""The record: cases, references, observations, sightings, spread and reports.

See docs/architecture.md ("tracker").
"""

from tracker.errors import StoreUnavailable, TrackerError, UnknownCase, refused_by_disk
from tracker.models import AuditEvent, Case, Observation, Reference, Sighting
from tracker.report import Report, build_report
from tracker.service import Tracker
from tracker.review import notice_candidates
from tracker.states import ClaimState, PageOutcome, PageRole, PageState, Review, Status, Verdict
from tracker.store import Store
from tracker.stores import open_store

__all__ = [
    "AuditEvent",
    "Case",
    "ClaimState",
    "Observation",
    "PageOutcome",
    "PageRole",
    "PageState",
    "Reference",
    "Report",
    "Review",
    "Sighting",
    "Status",
    "Store",
    "StoreUnavailable",
    "Tracker",
    "TrackerError",
    "UnknownCase",
    "Verdict",
    "build_report",
    "notice_candidates",
    "open_store",
    "refused_by_disk",
]
