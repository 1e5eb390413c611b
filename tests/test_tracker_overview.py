"""The overview's figures (tracker/overview.py) from a store whose sightings were recorded through the real
Tracker at chosen times: removals counted from status histories (a re-post removed again is a second
removal, a changed URL none), days to removal to each copy's first removal, weeks without removals kept,
rejected candidates and cases not asked for left out, notices overdue by status or by deadline."""

from __future__ import annotations

import hashlib

import pytest

from matcher import hash_media
from simsites.corpus import TRANSFORMS, encode, sample_image
from tests.test_tracker_store_contract import sighting
from tracker import Observation, PageState, Tracker, Verdict, open_store
from tracker.overview import Overview, build_overview, histogram, per_week
from tracker.review import reject
from tracker.takedowns.models import Notice, NoticeStatus

NOW = "2026-04-01T12:00:00Z"


def copy_of(name: str, transform: str = "reencoded") -> bytes:
    data, _ = TRANSFORMS[transform].apply(sample_image(name))
    return data


class Record:
    """Observations as a crawl makes them, each at its time, through `Tracker.observe`."""

    def __init__(self, tracker: Tracker, hash_options) -> None:
        self.tracker = tracker
        self.hash_options = hash_options
        self.visits = 0

    def media(self, data: bytes) -> bytes:
        self.tracker.record_media(hash_media(data, self.hash_options))
        return data

    def seen(self, page: str, at: str, data: bytes | None, state: PageState = PageState.SHOWN) -> None:
        shown = state is PageState.SHOWN and data is not None
        self.visits += 1
        self.tracker.observe(Observation(
            at, page.replace("/p/", "/media/") + ".jpg", page, site=page.split("/")[2].split(".")[0],
            http_status=200 if shown else 404, sha256=hashlib.sha256(data).hexdigest() if shown and data else None,
            content_type="image/jpeg" if shown else None, visit_id=f"v{self.visits}", page_state=state,
            note=None if shown else f"page {state}",
        ))  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory, hash_options, policy):
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('overview') / 'store.db'}")
    tracker = Tracker(store, policy)
    for case, name in (("c1", "coffee"), ("c2", "rocket")):
        store.ensure_case(case)
        tracker.add_reference(case, hash_media(encode(sample_image(name), "PNG"), hash_options, reference=True), name)
    record = Record(tracker, hash_options)
    coffee, rocket, other = record.media(copy_of("coffee")), record.media(copy_of("rocket")), record.media(copy_of("chelsea"))
    a, b1, b2, c = "https://a.example/p/1", "https://b.example/p/1", "https://b.example/p/2", "https://c.example/p/1"
    record.seen(a, "2026-03-02T09:00:00Z", coffee)  # Monday
    record.seen(a, "2026-03-05T09:00:00Z", None, PageState.REMOVED)  # 3 days: week of 03-02
    record.seen(a, "2026-03-06T09:00:00Z", None, PageState.REMOVED)  # seen removed again: no second removal
    record.seen(a, "2026-03-20T09:00:00Z", coffee)  # re-posted: reappeared
    record.seen(a, "2026-03-24T09:00:00Z", None, PageState.REMOVED)  # removed again: week of 03-23
    record.seen(b1, "2026-03-03T00:00:00Z", coffee)
    record.seen(b1, "2026-03-13T12:00:00Z", None, PageState.GONE)  # page up, copy gone: 10.5 days, week of 03-09
    record.seen(b2, "2026-03-04T00:00:00Z", coffee)
    record.seen(b2, "2026-03-10T00:00:00Z", other)  # the URL serves another picture: changed, not removed
    record.seen(c, "2026-03-06T00:00:00Z", coffee)  # still online
    record.seen("https://d.example/p/1", "2026-03-02T00:00:00Z", rocket)  # case c2's
    record.seen("https://d.example/p/1", "2026-03-03T00:00:00Z", None, PageState.REMOVED)
    # A candidate an analyst rejected: not a copy, in no figure.
    reference = store.references("c1")[0].id
    candidate = store.save_sighting(sighting(reference, case_id="c1", page_url="https://e.example/p/1", host="e.example",
                                             site="e", media_url="https://e.example/m.jpg", verdict=Verdict.NEEDS_REVIEW,
                                             confidence=0.5, distance=38), [], expected_revision=None)  # fmt: skip
    reject(tracker, candidate.id, actor="ana", why="another picture")
    for status, deadline in ((NoticeStatus.SENT, "2026-03-30T00:00:00Z"), (NoticeStatus.SENT, "2026-04-09T00:00:00Z"),
                             (NoticeStatus.OVERDUE, "2026-03-01T00:00:00Z"), (NoticeStatus.DRAFT, None)):  # fmt: skip
        store.add_notice(Notice(None, "c1", "b.example", "b", "dsa", "abuse@b.example", status, "2026-03-01T00:00:00Z", (),
                                72.0, "notice", "body", sent_at=deadline and "2026-02-28T00:00:00Z", deadline_at=deadline))  # fmt: skip
    yield store
    store.close()


def cases(store, *ids):
    return [store.get_case(i) for i in ids]


def test_headline_counts_leave_out_the_rejected_and_count_overdue_by_status_or_deadline(store):
    figures = build_overview(store, cases(store, "c1"), NOW)
    assert (figures.cases, figures.sightings, figures.online, figures.overdue_notices) == (1, 4, 1, 2)
    assert figures.per_host == (("b.example", 2), ("a.example", 1), ("c.example", 1))


def test_removals_come_from_status_history_and_a_changed_url_is_none(store):
    figures = build_overview(store, cases(store, "c1"), NOW)
    assert [(r.host, r.removed_at, r.first) for r in figures.removals] == [
        ("a.example", "2026-03-05T09:00:00Z", True),
        ("b.example", "2026-03-13T12:00:00Z", True),
        ("a.example", "2026-03-24T09:00:00Z", False),  # the re-post, removed again
    ]
    assert figures.removals_per_week() == [("2026-03-02", 1), ("2026-03-09", 1), ("2026-03-16", 0), ("2026-03-23", 1)]
    assert figures.days_to_removal == [3.0, 10.5] and figures.median_days_to_removal == 6.75


def test_the_json_is_what_the_charts_draw(store):
    drawn = build_overview(store, cases(store, "c1"), NOW).to_json()
    assert drawn["per_host"] == {"labels": ["b.example", "a.example", "c.example"], "counts": [2, 1, 1]}
    assert drawn["removals_per_week"]["counts"] == [1, 1, 0, 1]
    removal = drawn["time_to_removal"]
    assert removal["labels"] == [str(day) for day in range(11)] and removal["bin_days"] == 1
    assert removal["counts"] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert (removal["removed"], removal["median_days"]) == (2, 6.8)


def test_only_the_cases_asked_for_count(store):
    both = build_overview(store, cases(store, "c1", "c2"), NOW)
    assert (both.cases, both.sightings, len(both.removals)) == (2, 5, 4)
    assert ("d.example", 1) in both.per_host and both.days_to_removal == [1.0, 3.0, 10.5]
    assert build_overview(store, [], NOW).to_json()["time_to_removal"] == {
        "labels": [], "counts": [], "bin_days": 1, "removed": 0, "median_days": None}


def test_long_tails_are_binned_wider_and_many_hosts_share_a_last_bar():
    width, bins = histogram([0.5, 45.2, 45.9], most=20)
    assert width == 3 and len(bins) == 16 and bins[-1] == (45, 48, 2) and sum(n for *_, n in bins) == 3
    assert per_week([]) == [] and per_week(["2026-03-08T23:59:59Z", "2026-03-09T00:00:00Z"]) == [("2026-03-02", 1), ("2026-03-09", 1)]
    many = Overview(0, 0, 0, 0, tuple((f"h{n:02d}.example", 30 - n) for n in range(25)), ())
    bars = many.host_bars(most=20)
    assert len(bars) == 20 and bars[-1] == ("6 other hosts", sum(30 - n for n in range(19, 25)))
