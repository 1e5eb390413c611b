"""The report as typed data: what counts as online, what stands as the first appearance, one JSON form."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from spreadtrace.render import render_report
from tests.test_tracker_store_contract import IMAGE, PDQ, observation, sighting
from tracker import Status, Verdict, build_report, open_store
from tracker.states import Basis


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    s.ensure_case("c1")
    yield s
    s.close()


def put(store, **changes):
    ref = store.references("c1")[0].id if store.references("c1") else store.add_reference("c1", IMAGE, "r" * 64, None, "r.png", [PDQ]).id
    saved = store.save_sighting(sighting(ref, **changes), [], expected_revision=None)
    assert saved is not None
    return saved


def test_every_copy_still_up_counts_as_online_reappeared_included(store):
    put(store, page_url="http://a.example/1", status=Status.ONLINE)
    put(store, page_url="http://a.example/2", status=Status.REAPPEARED)
    put(store, page_url="http://b.example/1", host="b.example", status=Status.REMOVED)
    put(store, page_url="http://b.example/2", host="b.example", status=Status.CHANGED)
    summary = build_report(store, "c1").summary
    assert (summary.sightings, summary.online, summary.hosts) == (4, 2, 2)


def test_a_needs_review_candidate_never_stands_as_the_first_appearance(store):
    candidate = put(store, page_url="http://early.example/p", host="early.example", first_seen="2026-01-01T00:00:00Z",
                    last_seen="2026-01-01T00:00:00Z", verdict=Verdict.NEEDS_REVIEW, confidence=0.5)  # fmt: skip
    confirmed = put(store, page_url="http://late.example/p", host="late.example", first_seen="2026-02-01T00:00:00Z",
                    last_seen="2026-02-01T00:00:00Z", claimed_at="2026-01-15T00:00:00Z", claimed_source="html:time",
                    confidence=0.95)  # fmt: skip
    report = build_report(store, "c1")
    first, earliest = report.first_appearance, report.earliest_candidate
    assert first is not None and earliest is not None
    assert (first.sighting_id, first.time, first.basis, first.claimed_source, first.verdict) == (
        confirmed.id, "2026-01-15T00:00:00Z", Basis.CLAIMED, "html:time", Verdict.MATCH)  # fmt: skip
    assert (earliest.sighting_id, earliest.time, earliest.verdict, earliest.confidence) == (
        candidate.id, "2026-01-01T00:00:00Z", Verdict.NEEDS_REVIEW, 0.5)  # fmt: skip
    assert [h.host for h in report.spread] == ["late.example"]  # the spread is of confirmed copies
    assert (report.summary.confirmed, report.summary.needs_review) == (1, 1)
    entries = {s.id: s for s in report.sightings}
    assert (entries[candidate.id].verdict, entries[candidate.id].confidence) == (Verdict.NEEDS_REVIEW, 0.5)
    assert (entries[confirmed.id].verdict, entries[confirmed.id].confidence) == (Verdict.MATCH, 0.95)

    out = io.StringIO()
    render_report(Console(file=out, width=200), report)
    text = out.getvalue()
    assert "First appearance: 2026-01-15T00:00:00Z (claimed by the page, html:time) on late.example" in text
    assert "Earlier candidate, needs review (not confirmed): 2026-01-01T00:00:00Z" in text
    assert "1 need review" in text


def test_a_candidate_later_than_the_first_appearance_is_not_shown_beside_it(store):
    put(store, first_seen="2026-01-01T00:00:00Z", last_seen="2026-01-01T00:00:00Z")
    put(store, page_url="http://h.example/p/9", first_seen="2026-03-01T00:00:00Z", last_seen="2026-03-01T00:00:00Z",
        verdict=Verdict.NEEDS_REVIEW, confidence=0.4)  # fmt: skip
    report = build_report(store, "c1")
    assert report.first_appearance is not None and report.earliest_candidate is None


def test_with_only_candidates_there_is_no_first_appearance_but_the_candidate_is_shown(store):
    only = put(store, verdict=Verdict.NEEDS_REVIEW, confidence=0.4)
    report = build_report(store, "c1")
    assert report.first_appearance is None and report.spread == ()
    assert report.earliest_candidate is not None and report.earliest_candidate.sighting_id == only.id
    out = io.StringIO()
    render_report(Console(file=out, width=200), report)
    assert "First appearance: none confirmed yet" in out.getvalue()


def test_the_json_form_is_one_plain_document(store):
    put(store, status=Status.REAPPEARED, signals=({"kind": "pdq", "distance": 4, "agreed": True},))
    document = json.loads(json.dumps(build_report(store, "c1").to_json()))
    [entry] = document["sightings"]
    assert (entry["status"], entry["verdict"], entry["appeared_basis"]) == ("reappeared", "match", "observed")
    assert entry["signals"] == [{"kind": "pdq", "distance": 4, "agreed": True}]
    assert document["summary"] == {"sightings": 1, "confirmed": 1, "needs_review": 0, "hosts": 1, "online": 1}
    assert document["references"][0]["hashes"][0]["value"].startswith("pdq:")
    assert document["first_appearance"]["basis"] == "observed" and document["earliest_candidate"] is None


def test_the_report_reads_only_its_case_through_indexes(store, tmp_path):
    """A store of a million media and observations costs a report nothing: every query it makes is bounded
    by the case (EXPLAIN QUERY PLAN: an index search, never a scan), and each reference's count is kept."""
    store.ensure_case("other")
    other = store.add_reference("other", IMAGE, "o" * 64, None, "o.png", [PDQ]).id
    for n in range(3):
        put(store, page_url=f"http://h.example/p/{n}")
        store.save_sighting(sighting(other, case_id="other", page_url=f"http://h.example/p/{n}"), [], expected_revision=None)
        store.append_observation(observation(page_url=f"http://h.example/p/{n}"))
    statements: list[str] = []
    store._read().set_trace_callback(statements.append)  # the reading connection of this thread
    try:
        report = build_report(store, "c1")
    finally:
        store._read().set_trace_callback(None)
    assert [(r.label, r.sighting_count) for r in report.references] == [("r.png", 3)]
    plans = {sql: [row[3] for row in store._read().execute(f"EXPLAIN QUERY PLAN {sql}")] for sql in statements}
    assert plans and all(step.startswith(("SEARCH", "USE TEMP B-TREE")) for plan in plans.values() for step in plan), plans
