"""What `spreadtrace site status` shows: each site's last visit and outcome, and its next scheduled one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crawler.watcher import next_runs
from crawler.sites import Site
from spreadtrace.app import App


def site_statuses(app: App, sites: Sequence[Site]) -> list[dict[str, Any]]:
    upcoming = next_runs(app.home)
    rows = []
    for site in sites:
        visits = app.store.visits(site.name, limit=1)
        last = visits[0] if visits else None
        detail = last.detail if last else {}
        if last is None:
            outcome = "never visited"
        elif last.finished_at is None:
            outcome = "unfinished (resumes next run)"
        else:
            outcome = str(last.outcome)
        rows.append({
            "site": site.name,
            "schedule": site.schedule,
            "visit_id": last.id if last else None,
            "last_started": last.started_at if last else None,
            "last_finished": last.finished_at if last else None,
            "outcome": outcome,
            "pages": last.pages if last else 0,
            "removed_pages": detail.get("removed_pages", 0),
            "failed_pages": detail.get("failed_pages", 0),
            "sightings": detail.get("sightings", 0),
            "next_visit": upcoming.get(site.name),
        })  # fmt: skip
    return rows
