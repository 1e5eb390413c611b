"""The review queue (tracker.review, `spreadtrace review`): candidates wait for an analyst, who confirms or
rejects each; a rejected picture never comes back as a candidate of its reference, and never reaches a
notice, while it still matches any other reference it truly copies.

The record is filled through the real Tracker. A watermarked copy of the reference stands in for a
look-alike: with PDQ's threshold at 25 and crawled media hashed without keypoints, it lies in the gray zone
(PDQ 26, pHash agreeing), where the matcher asks an analyst, and the analyst says no.
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import dataclass, replace

import pytest
from PIL import Image

from crawler.config import default_hash_options, default_match_policy
from matcher import MediaHashes, hash_media
from simsites.corpus import TRANSFORMS, encode, sample_image
from tests.test_end_to_end import STARTS, spreadtrace
from tests.test_tracker_store_contract import observation
from tracker import Review, Status, Tracker, Verdict, build_report, notice_candidates, open_store
from tracker.allowlist import near_rejected
from tracker.errors import ReviewRefused, UnknownCase, UnknownSighting
from tracker.review import confirm, queue, reject
from tracker.states import PageState

OPTIONS = default_hash_options()
CRAWLED = replace(OPTIONS, local_features=False)  # no keypoints: nothing confirms the gray zone but a person
POLICY = replace(default_match_policy(), pdq_max_distance=25)
T0, T1, T2, T3 = "2026-03-01T10:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T10:00:00Z", "2026-03-04T10:00:00Z"


@dataclass(frozen=True)
class Pictures:
    reference: MediaHashes  # chelsea.png, as reported
    lookalike_reference: MediaHashes  # the look-alike itself, reported in another case
    lookalike: MediaHashes  # PDQ 26 from the reference: a candidate
    reencoded: MediaHashes  # the look-alike saved again: other bytes, PDQ 2 from it, 28 from the reference
    true_copy: MediaHashes  # the reference resized: PDQ 16 from it, and 24 from the look-alike


@pytest.fixture(scope="module")
def pictures() -> Pictures:
    chelsea = sample_image("chelsea")
    lookalike, _ = TRANSFORMS["watermarked"].apply(chelsea)
    reencoded = encode(Image.open(io.BytesIO(lookalike)), "JPEG", quality=50)
    true_copy, _ = TRANSFORMS["resized"].apply(chelsea)
    return Pictures(
        hash_media(encode(chelsea, "PNG"), OPTIONS, reference=True), hash_media(lookalike, OPTIONS, reference=True),
        hash_media(lookalike, CRAWLED), hash_media(reencoded, CRAWLED), hash_media(true_copy, CRAWLED),
    )  # fmt: skip


@pytest.fixture
def tracker(tmp_path, pictures):
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    tracker = Tracker(store, POLICY)
    store.ensure_case("a")
    tracker.add_reference("a", pictures.reference, "chelsea.png")
    for media in (pictures.lookalike, pictures.reencoded, pictures.true_copy):
        tracker.record_media(media)
    yield tracker
    store.close()


def seen(tracker: Tracker, media: MediaHashes, page: str, at: str = T1, **changes):
    """What observing ``media`` on the page ``http://h.example/PAGE`` records."""
    url = f"http://h.example/{page}"
    return tracker.observe(observation(sha256=media.sha256, page_url=url, media_url=f"{url}/m.jpg", observed_at=at, **changes))


def test_the_pictures_are_what_the_story_needs(tracker, pictures):
    """Pinned: if hashing moves, the tests below would test something else."""
    decisions = {name: [(d.verdict, d.distance) for d in tracker._match(observation(sha256=getattr(pictures, name).sha256))]
                 for name in ("lookalike", "reencoded", "true_copy")}  # fmt: skip
    assert decisions == {"lookalike": [(Verdict.NEEDS_REVIEW, 26)], "reencoded": [(Verdict.NEEDS_REVIEW, 28)],
                         "true_copy": [(Verdict.MATCH, 8)]}  # fmt: skip


@pytest.mark.parametrize(
    ("media", "rejected", "to_reference", "expected"),
    [
        ([0b1111], [0b1111], 40, True),  # the rejected hash itself
        ([0b0111], [0b1111], 40, True),  # a near duplicate, far from the reference
        ([(1 << 26) - 1], [0], 40, False),  # 26 bits away: beyond the threshold of 25
        ([(1 << 24) - 1], [0], 16, False),  # within the threshold, but nearer to the reference: a true copy
        ([(1 << 16) - 1], [0], 16, False),  # as near to both: left to the analyst
        ([(1 << 15) - 1], [0], 16, True),
        ([(1 << 20) - 1], [0], None, True),  # no PDQ distance to the reference: the allowlist's word stands
        ([1 << 40, 0b1], [0b11], 40, True),  # any of the media's hashes
        ([], [0], None, False),
    ],
)  # fmt: skip
def test_a_near_duplicate_is_near_the_rejected_picture_and_nearer_to_it_than_to_the_reference(media, rejected, to_reference, expected):
    assert near_rejected(media, rejected, to_reference, POLICY.pdq_max_distance) is expected


def test_the_queue_holds_undecided_candidates_oldest_first_with_their_signals(tracker, pictures):
    [later] = seen(tracker, pictures.lookalike, "later", T2)
    [earlier] = seen(tracker, pictures.reencoded, "earlier", T1)
    [match] = seen(tracker, pictures.true_copy, "true", T0)
    assert match.verdict is Verdict.MATCH
    assert queue(tracker.store, "a") == queue(tracker.store) == [earlier, later]
    first = queue(tracker.store)[0]
    assert (first.confidence, first.decided_by, first.distance) == (0.5, "pdq+phash", 28)
    signals = {s["kind"]: s for s in first.signals}
    assert (signals["pdq"]["distance"], signals["pdq"]["agreed"], signals["phash"]["agreed"]) == (28, False, True)
    with pytest.raises(UnknownCase):
        queue(tracker.store, "nobody")


def test_confirming_makes_a_match_that_counts_in_the_report_and_may_go_in_a_notice(tracker, pictures):
    [candidate] = seen(tracker, pictures.lookalike, "p1")
    before = build_report(tracker.store, "a")
    assert (before.summary.confirmed, before.summary.needs_review, before.first_appearance) == (0, 1, None)
    assert notice_candidates(tracker.store, "a") == []

    confirmed = confirm(tracker, candidate.id, actor="alice", why="the same cat, watermarked")
    assert (confirmed.verdict, confirmed.decided_by, confirmed.review) == (Verdict.MATCH, "analyst:alice", Review.CONFIRMED)
    assert confirmed.actionable and queue(tracker.store) == []
    report = build_report(tracker.store, "a")
    assert (report.summary.confirmed, report.summary.needs_review, report.rejected) == (1, 0, ())
    assert report.first_appearance is not None and report.first_appearance.sighting_id == candidate.id
    assert [h.host for h in report.spread] == ["h.example"]
    assert [s.id for s in notice_candidates(tracker.store, "a")] == [candidate.id]
    assert [e.reason for e in tracker.store.status_history(candidate.id)] == [
        "first seen", "confirmed by analyst:alice: the same cat, watermarked"]  # fmt: skip
    [event] = tracker.store.audit_events("a")
    assert (event.actor, event.action, event.detail["sighting"], event.detail["why"]) == (
        "alice", "review-confirm", candidate.id, "the same cat, watermarked")  # fmt: skip
    assert event.detail["matcher"] == {"verdict": "needs_review", "decided_by": "pdq+phash", "confidence": 0.5}
    [decision] = tracker.store.reviews("a")
    assert (decision.sighting_id, decision.decision, decision.actor) == (candidate.id, Review.CONFIRMED, "alice")

    [again] = seen(tracker, pictures.lookalike, "p1", T2)  # seen again: the matcher's doubt does not undo it
    assert (again.verdict, again.decided_by, again.last_seen) == (Verdict.MATCH, "analyst:alice", T2)


def test_a_rejected_candidate_leaves_the_report_and_notices_and_stays_in_the_record(tracker, pictures):
    [true] = seen(tracker, pictures.true_copy, "true", T0)
    [candidate] = seen(tracker, pictures.lookalike, "p1")
    rejection = reject(tracker, candidate.id, actor="bob", why="another cat on the same sofa")
    rejected = rejection.sighting
    assert (rejected.review, rejected.verdict, rejected.rejected, rejected.actionable) == (
        Review.REJECTED, Verdict.NEEDS_REVIEW, True, False)  # fmt: skip
    assert {(e.kind, e.value) for e in rejection.allowlisted} == {
        ("sha256", pictures.lookalike.sha256), ("pdq", next(s.value for s in pictures.lookalike.signals if s.kind == "pdq"))}
    assert tracker.store.get_sighting(candidate.id) == rejected  # kept for the audit
    assert queue(tracker.store) == [] and [s.id for s in notice_candidates(tracker.store, "a")] == [true.id]

    report = build_report(tracker.store, "a")
    assert [s.id for s in report.sightings] == [true.id]
    assert (report.summary.sightings, report.summary.needs_review, report.summary.hosts) == (1, 0, 1)
    assert report.earliest_candidate is None
    [entry] = report.rejected
    assert (entry.sighting_id, entry.rejected_by, entry.why, entry.media_url) == (
        candidate.id, "bob", "another cat on the same sofa", candidate.media_url)  # fmt: skip
    assert json.loads(json.dumps(report.to_json()))["rejected"][0]["rejected_by"] == "bob"

    assert tracker.store.status_history(candidate.id)[-1].reason == "rejected by analyst:bob: another cat on the same sofa"
    [event] = tracker.store.audit_events("a")
    assert (event.action, event.actor, event.detail["sighting"], event.detail["also_rejected"]) == (
        "review-reject", "bob", candidate.id, [])  # fmt: skip
    assert f"sha256:{pictures.lookalike.sha256}" in event.detail["allowlisted"]


def test_a_rejected_candidate_never_comes_back(tracker, pictures):
    [candidate] = seen(tracker, pictures.lookalike, "p1", T0)
    reject(tracker, candidate.id, actor="bob", why="not her")
    assert seen(tracker, pictures.lookalike, "p1", T1) == []  # the same media on the same page
    assert seen(tracker, pictures.lookalike, "p2", T1) == []  # the same bytes elsewhere
    assert seen(tracker, pictures.reencoded, "p3", T1) == []  # saved again: other bytes, PDQ 2 from it
    assert [s.id for s in tracker.store.sightings("a")] == [candidate.id] and queue(tracker.store) == []
    # A crawl is another process: it reads the allowlist when it starts.
    crawl = Tracker(tracker.store, POLICY)
    assert seen(crawl, pictures.reencoded, "p4", T2) == [] and seen(crawl, pictures.lookalike, "p5", T2) == []
    assert [s.id for s in tracker.store.sightings("a")] == [candidate.id]
    # Its copy is no one's business any more: not re-checked, its status not followed.
    assert tracker.visits.rechecks("h") == {}
    seen(crawl, pictures.lookalike, "p1", T3, page_state=PageState.REMOVED, note="page removed: HTTP 404")
    assert tracker.store.get_sighting(candidate.id).status is Status.ONLINE


def test_the_rejected_picture_still_matches_what_it_truly_copies(tracker, pictures):
    [candidate] = seen(tracker, pictures.lookalike, "p1", T0)
    reject(tracker, candidate.id, actor="bob", why="not her")
    # Case b reported the look-alike itself: for its reference it is a copy, rejection or not.
    tracker.store.ensure_case("b")
    tracker.add_reference("b", pictures.lookalike_reference, "sofa-cat.jpg")
    found = seen(tracker, pictures.lookalike, "p2", T1)
    assert [(s.case_id, s.verdict) for s in found] == [("b", Verdict.MATCH)]
    assert [s.id for s in notice_candidates(tracker.store, "b")] == [found[0].id]
    # A true copy of case a's reference lies 24 bits from the rejected hash, within the threshold of 25, but
    # nearer to the reference (16): still recorded, still a match.
    true = seen(tracker, pictures.true_copy, "p3", T1)
    assert sorted((s.case_id, s.verdict) for s in true) == [("a", Verdict.MATCH), ("b", Verdict.MATCH)]


def test_rejecting_a_candidate_rejects_the_same_picture_waiting_elsewhere(tracker, pictures):
    [first] = seen(tracker, pictures.lookalike, "p1", T0)
    [same_bytes] = seen(tracker, pictures.lookalike, "p2", T1)
    [reencoded] = seen(tracker, pictures.reencoded, "p3", T1)
    [true] = seen(tracker, pictures.true_copy, "p4", T1)
    rejection = reject(tracker, first.id, actor="bob", why="not her")
    assert {s.id for s in rejection.also} == {same_bytes.id, reencoded.id} and queue(tracker.store) == []
    reasons = {s.id: tracker.store.status_history(s.id)[-1].reason for s in rejection.also}
    assert set(reasons.values()) == {f"rejected by analyst:bob: not her (as sighting {first.id}: the same picture)"}
    assert tracker.store.get_sighting(true.id).review is None  # a match: not the analyst's to reject here
    assert [e.detail["also_rejected"] for e in tracker.store.audit_events("a")] == [sorted(reasons)]
    assert len(tracker.store.reviews("a")) == 3


def test_other_bytes_where_a_rejected_candidate_was_are_a_new_candidate(tracker, pictures):
    [candidate] = seen(tracker, pictures.lookalike, "p1", T0)
    reject(tracker, candidate.id, actor="bob", why="not her")
    [back] = seen(tracker, pictures.true_copy, "p1", T1)  # the real picture, uploaded at the same place
    assert (back.id, back.review, back.verdict, back.sha256) == (candidate.id, None, Verdict.MATCH, pictures.true_copy.sha256)
    assert [s.id for s in notice_candidates(tracker.store, "a")] == [candidate.id]


def test_decisions_that_cannot_be_taken_say_why_in_one_line(tracker, pictures):
    [match] = seen(tracker, pictures.true_copy, "p0")
    [one, two] = [seen(tracker, pictures.lookalike, "p1")[0], seen(tracker, pictures.reencoded, "p2")[0]]
    with pytest.raises(ReviewRefused, match=rf"^sighting {match.id} is a match already \(decided by pdq\)"):
        confirm(tracker, match.id, actor="alice", why="sure")
    with pytest.raises(ReviewRefused, match="is a match already .* nothing to reject"):
        reject(tracker, match.id, actor="alice", why="sure")
    confirm(tracker, one.id, actor="alice", why="her")
    with pytest.raises(ReviewRefused, match=rf"^sighting {one.id} was confirmed already, analyst:alice$"):
        confirm(tracker, one.id, actor="bob", why="again")
    with pytest.raises(ReviewRefused, match="was confirmed already"):
        reject(tracker, one.id, actor="bob", why="changed my mind")
    reject(tracker, two.id, actor="bob", why="not her")
    for decide in (confirm, reject):
        with pytest.raises(ReviewRefused, match=rf"^sighting {two.id} was rejected already \(see: spreadtrace report a\)$"):
            decide(tracker, two.id, actor="bob", why="again")
    with pytest.raises(UnknownSighting, match="unknown sighting 999"):
        confirm(tracker, 999, actor="alice", why="x")
    for actor, why, message in (("alice", "  ", "reason .* is empty"), ("", "x", "analyst name is empty"),
                                ("al\x1bice", "x", "control character"), ("alice", "y" * 1001, "at most 1,000")):  # fmt: skip
        with pytest.raises(ReviewRefused, match=message):
            reject(tracker, match.id, actor=actor, why=why)
    assert len(tracker.store.reviews()) == 2  # nothing refused was recorded


def test_the_review_commands(tmp_path, pictures, run_cli, home, monkeypatch):
    """`review list`, `confirm`, `reject` in-process on a home whose store the Tracker filled."""
    monkeypatch.setenv("COLUMNS", "250")  # the table whole, one row a line
    overrides = ("-s", "SPREADTRACE_PDQ_MAX_DISTANCE=25")
    assert run_cli(*overrides, "case", "list").code == 0  # makes the home and its store
    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        tracker = Tracker(store, POLICY)
        store.ensure_case("a")
        tracker.add_reference("a", pictures.reference, "chelsea.png")
        for media in (pictures.lookalike, pictures.reencoded):
            tracker.record_media(media)
        [one] = seen(tracker, pictures.lookalike, "p1", T0)
        [two] = seen(tracker, pictures.reencoded, "p2", T1)
    finally:
        store.close()

    listed = run_cli(*overrides, "review", "list", "a")
    assert listed.code == 0, listed.err
    assert "2 candidate(s) to review" in listed.out and "chelsea.png" in listed.out and "pdq 26/25 no" in listed.out
    document = json.loads(run_cli(*overrides, "review", "list", "--format", "json").out)
    assert [(c["sighting"], c["reference_label"], c["confidence"]) for c in document] == [
        (one.id, "chelsea.png", 0.5), (two.id, "chelsea.png", 0.5)]  # fmt: skip

    confirmed = run_cli(*overrides, "review", "confirm", str(one.id), "--why", "her, watermarked", "--actor", "alice")
    assert confirmed.code == 0, confirmed.err
    assert f"sighting {one.id} confirmed (analyst:alice): a copy of chelsea.png in case a" in confirmed.out
    rejected = run_cli(*overrides, "review", "reject", str(two.id), "--why", "another cat")
    assert rejected.code == 0, rejected.err
    assert f"sighting {two.id} rejected: its media is on the allowlist of chelsea.png (2 hash(es) added)" in rejected.out
    assert run_cli(*overrides, "review", "list").out.strip() == "nothing to review"
    assert json.loads(run_cli("review", "list", "--format", "json").out) == []

    again = run_cli(*overrides, "review", "reject", str(two.id), "--why", "again")
    assert (again.code, again.err.strip()) == (2, f"error: sighting {two.id} was rejected already (see: spreadtrace report a)")
    missing = run_cli("review", "confirm", "999", "--why", "x")
    assert missing.code == 2 and missing.err.count("\n") == 1 and "unknown sighting 999" in missing.err
    assert run_cli("review", "confirm", str(one.id)).code == 2  # --why is required

    report = run_cli("report", "a")
    assert "1 candidate(s) rejected" in report.out and "Rejected by analysts" in report.out and "another cat" in report.out
    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        import getpass

        assert [(e.action, e.actor) for e in store.audit_events("a")] == [("review-confirm", "alice"),
                                                                            ("review-reject", getpass.getuser())]  # fmt: skip
    finally:
        store.close()


def test_rejected_candidates_of_a_crawl_do_not_come_back_on_the_next_visit(tmp_path, home, run_cli):
    """End to end on the simulated forum: its watermarked copy is a gray-zone candidate (PDQ threshold 20, no
    keypoints); rejected, it is not recorded by the next visit, nor when the board gets the same picture.
    Crawls are `spreadtrace` processes; the other commands run in this one (each process costs seconds)."""
    from datetime import UTC, datetime

    from simsites import SimulatedWorld

    world = SimulatedWorld(seed=5)
    world.start()
    try:
        folder = tmp_path / "reported"
        folder.mkdir()
        for name, data in world.reference_files().items():
            (folder / name).write_bytes(data)
        assert run_cli("case", "add", "victim-1", str(folder)).code == 0
        for name in ("forum", "board"):
            server = world.sites[name]
            added = run_cli("site", "add", name, server.url(STARTS[name]), "--allow-domain", server.host, "--delay", "0",
                            "--allow-private")  # fmt: skip
            assert added.code == 0, added.err
        settings = ("-s", "SPREADTRACE_PDQ_MAX_DISTANCE=20", "-s", "SPREADTRACE_LOCAL_FEATURES=False",
                    "-s", "SPREADTRACE_SCREENSHOTS=False")  # fmt: skip

        def crawl() -> None:
            result = spreadtrace(home, *settings, "crawl", "--no-progress")
            assert result.returncode == 0, result.stderr

        def candidates() -> list[dict]:
            listed = run_cli(*settings, "review", "list", "victim-1", "--format", "json")
            assert listed.code == 0, listed.err
            return json.loads(listed.out)

        crawl()
        first = candidates()
        assert first and {c["media_url"] for c in first} <= watermarked(world)
        for candidate in first:
            rejected = run_cli(*settings, "review", "reject", str(candidate["sighting"]), "--why", "not her")
            assert rejected.code == 0, rejected.err
        upload = world.upload("chelsea", "watermarked", datetime(2026, 3, 5, tzinfo=UTC))  # the same picture, on the board
        crawl()
        assert candidates() == []
        with sqlite3.connect(home / "spreadtrace.db") as conn:  # met, and passed over
            seen_again = conn.execute("SELECT count(*) FROM observations WHERE media_url IN (?, ?) AND sha256 IS NOT NULL",
                                      (upload.media_url, first[0]["media_url"])).fetchone()[0]  # fmt: skip
        assert seen_again >= 3  # the rejected copy on each visit, and the new upload
        report = json.loads(run_cli("report", "victim-1", "--format", "json").out)
        assert {r["sighting_id"] for r in report["rejected"]} == {c["sighting"] for c in first}
        assert not {s["media_url"] for s in report["sightings"]} & watermarked(world)
    finally:
        world.stop()


def watermarked(world) -> set[str]:
    return {p.media_url for p in world.planted if p.transform == "watermarked"}
