"""The record: cases, references, observations, sightings, spread and reports.

See docs/architecture.md ("tracker").
"""

from tracker.errors import StoreUnavailable, TrackerError, UnknownCase
from tracker.models import AuditEvent, Case, Observation, Reference, Sighting
from tracker.report import build_report
from tracker.service import Tracker
from tracker.store import Store
from tracker.stores import open_store

__all__ = [
    "AuditEvent",
    "Case",
    "Observation",
    "Reference",
    "Sighting",
    "Store",
    "StoreUnavailable",
    "Tracker",
    "TrackerError",
    "UnknownCase",
    "build_report",
    "open_store",
]
