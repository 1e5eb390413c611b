"""The alerts a stretch of time produced, read from the record: the crawl needs no hook in its hot path.

A new sighting is one first seen at or after ``since``; a reappearance, a status move to "reappeared" at
or after it. Only confirmed matches alert: a needs-review candidate waits for an analyst, and a contact
told of a false candidate would be told of a stranger's picture.
"""

from __future__ import annotations

from collections.abc import Collection

from tracker.alerts.alert import Alert, safe_link
from tracker.models import Sighting
from tracker.states import AlertKind, Status
from tracker.store import SightingStore


def alerts_since(store: SightingStore, since: str, sites: Collection[str] | None = None) -> list[Alert]:
    """Every case's new-sighting and reappearance alerts from ``since`` on (UTC, as the record writes it),
    oldest first; only sightings of ``sites`` when given (the sites a crawl visited)."""
    found = [
        _alert(AlertKind.NEW_SIGHTING, s, s.first_seen)
        for s in store.sightings_since(since)
        if s.confirmed and (sites is None or s.site in sites)
    ]
    found += [
        _alert(AlertKind.REAPPEARED, s, event.at)
        for event, s in store.status_changes_since(since, Status.REAPPEARED)
        if s.confirmed and (sites is None or s.site in sites)
    ]
    return sorted(found, key=lambda a: (a.at, a.case_id, a.sighting_id or 0, a.kind))


def _alert(kind: AlertKind, sighting: Sighting, at: str) -> Alert:
    # A URL an alert may not carry (never one the crawler follows) is left out; the sighting id still names it.
    return Alert(kind, sighting.case_id, at, sighting.id, sighting.host, safe_link(sighting.page_url),
                 safe_link(sighting.media_url), sighting.sha256, sighting.status)  # fmt: skip
