"""The record's rules (tracker.rules), table by table: what an observation shows, how a status moves, how a
new match merges into a sighting, and which observations concern which copy."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.test_tracker_store_contract import observation, sighting
from tracker.rules import FIRST_SEEN, Judgement, concerns, judge, merge_sighting, move, next_status
from tracker.states import PageState, Review, Status, Verdict

T0, T1, T2 = "2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z"
REMOVED = Judgement(Status.REMOVED, "page removed: HTTP 404")
ONLINE = Judgement(Status.ONLINE, "media matches")
CHANGED = Judgement(Status.CHANGED, "the media URL serves other content")


@pytest.mark.parametrize(
    ("changes", "matches", "expected"),
    [
        ({}, True, (Status.ONLINE, "media matches")),
        ({"note": "still there"}, True, (Status.ONLINE, "still there")),
        ({}, False, (Status.CHANGED, "the media URL serves other content")),
        ({"error": "not a recognised image format"}, False, (Status.CHANGED, "not a recognised image format")),
        ({"page_state": PageState.REMOVED, "note": "page removed: HTTP 410"}, True, (Status.REMOVED, "page removed: HTTP 410")),
        ({"page_state": PageState.GONE}, True, (Status.REMOVED, "page gone")),  # the file may still be served
        ({"http_status": 404, "sha256": None}, False, (Status.REMOVED, "media HTTP 404")),
        ({"http_status": 410, "sha256": None}, False, (Status.REMOVED, "media HTTP 410")),
        # No bytes and no removal: a failure, or a cached answer, says nothing either way.
        ({"http_status": 503, "sha256": None, "error": "HTTP 503"}, False, None),
        ({"http_status": None, "sha256": None, "error": "connection lost"}, False, None),
        ({"page_state": PageState.UNKNOWN, "sha256": None, "error": "answered from an HTTP cache"}, False, None),
    ],
)  # fmt: skip
def test_judge(changes, matches, expected):
    judged = judge(observation(**changes), matches)
    assert (None if judged is None else (judged.status, judged.reason)) == expected


@pytest.mark.parametrize(
    ("status", "status_at", "judgement", "at", "expected"),
    [
        (Status.ONLINE, T0, REMOVED, T1, Status.REMOVED),
        (Status.ONLINE, T0, ONLINE, T1, None),  # still online: nothing to record
        (Status.ONLINE, T0, CHANGED, T1, Status.CHANGED),
        (Status.REMOVED, T1, ONLINE, T2, Status.REAPPEARED),
        (Status.CHANGED, T1, ONLINE, T2, Status.REAPPEARED),
        (Status.REAPPEARED, T1, ONLINE, T2, None),
        (Status.REAPPEARED, T1, REMOVED, T2, Status.REMOVED),
        (Status.REMOVED, T1, REMOVED, T2, None),
        (Status.REMOVED, T1, CHANGED, T2, Status.CHANGED),
        # Older than what decided the status: a late worker, a resumed visit. It moves nothing.
        (Status.REMOVED, T1, ONLINE, T0, None),
        (Status.ONLINE, T1, REMOVED, T0, None),
        (Status.ONLINE, T1, REMOVED, T1, Status.REMOVED),  # the same second still counts
    ],
)  # fmt: skip
def test_next_status(status, status_at, judgement, at, expected):
    assert next_status(sighting(1, status=status, status_at=status_at), judgement, at) is expected


def test_move_records_the_event_with_its_reason_and_observation():
    current = sighting(1, id=5, status=Status.REMOVED, status_at=T0)
    moved = move(current, ONLINE, T1, observation_id=42)
    assert moved is not None
    updated, event = moved
    assert (updated.status, updated.status_at) == (Status.REAPPEARED, T1)
    assert (event.sighting_id, event.at, event.status, event.reason, event.observation_id) == (5, T1, Status.REAPPEARED, "media matches", 42)
    assert move(updated, ONLINE, T2, None) is None


def test_a_new_sighting_is_online_from_its_first_observation():
    new, events = merge_sighting(None, sighting(1, status=Status.REMOVED, status_at=None, first_seen=T1, last_seen=T1))
    assert (new.status, new.status_at) == (Status.ONLINE, T1)
    assert [(e.at, e.status, e.reason) for e in events] == [(T1, Status.ONLINE, FIRST_SEEN)]


MATCH_09 = {"verdict": Verdict.MATCH, "confidence": 0.9, "decided_by": "pdq", "distance": 3, "signals": ({"kind": "pdq"},)}
REVIEW_05 = {"verdict": Verdict.NEEDS_REVIEW, "confidence": 0.5, "decided_by": "pdq+phash", "distance": 40, "signals": ({"kind": "phash"},)}
REVIEW_04 = {**REVIEW_05, "confidence": 0.4}
MATCH_07 = {**MATCH_09, "confidence": 0.7, "distance": 20}


@pytest.mark.parametrize(
    ("stored", "seen", "kept"),
    [
        (REVIEW_05, MATCH_09, MATCH_09),  # a confirmed match upgrades a candidate, with its evidence
        (MATCH_09, REVIEW_05, MATCH_09),  # never the reverse
        (MATCH_07, MATCH_09, MATCH_09),  # the surer match
        (MATCH_09, MATCH_07, MATCH_09),
        (REVIEW_04, REVIEW_05, REVIEW_05),
        (MATCH_09, {**MATCH_09, "distance": 1}, MATCH_09),  # a tie keeps what is stored
    ],
)  # fmt: skip
def test_merge_keeps_the_surer_decision(stored, seen, kept):
    merged, events = merge_sighting(sighting(1, id=3, revision=2, **stored), sighting(1, **seen))
    assert {key: getattr(merged, key) for key in kept} == kept
    assert (merged.id, merged.revision, events) == (3, 2, ())


@pytest.mark.parametrize(
    ("stored", "seen", "expected"),
    [
        # (first_seen, last_seen, claimed_at, claimed_source, sha) of each
        ((T1, T1, None, None, "a"), (T2, T2, None, None, "b"), (T1, T2, None, None, "b")),
        ((T1, T2, None, None, "a"), (T0, T0, None, None, "b"), (T0, T2, None, None, "a")),  # an older observation: not its bytes
        ((T1, T1, T0, "html:time", "a"), (T2, T2, None, None, "a"), (T1, T2, T0, "html:time", "a")),
        ((T1, T1, T1, "html:time", "a"), (T2, T2, T0, "json-ld:uploadDate", "a"), (T1, T2, T0, "json-ld:uploadDate", "a")),
        ((T1, T1, T0, "html:time", "a"), (T2, T2, T1, "json-ld:uploadDate", "a"), (T1, T2, T0, "html:time", "a")),
    ],
)  # fmt: skip
def test_merge_widens_the_window_and_keeps_the_earliest_claim(stored, seen, expected):
    def make(values):
        first, last, claimed, source, sha = values
        return sighting(1, first_seen=first, last_seen=last, claimed_at=claimed, claimed_source=source, sha256=sha * 64)

    merged, _ = merge_sighting(make(stored), make(seen))
    got = (merged.first_seen, merged.last_seen, merged.claimed_at, merged.claimed_source, merged.sha256[0])
    assert got == expected


@pytest.mark.parametrize(
    ("seen", "expected"),
    [
        # (sha, last seen, decision) seen where a rejected candidate (bytes "a", last seen T1) is recorded
        (("a", T2, REVIEW_05), (Review.REJECTED, REVIEW_04)),  # its bytes again (a crawl begun before the rejection)
        (("a", T2, MATCH_09), (Review.REJECTED, REVIEW_04)),  # the same bytes: still the analyst's word
        (("b", T2, REVIEW_05), (None, REVIEW_05)),  # other bytes at its place: a new candidate, taken whole
        (("b", T2, MATCH_09), (None, MATCH_09)),  # the real picture uploaded where the look-alike was
        (("b", T0, MATCH_09), (Review.REJECTED, REVIEW_04)),  # other bytes, but older than the rejected ones
    ],
)  # fmt: skip
def test_a_rejected_sighting_stays_rejected_until_other_bytes_take_its_place(seen, expected):
    stored = sighting(1, id=3, sha256="a" * 64, first_seen=T1, last_seen=T1, review=Review.REJECTED, **REVIEW_04)
    sha, last_seen, decision = seen
    merged, _ = merge_sighting(stored, sighting(1, sha256=sha * 64, first_seen=last_seen, last_seen=last_seen, **decision))
    review, kept = expected
    assert merged.review is review
    assert {key: getattr(merged, key) for key in kept} == kept


def test_merge_never_moves_the_status():
    stored = sighting(1, status=Status.REMOVED, status_at=T1)
    merged, _ = merge_sighting(stored, sighting(1, first_seen=T2, last_seen=T2))
    assert (merged.status, merged.status_at) == (Status.REMOVED, T1)


PAGE, OTHER_PAGE = "http://h.example/p/1", "http://h.example/p/2"
URL, BUSTED = "http://h.example/m.jpg", "http://h.example/m.jpg?20261122"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, True),  # the same page and media URL
        ({"sha256": "b" * 64}, True),  # other bytes at its URL: still its copy (changed, or re-encoded)
        ({"sha256": None, "http_status": 404}, True),
        ({"media_url": BUSTED}, True),  # its bytes under a cache-busting query string: the same copy
        ({"media_url": BUSTED, "sha256": "b" * 64}, False),
        ({"media_url": BUSTED, "page_state": PageState.GONE}, False),  # not shown: says nothing of this copy
        ({"media_url": BUSTED, "sha256": None}, False),
        ({"page_url": OTHER_PAGE}, False),  # the same file on another page is another publication
    ],
)  # fmt: skip
def test_which_observations_concern_a_copy(changes, expected):
    copy = sighting(1, page_url=PAGE, media_url=URL, sha256="a" * 64)
    assert concerns(copy, observation(**{"page_url": PAGE, "media_url": URL, **changes})) is expected


def test_status_time_falls_back_to_first_seen():
    old = replace(sighting(1, first_seen=T1), status_at=None)
    assert next_status(old, REMOVED, T0) is None and next_status(old, REMOVED, T2) is Status.REMOVED
