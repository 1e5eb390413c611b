"""The dashboard's overview in figures, over the cases a user may see: headline counts, sightings per host,
removals per week and days to removal (docs/architecture.md, "Dashboard").

A removal is a move of a sighting's status from online (or reappeared) to removed, as its status history
records it: the page gone, or up without the copy. A move to ``changed`` is not one (the URL now serves
something else: nobody took the copy down for us to count), nor is a removal seen again without the copy
having come back in between. A copy removed, re-posted and removed again is two removals in the weekly
counts; its time to removal is from when we first saw it to its first removal, as the question asked of
a host is how long the copy stayed up once it was there.

Counts follow the cases list: every sighting but those an analyst rejected.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from tracker.clock import parse_utc
from tracker.models import Case, Sighting, StatusEvent
from tracker.states import Status
from tracker.store import NoticeStore, SightingStore
from tracker.takedowns.deadlines import overdue

# Bars a chart can show readably: past these, the least-seen hosts share one bar, and days to removal are
# binned wider.
MOST_HOSTS = 20
MOST_BINS = 20


class OverviewStore(SightingStore, NoticeStore, Protocol):
    """The parts of a Store the overview reads: sightings, their status histories, notices."""


@dataclass(frozen=True, slots=True)
class Removal:
    sighting_id: int
    host: str
    first_seen: str
    removed_at: str
    first: bool  # the sighting's first removal: the one its time to removal is measured to

    @property
    def days(self) -> float:
        # Never below zero: a page's own older claim never moves first_seen, but a record merged from
        # out-of-order workers might put a removal a moment before it.
        return max(0.0, (parse_utc(self.removed_at) - parse_utc(self.first_seen)).total_seconds() / 86400)


@dataclass(frozen=True, slots=True)
class Overview:
    cases: int
    sightings: int
    online: int
    overdue_notices: int
    per_host: tuple[tuple[str, int], ...]  # the most sighted first
    removals: tuple[Removal, ...]  # oldest first

    @property
    def days_to_removal(self) -> list[float]:
        return [r.days for r in self.removals if r.first]

    @property
    def median_days_to_removal(self) -> float | None:
        days = self.days_to_removal
        return statistics.median(days) if days else None

    def host_bars(self, most: int = MOST_HOSTS) -> list[tuple[str, int]]:
        """Sightings per host, the least sighted past ``most`` together in one last bar."""
        if len(self.per_host) <= most:
            return list(self.per_host)
        rest = self.per_host[most - 1:]
        return [*self.per_host[: most - 1], (f"{len(rest)} other hosts", sum(n for _, n in rest))]

    def removals_per_week(self) -> list[tuple[str, int]]:
        """Removals per week (weeks start on Monday, named by that day), every week from the first removal's
        to the last's, none left out: a week without removals is a bar of zero, not a gap closed up."""
        return per_week(r.removed_at for r in self.removals)

    def removal_histogram(self, most: int = MOST_BINS) -> tuple[int, list[tuple[int, int, int]]]:
        """Days to removal in bins of equal width from day 0: the width in days, and per bin its first
        day, the day after its last, and how many copies."""
        return histogram(self.days_to_removal, most)

    def to_json(self) -> dict[str, Any]:
        """What ``/overview.json`` answers: each chart's labels and counts as Chart.js takes them."""
        hosts = self.host_bars()
        weeks = self.removals_per_week()
        width, bins = self.removal_histogram()
        median = self.median_days_to_removal
        return {
            "cases": self.cases, "sightings": self.sightings, "online": self.online,
            "overdue_notices": self.overdue_notices,
            "per_host": {"labels": [h for h, _ in hosts], "counts": [n for _, n in hosts]},
            "removals_per_week": {"labels": [w for w, _ in weeks], "counts": [n for _, n in weeks]},
            "time_to_removal": {
                "labels": [_days_label(low, high) for low, high, _ in bins], "counts": [n for _, _, n in bins],
                "bin_days": width, "removed": len(self.days_to_removal),
                "median_days": None if median is None else round(median, 1),
            },
        }  # fmt: skip


def build_overview(store: OverviewStore, cases: Sequence[Case], now: str) -> Overview:
    """The overview of ``cases`` (the caller's choice: the ones a user may see), notices overdue at ``now``."""
    sightings = [s for case in cases for s in store.sightings(case.id) if not s.rejected]
    notices = [n for case in cases for n in store.notices(case.id)]
    hosts = Counter(s.host for s in sightings)
    found = [r for s in sightings for r in removals(s, store.status_history(s.id))]
    return Overview(
        cases=len(cases),
        sightings=len(sightings),
        online=sum(1 for s in sightings if s.status.still_online),
        overdue_notices=sum(1 for n in notices if overdue(n, now)),
        per_host=tuple(sorted(hosts.items(), key=lambda item: (-item[1], item[0]))),
        removals=tuple(sorted(found, key=lambda r: (r.removed_at, r.sighting_id))),
    )


def removals(sighting: Sighting, history: Sequence[StatusEvent]) -> list[Removal]:
    """Each move of ``sighting`` from online to removed, in its ``history`` (oldest first)."""
    found: list[Removal] = []
    before: Status | None = None
    for event in history:
        if event.status is Status.REMOVED and before is not None and before.still_online:
            found.append(Removal(sighting.id, sighting.host, sighting.first_seen, event.at, not found))
        before = event.status
    return found


def per_week(stamps: Iterable[str]) -> list[tuple[str, int]]:
    counts = Counter(_monday(parse_utc(stamp).date()) for stamp in stamps)
    if not counts:
        return []
    weeks, week = [], min(counts)
    while week <= max(counts):
        weeks.append((week.isoformat(), counts[week]))
        week += timedelta(days=7)
    return weeks


def histogram(days: Sequence[float], most: int = MOST_BINS) -> tuple[int, list[tuple[int, int, int]]]:
    if not days:
        return 1, []
    span = math.floor(max(days)) + 1  # whole days from day 0, the last one included
    width = max(1, math.ceil(span / most))
    counts = Counter(math.floor(d / width) for d in days)
    return width, [(n * width, (n + 1) * width, counts[n]) for n in range(math.ceil(span / width))]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _days_label(low: int, high: int) -> str:
    return str(low) if high == low + 1 else f"{low}\u2013{high - 1}"
