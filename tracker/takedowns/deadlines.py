"""The deadline loop: what each notice's copies show now decides where it stands.

- A sent notice whose copies are all gone is closed (`removed`), with the time to removal: from sending to
  the first observation that showed the last copy gone (a visit before the deadline, or the deadline's
  own re-check).
- A sent notice with a copy still online when its clock has run out, checked after the deadline (its
  re-check captured it), is `overdue`; a re-notice is drafted for the copies still online, saying when
  they were still seen, with the new capture in its evidence.
- A closed notice whose copy came back is `reopened` (and a re-notice drafted); closed again when gone.

`settle` reads only the record: the re-check itself is a crawl of exactly the notice's URLs
(`spreadtrace takedown check`), which captures every copy it sees.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from tracker.clock import format_utc, parse_utc
from tracker.models import Sighting, StatusEvent
from tracker.states import Status
from tracker.takedowns.models import Notice, NoticeEvent, NoticeStatus


def deadline_of(sent_at: str, hours: float) -> str:
    return format_utc(parse_utc(sent_at) + timedelta(hours=hours))


def due_for_check(notices: Sequence[Notice], now: str, checked: Mapping[int, str]) -> list[Notice]:
    """Sent notices whose clock has run out and whose copies were not re-checked since: ``checked`` maps a
    notice to the time of its last deadline check."""
    return [n for n in notices if n.status is NoticeStatus.SENT and n.deadline_at is not None and n.deadline_at <= now
            and checked.get(n.id or 0, "") < n.deadline_at]  # fmt: skip


def overdue(notice: Notice, now: str) -> bool:
    """Whether ``notice`` is overdue at ``now``: marked so by a deadline check, or sent with its deadline
    passed and not checked yet (the dashboard's counts do not wait for the next check)."""
    if notice.status is NoticeStatus.OVERDUE:
        return True
    return notice.status is NoticeStatus.SENT and notice.deadline_at is not None and notice.deadline_at < now


@dataclass(frozen=True, slots=True)
class Outcome:
    notice: Notice
    event: NoticeEvent | None  # None: nothing changed
    renotice_for: tuple[int, ...] = ()  # sighting ids a re-notice must name


def settle(notice: Notice, sightings: Mapping[int, Sighting], history: Callable[[int], list[StatusEvent]], now: str,
           checked_at: str | None, actor: str) -> Outcome:  # fmt: skip
    """Where ``notice`` stands now. ``checked_at``: when its copies were last re-checked (None: never)."""
    assert notice.id is not None
    online = [i.sighting_id for i in notice.items if (s := sightings.get(i.sighting_id)) is not None and s.status.still_online]
    status = notice.status
    if status in (NoticeStatus.SENT, NoticeStatus.OVERDUE, NoticeStatus.REOPENED) and not online:
        gone_at = max((_gone_at(history(i.sighting_id)) or now for i in notice.items), default=now)
        assert notice.sent_at is not None
        hours = (parse_utc(gone_at) - parse_utc(notice.sent_at)).total_seconds() / 3600
        in_time = notice.deadline_at is not None and gone_at <= notice.deadline_at
        detail = {**notice.detail, "removed_at": gone_at, "hours_to_removal": round(hours, 2), "within_deadline": in_time}
        closed = replace(notice, status=NoticeStatus.REMOVED, closed_at=gone_at, detail=detail)
        return Outcome(closed, NoticeEvent(notice.id, now, actor, "removed", {"removed_at": gone_at, "hours_to_removal": round(hours, 2),
                                                                              "within_deadline": in_time}))  # fmt: skip
    if status is NoticeStatus.SENT and online and notice.deadline_at is not None and checked_at is not None and checked_at >= notice.deadline_at:
        urls = [i.page_url for i in notice.items if i.sighting_id in online]
        detail = {**notice.detail, "still_online": urls, "still_online_at": checked_at}
        return Outcome(replace(notice, status=NoticeStatus.OVERDUE, detail=detail),
                       NoticeEvent(notice.id, now, actor, "overdue", {"still_online": urls, "checked_at": checked_at}), tuple(online))  # fmt: skip
    if status is NoticeStatus.REMOVED and online:
        back = [i.page_url for i in notice.items if i.sighting_id in online]
        detail = {**notice.detail, "reappeared": back, "reappeared_at": now}
        return Outcome(replace(notice, status=NoticeStatus.REOPENED, closed_at=None, detail=detail),
                       NoticeEvent(notice.id, now, actor, "reopened", {"reappeared": back}), tuple(online))  # fmt: skip
    return Outcome(notice, None)


def _gone_at(events: Sequence[StatusEvent]) -> str | None:
    """When the copy was last seen to go: its latest move to removed or changed."""
    gone = [e.at for e in events if e.status in (Status.REMOVED, Status.CHANGED)]
    return max(gone) if gone else None


@dataclass(frozen=True, slots=True)
class HostFigures:
    host: str
    sent: int
    closed: int
    within_deadline: int
    overdue: int
    median_hours: float | None

    @property
    def share_in_time(self) -> float | None:
        return self.within_deadline / self.sent if self.sent else None


def host_figures(notices: Sequence[Notice]) -> list[HostFigures]:
    """Per host: notices sent, removed within the deadline, still overdue, and the median time to removal."""
    figures = []
    for host in sorted({n.host for n in notices}):
        sent = [n for n in notices if n.host == host and n.sent_at is not None]
        closed = [n for n in sent if "hours_to_removal" in n.detail]
        hours = [float(n.detail["hours_to_removal"]) for n in closed]
        figures.append(HostFigures(host, len(sent), len(closed), sum(1 for n in closed if n.detail.get("within_deadline")),
                                   sum(1 for n in sent if n.status is NoticeStatus.OVERDUE),
                                   statistics.median(hours) if hours else None))  # fmt: skip
    return figures
