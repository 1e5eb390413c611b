"""The Store contract. Every backend runs the same tests; SQLite always."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from matcher import ContentKind, MediaHashes, Signal
from tracker import AuditEvent, Observation, Sighting, UnknownCase, open_store
from tracker.errors import InvalidCaseName, StoreUnavailable
from tracker.models import PageVisit, Validators

PDQ = Signal("pdq", "ab" * 32, 1, 90)
PHASH = Signal("phash", "cd" * 8, 1, None, "flip_h")


def media(sha: str = "a" * 64) -> MediaHashes:
    return MediaHashes(sha, "m" * 32, 1234, ContentKind.IMAGE, 640, 480, (PDQ, PHASH))


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
        first_seen="2026-03-01T10:00:00Z", last_seen="2026-03-01T10:00:00Z", status="online", distance=4,
        decided_by="pdq", signals=({"kind": "pdq", "distance": 4},),
    )  # fmt: skip
    fields.update(changes)
    return Sighting(**fields)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite"])
def store_uri(request, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(store_uri):
    s = open_store(store_uri)
    yield s
    s.close()


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

    def test_references_keep_hashes_with_algorithm_version_and_variant(self, store):
        store.ensure_case("c1")
        ref = store.add_reference("c1", "image", "a" * 64, "m" * 32, "photo.jpg", [PDQ, PHASH])
        assert ref is not None
        assert store.add_reference("c1", "image", "a" * 64, "m" * 32, "again.jpg", [PDQ]) is None  # same bytes
        [stored] = store.references("c1")
        assert stored.signals == (PDQ, PHASH) and stored.label == "photo.jpg"
        assert store.get_case("c1").reference_count == 1
        with pytest.raises(UnknownCase):
            store.add_reference("ghost", "image", "b" * 64, None, None, [PDQ])

    def test_media_is_known_by_sha256(self, store):
        assert store.media_signals("a" * 64) is None
        store.put_media(media())
        store.put_media(media())  # a second hash of the same bytes changes nothing
        assert store.media_signals("a" * 64) == (PDQ, PHASH)
        store.put_unhashable("b" * 64, 10, "empty file (0 bytes)")
        assert store.media_signals("b" * 64) == "empty file (0 bytes)"
        assert list(store.iter_media_signals()) == [("a" * 64, (PDQ, PHASH))]

    def test_observations_are_appended(self, store):
        first = store.append_observation(observation())
        second = store.append_observation(observation(observed_at="2026-03-02T10:00:00Z"))
        assert first.id is not None and second.id is not None and first.id != second.id
        assert store.observations_of("a" * 64) == [first, second]
        assert store.observation_count() == 2

    def test_sighting_upsert_widens_the_window_and_keeps_the_earliest_claim(self, store):
        store.ensure_case("c1")
        ref = store.add_reference("c1", "image", "a" * 64, None, None, [PDQ])
        first = store.upsert_sighting(sighting(ref.id, claimed_at="2026-02-01T00:00:00Z", claimed_source="html:time"))
        later = store.upsert_sighting(
            sighting(ref.id, first_seen="2026-03-05T00:00:00Z", last_seen="2026-03-05T00:00:00Z",
                     claimed_at="2026-02-03T00:00:00Z", claimed_source="json-ld:uploadDate")
        )  # fmt: skip
        assert later.id == first.id
        assert (later.first_seen, later.last_seen) == ("2026-03-01T10:00:00Z", "2026-03-05T00:00:00Z")
        assert (later.claimed_at, later.claimed_source) == ("2026-02-01T00:00:00Z", "html:time")
        assert store.sightings("c1") == [later]
        assert later.signals == ({"kind": "pdq", "distance": 4},)

    def test_status_moves_with_its_history_and_a_stale_observation_cannot_move_it(self, store):
        store.ensure_case("c1")
        ref = store.add_reference("c1", "image", "a" * 64, None, None, [PDQ])
        seen = store.upsert_sighting(sighting(ref.id))
        assert store.set_status(seen.id, "online", "2026-03-02T00:00:00Z", "media matches", None) is None
        removed = store.set_status(seen.id, "removed", "2026-03-03T00:00:00Z", "page removed: HTTP 404", 7)
        assert removed is not None and removed.observation_id == 7
        assert store.set_status(seen.id, "online", "2026-03-02T12:00:00Z", "late worker", None) is None
        back = store.set_status(seen.id, "online", "2026-03-04T00:00:00Z", "media matches", None)
        assert back is not None and back.status == "reappeared"
        history = [(e.status, e.reason) for e in store.status_history(seen.id)]
        assert history == [("online", "first seen"), ("removed", "page removed: HTTP 404"), ("reappeared", "media matches")]
        assert [s.status for s in store.sightings_at(seen.page_url, seen.media_url)] == ["reappeared"]
        assert store.sightings_of_site("h") == store.sightings("c1")

    def test_one_observation_per_visit_page_and_media(self, store):
        first = store.append_observation(observation(visit_id="v1"))
        again = store.append_observation(observation(visit_id="v1", observed_at="2026-03-01T11:00:00Z"))
        assert again == first and store.observation_count() == 1
        store.append_observation(observation(visit_id="v2"))
        store.append_observation(observation())  # outside any visit (a scan): always appended
        assert store.observation_count() == 3

    def test_visit_journal_claims_each_page_once_within_the_budget_and_resumes(self, store):
        visit = store.begin_visit("h")
        assert store.claim_page(visit.id, "http://h.example/", "start", 2)
        assert not store.claim_page(visit.id, "http://h.example/", "link", 2)
        assert store.claim_page(visit.id, "http://h.example/a", "link", 2)
        assert not store.claim_page(visit.id, "http://h.example/b", "link", 2)  # over budget
        assert store.claim_page(visit.id, "http://h.example/known", "recheck", None)  # re-checks always
        store.finish_page(PageVisit(visit.id, "http://h.example/", "start", "done", 200, "http://h.example/", "online",
                                    None, {"title": {"value": "Home", "source": "html:title"}}))  # fmt: skip
        assert store.pending_pages(visit.id) == [("http://h.example/a", "link"), ("http://h.example/known", "recheck")]
        assert store.begin_visit("h").id == visit.id  # unfinished: resumed
        assert store.begin_visit("h", resume=False).id != visit.id
        store.finish_visit(visit.id, "finished", {"pages": 3})
        [page] = [p for p in store.page_visits(visit.id) if p.state == "done"]
        assert page.metadata["title"]["source"] == "html:title"
        assert store.visits("h", 5)[-1].detail == {"pages": 3}

    def test_links_and_validators(self, store):
        store.record_links("http://forum.example/t/1", [("http://tube.example/w/3", "tube"), ("http://x.example/", None)],
                           "2026-03-01T00:00:00Z")  # fmt: skip
        store.record_links("http://forum.example/t/1", [("http://tube.example/w/3", "tube")], "2026-03-05T00:00:00Z")
        [link] = store.links(["http://tube.example/w/3"])
        assert (link.from_host, link.to_site, link.first_seen, link.last_seen) == (
            "forum.example", "tube", "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z")
        assert store.validators("http://h.example/m.jpg") is None
        v = Validators("http://h.example/m.jpg", '"e1"', None, "a" * 64, 200, "image/jpeg", "2026-03-01T00:00:00Z")
        store.put_validators(v)
        assert store.validators(v.url) == v

    def test_verdict_is_upgraded_to_match_and_keeps_the_best_confidence(self, store):
        store.ensure_case("c1")
        ref = store.add_reference("c1", "image", "a" * 64, None, None, [PDQ])
        review = store.upsert_sighting(sighting(ref.id, verdict="needs_review", confidence=0.4))
        assert (review.verdict, review.confidence) == ("needs_review", 0.4)
        confirmed = store.upsert_sighting(sighting(ref.id, verdict="match", confidence=0.9))
        again = store.upsert_sighting(sighting(ref.id, verdict="needs_review", confidence=0.3))
        assert (confirmed.verdict, again.verdict, again.confidence) == ("match", "match", 0.9)

    def test_audit_events_are_appended_and_read_per_case(self, store):
        store.ensure_case("c1")
        event = AuditEvent("2026-03-01T10:00:00Z", "analyst", "export-hashes", "c1", {"hashes": 3})
        stored = store.log_event(event)
        store.log_event(AuditEvent("2026-03-01T11:00:00Z", "analyst", "reveal", None, {"sighting": 9}))
        assert stored.id is not None and store.audit_events("c1") == [stored]
        assert [e.action for e in store.audit_events()] == ["export-hashes", "reveal"]

    def test_writes_while_streaming_media_history_are_read_back(self, store):
        store.ensure_case("c1")
        ref = store.add_reference("c1", "image", "a" * 64, None, None, [PDQ])
        for sha in ("a" * 64, "b" * 64):
            store.put_media(media(sha))
        written = [store.upsert_sighting(sighting(ref.id, sha256=sha, media_url=f"http://h.example/{sha[0]}.jpg"))
                   for sha, _ in store.iter_media_signals()]  # fmt: skip
        assert [s.sha256 for s in written] == ["a" * 64, "b" * 64]
        assert store.sightings("c1") == written

    def test_everything_survives_reopening(self, store, store_uri):
        store.ensure_case("c1")
        ref = store.add_reference("c1", "image", "a" * 64, None, None, [PDQ])
        store.put_media(media())
        store.append_observation(observation())
        store.upsert_sighting(sighting(ref.id))
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
            store.add_reference("ghost", "image", "b" * 64, None, None, [PDQ])
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
    """A store written by the foundation release (schema 1) opens, keeps its sightings, gains verdicts."""
    import sqlite3

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
        assert (old.distance, old.verdict, old.confidence) == (3, "match", None)
        store.log_event(AuditEvent("t", "a", "export-hashes", "c1", {}))
    finally:
        store.close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
