"""The Store contract. Every backend runs the same tests: each name in BACKENDS is one parametrisation of
the `store_uri` fixture (SQLite always). The rules are not tested here (tests/test_tracker_rules.py): a
store only has to persist what it is given, atomically, and refuse a write made from a stale read."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from matcher import ContentKind, MediaHashes, Signal
from tracker import AuditEvent, ClaimState, Observation, PageOutcome, PageRole, Sighting, Status, UnknownCase, Verdict, open_store
from tracker.errors import CaseWithdrawn, InvalidCaseName, InvalidLabel, StoreUnavailable, UnknownSighting
from tracker.models import AllowEntry, Delivery, PageReading, PageVisit, ReviewDecision, StatusEvent, User, Validators
from tracker.store import HashReference
from tracker.states import Channel, DeliveryOutcome, PageState, Review, Role, VisitOutcome

PDQ = Signal("pdq", "ab" * 32, 1, 90)
PHASH = Signal("phash", "cd" * 8, 1, None, "flip_h")
IMAGE = ContentKind.IMAGE


def media(sha: str = "a" * 64) -> MediaHashes:
    return MediaHashes(sha, "m" * 32, 1234, IMAGE, 640, 480, (PDQ, PHASH))


def observation(**changes: object) -> Observation:
    fields: dict[str, object] = dict(
        observed_at="2026-03-01T10:00:00Z", media_url="http://h.example/m.jpg", page_url="http://h.example/p/1",
        site="h", http_status=200, sha256="a" * 64, content_type="image/jpeg",
    )  # fmt: skip
    fields.update(changes)
    return Observation(**fields)  # type: ignore[arg-type]


def sighting(reference_id: int, **changes: object) -> Sighting:
    fields: dict[str, object] = dict(
        id=0, case_id="c1", reference_id=reference_id, media_url="http://h.example/m.jpg",
        page_url="http://h.example/p/1", host="h.example", site="h", sha256="a" * 64,
        first_seen="2026-03-01T10:00:00Z", last_seen="2026-03-01T10:00:00Z", status=Status.ONLINE, distance=4,
        decided_by="pdq", signals=({"kind": "pdq", "distance": 4},), status_at="2026-03-01T10:00:00Z",
    )  # fmt: skip
    fields.update(changes)
    return Sighting(**fields)  # type: ignore[arg-type]


BACKENDS = {
    "sqlite": lambda tmp_path: f"sqlite:///{tmp_path / 'store.db'}",
}


@pytest.fixture(params=sorted(BACKENDS))
def store_uri(request, tmp_path: Path) -> str:
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def store(store_uri):
    s = open_store(store_uri)
    yield s
    s.close()


@pytest.fixture
def ref_id(store) -> int:
    store.ensure_case("c1")
    return store.add_reference("c1", IMAGE, "a" * 64, None, None, [PDQ]).id


class TestStoreContract:
    def test_cases(self, store):
        assert store.list_cases() == []
        first = store.ensure_case("c1")
        assert store.ensure_case("c1") == first  # idempotent
        assert [c.id for c in store.list_cases()] == ["c1"]
        with pytest.raises(UnknownCase, match="spreadtrace case list"):
            store.get_case("nope")
        with pytest.raises(InvalidCaseName):
            store.ensure_case("../etc")
        with pytest.raises(InvalidCaseName):
            store.ensure_case("c1\n")  # `$` in a pattern matches before a final newline; fullmatch does not

    def test_references_keep_hashes_with_algorithm_version_and_variant(self, store):
        store.ensure_case("c1")
        ref = store.add_reference("c1", IMAGE, "a" * 64, "m" * 32, "photo.jpg", [PDQ, PHASH])
        assert ref is not None
        assert store.add_reference("c1", IMAGE, "a" * 64, "m" * 32, "again.jpg", [PDQ]) is None  # same bytes
        [stored] = store.references("c1")
        assert stored.signals == (PDQ, PHASH) and stored.label == "photo.jpg" and stored.kind is IMAGE
        assert store.get_case("c1").reference_count == 1
        with pytest.raises(UnknownCase):
            store.add_reference("ghost", IMAGE, "b" * 64, None, None, [PDQ])

    def test_hash_references_are_imported_in_one_transaction(self, store):
        store.ensure_case("c1")
        store.add_reference("c1", IMAGE, "a" * 64, None, "photo.jpg", [PDQ])
        others = [Signal("pdq", f"{n:064x}", 1, 90) for n in range(1, 12_001)]
        batch = [HashReference(IMAGE, f"list.txt:{n}", s) for n, s in enumerate([PDQ, *others, others[0]], start=1)]
        added, skipped = store.import_references("c2", iter(batch))  # a new case, created with its references
        assert (len(added), skipped) == (12_001, 1)  # the repeat within the list is skipped
        assert [r.signals for r in added] == [(s,) for s in [PDQ, *others]]
        assert store.references("c2") == added and store.get_case("c2").reference_count == len(added)
        again, skipped = store.import_references("c1", iter(batch))  # c1 holds PDQ already
        assert (len(again), skipped) == (12_000, 2)
        assert len({r.id for r in store.references()}) == 1 + 12_001 + 12_000

    def test_an_import_that_raises_leaves_nothing(self, store):
        def failing():
            yield from (HashReference(IMAGE, None, Signal("pdq", f"{n:064x}", 1, 90)) for n in range(1, 12_001))
            raise RuntimeError("the list broke off")

        with pytest.raises(RuntimeError, match="broke off"):
            store.import_references("c3", failing())
        with pytest.raises(InvalidLabel, match="control character"):
            store.import_references("c3", iter([HashReference(IMAGE, "two\nlines", PDQ)]))
        assert store.list_cases() == [] and store.references() == []
        with pytest.raises(InvalidLabel):
            store.ensure_case("c3")
            store.add_reference("c3", IMAGE, "a" * 64, None, "bell\x07", [PDQ])

    def test_media_is_known_by_sha256(self, store):
        assert store.media_signals("a" * 64) is None
        store.put_media(media())
        store.put_media(media())  # a second hash of the same bytes changes nothing
        assert store.media_signals("a" * 64) == (PDQ, PHASH)
        store.put_unhashable("b" * 64, 10, "empty file (0 bytes)")
        assert store.media_signals("b" * 64) == "empty file (0 bytes)"
        assert list(store.iter_media_signals()) == [("a" * 64, (PDQ, PHASH))]

    def test_media_hashes_stream_in_batches_in_the_order_they_were_hashed(self, store):
        frames = "0,90," + "12" * 32 + ",0.000\n1,40," + "34" * 32 + ",0.500\n"
        keypoints = Signal("orb", "AQIDBA==")
        store.put_media(media("c" * 64))
        store.put_media(MediaHashes("a" * 64, "m" * 32, 9, ContentKind.VIDEO, 320, 240, (Signal("vpdq", frames),), 1.0))
        store.put_media(MediaHashes("b" * 64, "m" * 32, 9, IMAGE, 64, 64, (PDQ, Signal("pdq", "ef" * 32), keypoints, PHASH)))
        store.put_media(media("c" * 64))  # known bytes: not streamed twice
        store.put_unhashable("d" * 64, 10, "empty file (0 bytes)")  # nothing to compare
        batches = list(store.iter_media_codes(150))  # characters: c has 80, a 128 (two frames), b 144
        assert [len(b) for b in batches] == [2, 1] and store.media_count() == 3
        streamed = [m for b in batches for m in b]
        assert [(bool(m.keypoints), m.pdq, m.phash) for m in streamed] == [
            (False, "ab" * 32, "cd" * 8), (False, "12" * 32 + "34" * 32, ""), (True, "ab" * 32 + "ef" * 32, "cd" * 8),
        ]  # fmt: skip
        numbers = [m.number for m in streamed]
        assert list(store.media_sha256(reversed(numbers))) == ["a" * 64, "b" * 64, "c" * 64]  # in SHA-256 order
        assert list(store.media_sha256([numbers[0], numbers[0], max(numbers) + 1])) == ["c" * 64]  # each once
        assert list(store.media_sha256([])) == []

    def test_media_hashes_stream_from_a_snapshot_while_media_are_written(self, store):
        for sha in ("a" * 64, "b" * 64):
            store.put_media(media(sha))
        stream = store.iter_media_codes(1)
        first = next(stream)
        store.put_media(media("c" * 64))  # a crawl records media meanwhile
        assert len(first) + sum(len(batch) for batch in stream) == 2
        assert store.media_count() == 3

    def test_observations_are_appended(self, store):
        first = store.append_observation(observation(page_state=PageState.GONE, note="page is up but no longer shows it"))
        second = store.append_observation(observation(observed_at="2026-03-02T10:00:00Z"))
        assert first.id is not None and second.id is not None and first.id != second.id
        assert store.observations_of("a" * 64) == [first, second]
        assert first.page_state is PageState.GONE and store.observation_count() == 2

    def test_observations_of_a_page_and_media_url_in_time_order(self, store):
        later = store.append_observation(observation(observed_at="2026-03-02T10:00:00Z", sha256="b" * 64))
        earlier = store.append_observation(observation(http_status=404, sha256=None, error="HTTP 404"))
        store.append_observation(observation(media_url="http://h.example/other.jpg"))
        assert store.observations_at("http://h.example/p/1", "http://h.example/m.jpg") == [earlier, later]

    def test_one_observation_per_visit_page_and_media(self, store):
        first = store.append_observation(observation(visit_id="v1"))
        again = store.append_observation(observation(visit_id="v1", observed_at="2026-03-01T11:00:00Z"))
        assert again == first and store.observation_count() == 1
        store.append_observation(observation(visit_id="v2"))
        store.append_observation(observation())  # outside any visit (a scan): always appended
        assert store.observation_count() == 3

    def test_a_sighting_is_inserted_once_with_its_events(self, store, ref_id):
        first_seen = StatusEvent(0, "2026-03-01T10:00:00Z", Status.ONLINE, "first seen")
        new = sighting(ref_id, claimed_at="2026-02-01T00:00:00Z", claimed_source="html:time", verdict=Verdict.NEEDS_REVIEW,
                       confidence=0.5)  # fmt: skip
        saved = store.save_sighting(new, [first_seen], expected_revision=None)
        assert saved is not None and saved.id > 0 and saved.revision == 1
        assert (saved.claimed_at, saved.claimed_source, saved.status, saved.verdict, saved.confidence) == (
            "2026-02-01T00:00:00Z", "html:time", Status.ONLINE, Verdict.NEEDS_REVIEW, 0.5)  # fmt: skip
        assert saved.signals == ({"kind": "pdq", "distance": 4},) and saved.status_at == "2026-03-01T10:00:00Z"
        # The same reference, page and media URL again as new: another writer inserted it first.
        assert store.save_sighting(sighting(ref_id), [first_seen], expected_revision=None) is None
        assert store.sightings("c1") == [saved]
        assert store.status_history(saved.id) == [replace(first_seen, sighting_id=saved.id)]

    def test_a_write_from_a_stale_read_is_refused(self, store, ref_id):
        saved = store.save_sighting(sighting(ref_id), [], expected_revision=None)
        wider = replace(saved, last_seen="2026-03-05T00:00:00Z", verdict=Verdict.NEEDS_REVIEW, confidence=0.5)
        updated = store.save_sighting(wider, [], expected_revision=saved.revision)
        assert updated is not None and updated.revision == saved.revision + 1
        assert (updated.last_seen, updated.verdict, updated.confidence) == ("2026-03-05T00:00:00Z", Verdict.NEEDS_REVIEW, 0.5)
        event = StatusEvent(saved.id, "2026-03-06T00:00:00Z", Status.REMOVED, "page removed: HTTP 404", 7)
        removed = replace(saved, status=Status.REMOVED, status_at=event.at)
        assert store.save_sighting(removed, [event], expected_revision=saved.revision) is None  # read before the update
        assert store.sightings("c1") == [updated] and store.status_history(saved.id) == []  # nothing half-written
        done = store.save_sighting(replace(updated, status=Status.REMOVED, status_at=event.at), [event],
                                   expected_revision=updated.revision)  # fmt: skip
        assert done is not None and (done.status, done.status_at) == (Status.REMOVED, event.at)
        assert store.status_history(saved.id) == [event]

    def test_a_withdrawn_case_loses_its_hashes_and_sightings_and_takes_nothing_more(self, store, ref_id):
        store.ensure_case("c2")
        kept = store.add_reference("c2", IMAGE, "b" * 64, None, None, [PDQ])
        assert kept is not None
        newest = store.add_reference("c1", IMAGE, "e" * 64, None, "last.png", [PDQ])  # the highest id of all
        assert newest is not None
        gone = store.save_sighting(sighting(ref_id), [], expected_revision=None)
        store.save_sighting(sighting(kept.id, case_id="c2"), [], expected_revision=None)
        assert store.withdraw_case("c1", "2026-11-22T10:00:00Z") == (2, 1)
        assert store.references("c1") == [] and store.sightings("c1") == [] and store.status_history(gone.id) == []
        assert [r.id for r in store.references("c2")] == [kept.id] and len(store.sightings("c2")) == 1  # others untouched
        assert store.get_case("c1").withdrawn_at == "2026-11-22T10:00:00Z"
        with pytest.raises(CaseWithdrawn, match="case 'c1' was withdrawn at 2026-11-22T10:00:00Z"):
            store.ensure_case("c1")
        with pytest.raises(CaseWithdrawn):
            store.add_reference("c1", IMAGE, "c" * 64, None, None, [PDQ])
        with pytest.raises(CaseWithdrawn):
            store.import_references("c1", [HashReference(IMAGE, "x", PDQ)])
        later = store.add_reference("c2", IMAGE, "d" * 64, None, None, [PDQ])
        assert later is not None and later.id > newest.id  # a withdrawn reference's id is never handed out again
        assert store.get_case("c1").reference_count == 0
        assert store.withdraw_case("c1", "2026-12-01T00:00:00Z") == (0, 0)  # again: nothing left, first time kept
        assert store.get_case("c1").withdrawn_at == "2026-11-22T10:00:00Z"
        with pytest.raises(UnknownCase):
            store.withdraw_case("nobody", "2026-11-22T10:00:00Z")

    def test_sightings_are_found_by_page_and_by_site(self, store, ref_id):
        one = store.save_sighting(sighting(ref_id), [], expected_revision=None)
        two = store.save_sighting(sighting(ref_id, media_url="http://h.example/m.jpg?v=2"), [], expected_revision=None)
        other = store.save_sighting(sighting(ref_id, page_url="http://h.example/p/2", site="g"), [], expected_revision=None)
        assert store.sightings_on_page("http://h.example/p/1") == [one, two]
        assert store.sightings_of_site("g") == [other]

    def test_sightings_and_status_moves_are_found_by_time(self, store, ref_id):
        old = store.save_sighting(sighting(ref_id, first_seen="2026-03-01T09:59:59Z"), [], expected_revision=None)
        new = store.save_sighting(sighting(ref_id, page_url="http://h.example/p/2"), [], expected_revision=None)
        at = "2026-03-02T00:00:00Z"
        back = StatusEvent(old.id, at, Status.REAPPEARED, "media matches")
        moved = store.save_sighting(replace(old, status=Status.REAPPEARED, status_at=at), [
            StatusEvent(old.id, "2026-03-01T12:00:00Z", Status.REMOVED, "page removed"), back], expected_revision=old.revision)  # fmt: skip
        assert store.sightings_since("2026-03-01T10:00:00Z") == [new]  # at or after: the same second counts
        assert store.sightings_since("2026-03-01T10:00:01Z") == []
        assert store.status_changes_since("2026-03-01T10:00:00Z", Status.REAPPEARED) == [(back, moved)]
        assert store.status_changes_since(at, Status.REAPPEARED) == [(back, moved)]
        assert store.status_changes_since("2026-03-02T00:00:01Z", Status.REAPPEARED) == []
        assert [e.status for e, _ in store.status_changes_since("2026-03-01T00:00:00Z", Status.REMOVED)] == [Status.REMOVED]

    def test_contacts_are_kept_once_per_case_and_removed(self, store):
        store.ensure_case("c1")
        store.ensure_case("c2")
        mail = store.add_contact("c1", Channel.EMAIL, "team@helpline.example", None, "2026-03-01T10:00:00Z")
        hook = store.add_contact("c1", Channel.WEBHOOK, "https://hooks.example/a", "s" * 64, "2026-03-01T10:00:01Z")
        assert mail is not None and hook is not None and hook.secret == "s" * 64
        assert store.add_contact("c1", Channel.EMAIL, "team@helpline.example", None, "2026-03-02T00:00:00Z") is None
        other = store.add_contact("c2", Channel.EMAIL, "team@helpline.example", None, "2026-03-01T10:00:02Z")
        assert store.contacts("c1") == [mail, hook] and store.contacts() == [mail, hook, other]
        assert store.remove_contact("c1", "team@helpline.example") and not store.remove_contact("c1", "team@helpline.example")
        assert store.contacts("c1") == [hook] and store.contacts("c2") == [other]
        with pytest.raises(UnknownCase):
            store.add_contact("ghost", Channel.EMAIL, "a@b.example", None, "2026-03-01T10:00:00Z")

    def test_an_alert_is_claimed_once_per_contact_until_delivered(self, store):
        store.ensure_case("c1")
        alert = {"key": "new_sighting:1", "kind": "new_sighting", "case": "c1", "at": "2026-03-01T10:00:00Z", "sighting_id": 1}

        def claim(target: str, at: str, stale_before: str = "2026-03-01T00:00:00Z") -> Delivery | None:
            wanted = Delivery("new_sighting:1", "c1", Channel.WEBHOOK, target, at, alert=alert)
            [got] = store.claim_deliveries([wanted], stale_before)
            return got

        first = claim("https://hooks.example/a", "2026-03-01T10:00:00Z")
        assert first is not None and first.id is not None and (first.outcome, first.attempt) == (DeliveryOutcome.SENDING, 1)
        assert claim("https://hooks.example/a", "2026-03-01T10:00:05Z") is None  # another run is at it
        elsewhere = claim("https://hooks.example/b", "2026-03-01T10:00:05Z")  # another contact: its own delivery
        assert elsewhere is not None and elsewhere.attempt == 1
        store.settle_deliveries([first.id], DeliveryOutcome.FAILED, "HTTP 500, after 3 tries", "2026-03-01T10:00:09Z")
        [owed] = store.undelivered("2026-03-01T00:00:00Z")
        assert (owed.id, owed.outcome, owed.reason, owed.alert) == (first.id, DeliveryOutcome.FAILED, "HTTP 500, after 3 tries", alert)
        assert store.undelivered("2026-03-01T00:00:00Z", max_attempts=1) == []  # tried as often as allowed
        second = claim("https://hooks.example/a", "2026-03-02T10:00:00Z")
        assert second is not None and second.attempt == 2
        store.settle_deliveries([second.id], DeliveryOutcome.DELIVERED, None, "2026-03-02T10:00:01Z")
        assert claim("https://hooks.example/a", "2026-03-03T10:00:00Z", stale_before="2026-03-03T10:00:00Z") is None
        # The claim for /b was never settled (its run was killed): once stale, it is owed, and retaken as failed.
        assert store.undelivered("2026-03-01T10:00:05Z") == []
        [stale] = store.undelivered("2026-03-02T00:00:00Z")
        assert stale.target == "https://hooks.example/b" and stale.outcome is DeliveryOutcome.SENDING
        again = claim("https://hooks.example/b", "2026-03-02T10:00:00Z", stale_before="2026-03-02T00:00:00Z")
        assert again is not None and again.attempt == 2
        latest = store.deliveries("c1")
        assert [(d.target, d.outcome, d.attempt) for d in latest] == [
            ("https://hooks.example/a", DeliveryOutcome.DELIVERED, 2), ("https://hooks.example/b", DeliveryOutcome.SENDING, 2),
            ("https://hooks.example/a", DeliveryOutcome.FAILED, 1), ("https://hooks.example/b", DeliveryOutcome.FAILED, 1),
        ]  # fmt: skip
        assert latest[-1].reason.startswith("interrupted") and store.deliveries("c1", limit=1) == latest[:1]
        assert store.deliveries("c2") == []

    def test_a_withdrawn_case_loses_its_contacts_and_deliveries(self, store, ref_id):
        store.add_contact("c1", Channel.EMAIL, "team@helpline.example", None, "2026-03-01T10:00:00Z")
        alert = {"key": "new_sighting:1", "page_url": "http://h.example/p/1"}
        store.claim_deliveries([Delivery("new_sighting:1", "c1", Channel.EMAIL, "team@helpline.example", "2026-03-01T10:00:00Z",
                                         alert=alert)], "2026-03-01T00:00:00Z")  # fmt: skip
        store.withdraw_case("c1", "2026-11-22T10:00:00Z")
        assert store.contacts("c1") == [] and store.deliveries("c1") == [] and store.undelivered("2027-01-01T00:00:00Z") == []
        with pytest.raises(CaseWithdrawn):
            store.add_contact("c1", Channel.EMAIL, "team@helpline.example", None, "2026-11-23T00:00:00Z")

    def test_a_sighting_is_read_by_its_id(self, store, ref_id):
        saved = store.save_sighting(sighting(ref_id, verdict=Verdict.NEEDS_REVIEW, confidence=0.5), [], expected_revision=None)
        assert store.get_sighting(saved.id) == saved and saved.review is None
        with pytest.raises(UnknownSighting, match="unknown sighting 999"):
            store.get_sighting(999)

    def test_the_review_queue_is_the_undecided_candidates_oldest_first(self, store, ref_id):
        def put(page: str, first_seen: str, **changes: object) -> Sighting:
            fields = dict(page_url=page, first_seen=first_seen, last_seen=first_seen, verdict=Verdict.NEEDS_REVIEW, confidence=0.5)
            return store.save_sighting(sighting(ref_id, **{**fields, **changes}), [], expected_revision=None)

        late = put("http://h.example/late", "2026-03-05T00:00:00Z")
        early = put("http://h.example/early", "2026-03-01T00:00:00Z")
        put("http://h.example/match", "2026-02-01T00:00:00Z", verdict=Verdict.MATCH, confidence=0.9)  # not a candidate
        put("http://h.example/done", "2026-02-01T00:00:00Z", review=Review.REJECTED)  # decided
        store.ensure_case("c2")
        other_ref = store.add_reference("c2", IMAGE, "b" * 64, None, None, [PDQ]).id
        other = store.save_sighting(sighting(other_ref, case_id="c2", first_seen="2026-03-03T00:00:00Z",
                                             verdict=Verdict.NEEDS_REVIEW), [], expected_revision=None)  # fmt: skip
        assert store.awaiting_review("c1") == [early, late]
        assert store.awaiting_review() == [early, other, late]
        assert store.awaiting_review("c2") == [other]
        with pytest.raises(UnknownCase):
            store.awaiting_review("nope")

    def test_a_review_is_saved_with_its_sighting_and_allowlist_in_one_write(self, store, ref_id):
        candidate = store.save_sighting(sighting(ref_id, verdict=Verdict.NEEDS_REVIEW, confidence=0.5), [],
                                        expected_revision=None)  # fmt: skip
        at = "2026-03-02T00:00:00Z"
        review = ReviewDecision(candidate.id, "c1", ref_id, Review.REJECTED, "alice", at, "another cat")
        event = StatusEvent(candidate.id, at, Status.ONLINE, "rejected by analyst:alice: another cat")
        allow = [AllowEntry(ref_id, "sha256", "a" * 64), AllowEntry(ref_id, "pdq", "ab" * 32), AllowEntry(ref_id, "pdq", "ab" * 32)]
        stale = store.save_review(review, replace(candidate, review=Review.REJECTED), [event], allow,
                                  expected_revision=candidate.revision + 1)  # fmt: skip
        assert stale is None  # refused whole: no review, no allowlist, no event
        assert store.reviews() == [] and store.allowlist() == [] and store.status_history(candidate.id) == []
        saved = store.save_review(review, replace(candidate, review=Review.REJECTED), [event], allow,
                                  expected_revision=candidate.revision)  # fmt: skip
        assert saved is not None and saved.review is Review.REJECTED and saved.revision == candidate.revision + 1
        assert saved.rejected and not saved.actionable and store.awaiting_review() == []
        [stored] = store.reviews("c1")
        assert stored == replace(review, id=stored.id) and store.reviews("c2") == []
        assert store.allowlist() == [AllowEntry(ref_id, "pdq", "ab" * 32, stored.id), AllowEntry(ref_id, "sha256", "a" * 64, stored.id)]
        assert store.status_history(candidate.id) == [event]
        # The same entry from a later review: the first one stands.
        again = ReviewDecision(candidate.id, "c1", ref_id, Review.REJECTED, "bob", at, "again")
        assert store.save_review(again, saved, [], allow[:1], expected_revision=saved.revision) is not None
        assert [e.review_id for e in store.allowlist()] == [stored.id, stored.id]
        assert [r.actor for r in store.reviews()] == ["alice", "bob"]

    def test_a_withdrawn_case_loses_its_reviews_and_allowlist(self, store, ref_id):
        store.ensure_case("c2")
        kept_ref = store.add_reference("c2", IMAGE, "b" * 64, None, None, [PDQ]).id
        for ref, case in ((ref_id, "c1"), (kept_ref, "c2")):
            candidate = store.save_sighting(sighting(ref, case_id=case, verdict=Verdict.NEEDS_REVIEW), [], expected_revision=None)
            review = ReviewDecision(candidate.id, case, ref, Review.REJECTED, "alice", "2026-03-02T00:00:00Z", "no")
            store.save_review(review, replace(candidate, review=Review.REJECTED), [], [AllowEntry(ref, "sha256", "a" * 64)],
                              expected_revision=candidate.revision)  # fmt: skip
        assert store.withdraw_case("c1", "2026-03-03T00:00:00Z") == (1, 1)
        assert [r.case_id for r in store.reviews()] == ["c2"]
        assert [e.reference_id for e in store.allowlist()] == [kept_ref]

    def test_visit_journal_claims_each_page_once_within_the_budget(self, store):
        visit = store.open_visit("h-1", "h")
        assert store.open_visit("h-1", "h") == visit  # a second worker joins the same visit
        assert store.claim_page(visit.id, "http://h.example/", PageRole.START, 2)
        assert not store.claim_page(visit.id, "http://h.example/", PageRole.LINK, 2)
        assert store.claim_page(visit.id, "http://h.example/a", PageRole.LINK, 2)
        assert not store.claim_page(visit.id, "http://h.example/b", PageRole.LINK, 2)  # over budget
        store.release_page(visit.id)
        assert store.claim_page(visit.id, "http://h.example/b", PageRole.LINK, 2)
        assert not store.claim_page(visit.id, "http://h.example/c", PageRole.LINK, 2)
        assert store.claim_page(visit.id, "http://h.example/known", PageRole.RECHECK, None)  # outside the budget
        store.finish_page(PageVisit(visit.id, "http://h.example/", PageRole.START, ClaimState.DONE, 200, "http://h.example/",
                                    PageOutcome.ONLINE, None, {"title": {"value": "Home", "source": "html:title"}}))  # fmt: skip
        pending = store.pending_pages(visit.id)
        assert [(p.url, p.role) for p in pending] == [("http://h.example/a", PageRole.LINK), ("http://h.example/b", PageRole.LINK),
                                                      ("http://h.example/known", PageRole.RECHECK)]  # fmt: skip
        positions = [p.position for p in pending]
        assert positions == sorted(positions) and len(set(positions)) == 3  # claim order
        assert [p.url for p in store.pending_pages(visit.id, after=positions[0], limit=1)] == ["http://h.example/b"]
        assert store.pending_pages(visit.id, after=positions[-1]) == []
        assert [v.finished_at for v in store.visits("h", 5)] == [None]
        store.finish_visit(visit.id, VisitOutcome.FINISHED, {"pages": 3})
        [page] = [p for p in store.page_visits(visit.id) if p.state is ClaimState.DONE]
        assert page.metadata["title"]["source"] == "html:title" and page.outcome is PageOutcome.ONLINE
        [done] = store.visits("h", 5)
        assert (done.outcome, done.detail, done.pages) == (VisitOutcome.FINISHED, {"pages": 3}, 2)

    def test_links_and_validators(self, store):
        store.record_links("http://forum.example/t/1", [("http://tube.example/w/3", "tube"), ("http://x.example/", None)],
                           "2026-03-01T00:00:00Z")  # fmt: skip
        store.record_links("http://forum.example/t/1", [("http://tube.example/w/3", "tube")], "2026-03-05T00:00:00Z")
        [link] = store.links(["http://tube.example/w/3"])
        assert (link.from_host, link.to_site, link.first_seen, link.last_seen) == (
            "forum.example", "tube", "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z")
        store.record_links("http://tube.example/w/3", [("http://x.example/a", None)], "2026-03-02T00:00:00Z")
        outbound = store.links_from(["http://forum.example/t/1", "http://forum.example/t/1", "http://none.example/"])
        assert [(link.to_url, link.to_site) for link in outbound] == [("http://tube.example/w/3", "tube"), ("http://x.example/", None)]
        assert store.links_from([]) == []
        assert store.validators("http://h.example/m.jpg") is None
        v = Validators("http://h.example/m.jpg", '"e1"', None, "a" * 64, 200, "image/jpeg", "2026-03-01T00:00:00Z")
        store.put_validators(v)
        assert store.validators(v.url) == v

    def test_page_metadata_is_what_the_latest_visit_with_any_recorded(self, store):
        page = "http://tube.example/w/3"

        def read(visit_id: str, metadata: dict) -> None:
            store.open_visit(visit_id, "tube")
            store.finish_page(PageVisit(visit_id, page, PageRole.RECHECK, ClaimState.DONE, 200, page, PageOutcome.ONLINE,
                                        None, metadata))  # fmt: skip

        assert store.page_metadata([page]) == {}
        read("tube-1", {"uploader": {"value": "anon42", "source": "meta:author"}})
        read("tube-2", {"uploader": {"value": "anon43", "source": "meta:author"}})
        read("tube-3", {})  # a visit that found nothing (the page removed) leaves the last word standing
        store.open_visit("other-1", "other")
        store.finish_page(PageVisit("other-1", "http://other.example/", PageRole.START, ClaimState.DONE, 200, None,
                                    PageOutcome.ONLINE, None, {"title": {"value": "x", "source": "html:title"}}))  # fmt: skip
        found = store.page_metadata([page, "http://never.example/"])
        assert found == {page: {"uploader": {"value": "anon43", "source": "meta:author"}}}

    def test_a_page_reading_is_kept_and_replaced(self, store):
        url = "http://forum.example/t/1"
        assert store.page_reading(url) is None
        first = PageReading(url, '"e1"', None, "2026-03-01T00:00:00Z", {"format": 1, "links": ["http://forum.example/t/2"]})
        store.put_page_reading(first)
        assert store.page_reading(url) == first
        second = PageReading(url, None, "Sun, 01 Mar 2026 00:00:00 GMT", "2026-03-02T00:00:00Z", {"format": 1, "links": []})
        store.put_page_reading(second)
        assert store.page_reading(url) == second and store.page_reading("http://forum.example/t/2") is None

    def test_audit_events_are_appended_and_read_per_case(self, store):
        store.ensure_case("c1")
        event = AuditEvent("2026-03-01T10:00:00Z", "analyst", "export-hashes", "c1", {"hashes": 3})
        stored = store.log_event(event)
        store.log_event(AuditEvent("2026-03-01T11:00:00Z", "analyst", "reveal", None, {"sighting": 9}))
        assert stored.id is not None and store.audit_events("c1") == [stored]
        assert [e.action for e in store.audit_events()] == ["export-hashes", "reveal"]

    def test_users_are_added_once_read_by_name_and_rehashed(self, store):
        assert store.users() == [] and store.user("ana") is None
        ana = User("ana", Role.ANALYST, "$argon2id$one", "2026-03-01T10:00:00Z")
        assert store.add_user(ana) == ana
        assert store.add_user(User("ana", Role.ADMIN, "$argon2id$other", "2026-03-02T10:00:00Z")) is None  # taken
        store.add_user(User("abe", Role.VIEWER, "$argon2id$two", "2026-03-01T11:00:00Z"))
        assert store.user("ana") == ana and [u.name for u in store.users()] == ["abe", "ana"]
        assert store.set_password_hash("ana", "$argon2id$new") and store.user("ana").password_hash == "$argon2id$new"
        assert not store.set_password_hash("nobody", "$argon2id$x") and store.user("nobody") is None

    def test_an_accounts_choices_and_the_end_of_its_sessions_are_kept(self, store):
        store.add_user(User("ana", Role.ANALYST, "$argon2id$one", "2026-03-01T10:00:00Z"))
        assert (store.user("ana").blur, store.user("ana").daily_reveals, store.user("ana").sessions_from) == (12, None, None)
        assert store.set_user_choices("ana", blur=30, daily_reveals=5) and store.end_sessions("ana", "2026-03-02T09:00:00Z")
        assert (store.user("ana").blur, store.user("ana").daily_reveals, store.user("ana").sessions_from) == (30, 5, "2026-03-02T09:00:00Z")
        assert store.set_user_choices("ana", blur=8, daily_reveals=None) and store.user("ana").daily_reveals is None
        assert not store.set_user_choices("nobody", blur=8, daily_reveals=None) and not store.end_sessions("nobody", "2026-03-02T09:00:00Z")

    def test_a_case_is_restricted_to_named_accounts_and_opened_again(self, store):
        store.ensure_case("c1")
        store.ensure_case("c2")
        assert store.case_access() == {}
        store.restrict_case("c1", ["ana", "abe", "ana"])
        assert store.case_access() == {"c1": frozenset({"ana", "abe"})}
        store.restrict_case("c1", ["abe"])
        assert store.case_access() == {"c1": frozenset({"abe"})}
        store.restrict_case("c1", [])
        assert store.case_access() == {}

    def test_recent_audit_events_are_newest_first_filtered_and_paged(self, store):
        store.ensure_case("c1")
        for n, (actor, action) in enumerate([("ana", "reveal"), ("abe", "login"), ("ana", "reveal"), ("ana", "login")]):
            store.log_event(AuditEvent(f"2026-03-0{n + 1}T10:00:00Z", actor, action, "c1" if action == "reveal" else None, {"n": n}))
        assert [e.detail["n"] for e in store.recent_audit_events()] == [3, 2, 1, 0]
        assert [e.detail["n"] for e in store.recent_audit_events(actor="ana", action="reveal")] == [2, 0]
        assert [e.detail["n"] for e in store.recent_audit_events(case_id="c1", since="2026-03-02T00:00:00Z")] == [2]
        first = store.recent_audit_events(limit=2)
        assert [e.detail["n"] for e in first] == [3, 2]
        assert [e.detail["n"] for e in store.recent_audit_events(before_id=first[-1].id, limit=2)] == [1, 0]

    def test_writes_while_streaming_media_history_are_read_back(self, store, ref_id):
        for sha in ("a" * 64, "b" * 64):
            store.put_media(media(sha))
        written = [store.save_sighting(sighting(ref_id, sha256=sha, media_url=f"http://h.example/{sha[0]}.jpg"), [],
                                       expected_revision=None) for sha, _ in store.iter_media_signals()]  # fmt: skip
        assert [s.sha256 for s in written] == ["a" * 64, "b" * 64]
        assert store.sightings("c1") == written

    def test_everything_survives_reopening(self, store, store_uri, ref_id):
        store.put_media(media())
        store.append_observation(observation())
        store.save_sighting(sighting(ref_id), [], expected_revision=None)
        store.close()
        again = open_store(store_uri)
        try:
            assert [r.signals for r in again.references()] == [(PDQ,)]
            assert again.media_signals("a" * 64) == (PDQ, PHASH)
            assert again.observation_count() == 1 and len(again.sightings("c1")) == 1
        finally:
            again.close()

    def test_a_failed_write_is_rolled_back_and_a_closed_store_refuses_writes(self, store):
        store.ensure_case("c1")
        with pytest.raises(UnknownCase):
            store.add_reference("ghost", IMAGE, "b" * 64, None, None, [PDQ])
        assert store.references() == []  # nothing half-written
        store.close()
        with pytest.raises(StoreUnavailable, match="closed"):
            store.ensure_case("c2")

    def test_concurrent_writers_lose_nothing(self, store):
        def append(worker: int) -> None:
            for i in range(50):
                store.append_observation(observation(media_url=f"http://h.example/{worker}/{i}.jpg"))

        threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.observation_count() == 200


def test_unknown_store_uri_says_what_is_expected():
    with pytest.raises(StoreUnavailable, match="sqlite:///"):
        open_store("postgres://db/x")


def test_a_version_1_sqlite_store_is_migrated_in_place(tmp_path):
    """A store written by the foundation release (schema 1) opens, keeps its sightings, gains verdicts,
    a status time and a revision."""

    from tracker.stores.sqlite_schema import SCHEMA, SCHEMA_VERSION

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(f"{SCHEMA}; PRAGMA user_version = 1;")
    conn.execute("INSERT INTO cases VALUES ('c1', '2026-01-01T00:00:00Z')")
    conn.execute("INSERT INTO refs (id, case_id, kind, added_at) VALUES (1, 'c1', 'image', '2026-01-01T00:00:00Z')")
    conn.execute(
        "INSERT INTO sightings (case_id, reference_id, media_url, page_url, host, first_seen, last_seen, status,"
        " distance, decided_by, signals) VALUES ('c1', 1, 'http://h/m', 'http://h/p', 'h', 't', 't', 'online', 3,"
        " 'pdq', '[]')"
    )
    conn.commit()
    conn.close()
    store = open_store(f"sqlite:///{path}")
    try:
        [old] = store.sightings("c1")
        assert (old.distance, old.verdict, old.confidence, old.status_at, old.revision) == (3, Verdict.MATCH, None, "t", 1)
        assert old.review is None and store.awaiting_review() == [] and store.allowlist() == []
        assert [e.reason for e in store.status_history(old.id)] == ["first seen"]
        store.log_event(AuditEvent("t", "a", "export-hashes", "c1", {}))
    finally:
        store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_processes_opening_a_new_sqlite_store_at_once_build_it_once(tmp_path):
    """Distributed workers started together on a fresh home: each must open the store, none fail on tables
    another made first."""
    from tracker.stores.sqlite_schema import SCHEMA_VERSION

    path = tmp_path / "fresh.db"
    opener = (
        "import sys, time; from tracker.stores import open_store\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"  # start together
        "open_store('sqlite:///' + sys.argv[1]).close()\n"
    )
    start = str(time.time() + 3)
    workers = [subprocess.Popen([sys.executable, "-c", opener, str(path), start], stderr=subprocess.PIPE, text=True)
               for _ in range(4)]  # fmt: skip
    failures = [p.stderr.read() for p in workers if p.wait() != 0]
    assert failures == []
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
