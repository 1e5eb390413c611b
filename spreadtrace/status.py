"""What `spreadtrace site status` and the dashboard's sites page show: each site's last visit and outcome,
and its next scheduled one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crawler.sites import Site
from crawler.watcher import next_runs
from tracker.store import VisitStore


def site_statuses(visits: VisitStore, home: Path, sites: Sequence[Site]) -> list[dict[str, Any]]:
    upcoming = next_runs(home)
    rows = []
    for site in sites:
        found = visits.visits(site.name, limit=1)
        last = found[0] if found else None
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
            "finish_reason": detail.get("finish_reason"),  # "finished: page budget of ... reached" says more
            "pages": last.pages if last else 0,
            "removed_pages": detail.get("removed_pages", 0),
            "failed_pages": detail.get("failed_pages", 0),
            "skipped_pages": detail.get("skipped_pages", 0),
            "sightings": detail.get("sightings", 0),
            "next_visit": upcoming.get(site.name),
        })  # fmt: skip
    return rows
