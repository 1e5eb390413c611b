"""Copies online over time: the timeline chart's data, one step per change (docs/architecture.md, "Report").

A copy counts as online from its appearance (the page's claimed upload time when earlier than our first
sight, as the report's first appearance does) and then follows its status history: a removal or a change
of content takes it off, a reappearance puts it back. Only confirmed matches are counted, as in the spread.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tracker.models import StatusEvent
from tracker.report import SightingEntry
from tracker.states import Status, Verdict


class Change(enum.StrEnum):
    APPEARED = "appeared"
    REMOVED = "removed"
    CHANGED = "changed"  # the URL now serves other content: off, as far as the material goes
    REAPPEARED = "reappeared"

    @property
    def takes_off(self) -> bool:
        return self in (Change.REMOVED, Change.CHANGED)


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One copy's change, and the counts once it is made."""

    at: str
    sighting_id: int
    host: str
    change: Change
    online: int  # copies online on every host
    host_online: int  # copies online on this step's host


@dataclass(frozen=True, slots=True)
class Timeline:
    steps: tuple[TimelineStep, ...]  # in time order
    hosts: tuple[str, ...]  # in order of first appearance
    first: TimelineStep | None  # the first appearance
    until: str  # the last check: the counts stand as of then
    online_now: int

    def online_on(self, host: str, at: str) -> int:
        """Copies ``host`` carried just before ``at``."""
        count = 0
        for step in self.steps:
            if step.at >= at:
                break
            if step.host == host:
                count = step.host_online
        return count


def timeline(sightings: Iterable[SightingEntry], history: Callable[[int], Sequence[StatusEvent]]) -> Timeline:
    """The steps of ``sightings``' confirmed copies; ``history(sighting_id)`` is its status history
    (`SightingStore.status_history`)."""
    changes: list[tuple[str, int, int, str, Change]] = []
    until = ""
    for entry in sightings:
        if entry.verdict is not Verdict.MATCH:
            continue
        for order, (at, change) in enumerate(_changes(entry, history(entry.id))):
            changes.append((at, entry.id, order, entry.host, change))
        until = max(until, entry.last_seen, entry.status_at or "")
    changes.sort()
    steps: list[TimelineStep] = []
    hosts: dict[str, int] = {}
    online = 0
    for at, sighting_id, _, host, change in changes:
        delta = -1 if change.takes_off else 1
        online += delta
        hosts[host] = hosts.get(host, 0) + delta
        steps.append(TimelineStep(at, sighting_id, host, change, online, hosts[host]))
    until = max([until, *(step.at for step in steps)])
    return Timeline(tuple(steps), tuple(hosts), steps[0] if steps else None, until, online)


def _changes(entry: SightingEntry, events: Sequence[StatusEvent]) -> list[tuple[str, Change]]:
    """A copy's moves on and off: on at its appearance, then off and on again as its history says."""
    found = [(entry.appeared_at, Change.APPEARED)]
    online = True
    for event in sorted(events, key=lambda e: e.at):
        if event.status.still_online and not online:
            found.append((event.at, Change.REAPPEARED))
        elif not event.status.still_online and online:
            found.append((event.at, Change.REMOVED if event.status is Status.REMOVED else Change.CHANGED))
        else:
            continue
        online = event.status.still_online
    if not events and not entry.status.still_online:  # a record older than status histories: its status alone
        found.append((entry.status_at or entry.last_seen, Change.REMOVED if entry.status is Status.REMOVED else Change.CHANGED))
    return found
