from __future__ import annotations

import pytest

from matcher import hash_media
from simsites.corpus import TRANSFORMS, encode, sample_image
from tests.test_tracker_store_contract import observation
from tracker import Tracker, open_store


@pytest.fixture
def tracker(tmp_path, policy):
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield Tracker(store, policy)
    store.close()


def test_observed_copy_becomes_a_sighting_with_its_signals(tracker, hash_options):
    tracker.store.ensure_case("c1")
    reference = tracker.add_reference("c1", hash_media(encode(sample_image("rocket"), "PNG"), hash_options, reference=True), "r.png")
    copy = hash_media(TRANSFORMS["resized"].apply(sample_image("rocket"))[0], hash_options)
    tracker.record_media(copy)
    [found] = tracker.observe(observation(sha256=copy.sha256, claimed_at="2026-01-01T00:00:00Z"))
    assert (found.case_id, found.reference_id, found.decided_by) == ("c1", reference.id, "pdq")
    assert found.claimed_at == "2026-01-01T00:00:00Z"
    assert {s["kind"] for s in found.signals} == {"pdq", "phash", "dhash"}
    assert found.verdict == "match" and found.confidence is not None and found.confidence >= 0.7
    unrelated = hash_media(encode(sample_image("coins")), hash_options)
    tracker.record_media(unrelated)
    assert tracker.observe(observation(sha256=unrelated.sha256, media_url="http://h.example/x.jpg")) == []
    assert tracker.store.observation_count() == 2  # every observation is kept, matched or not


def test_a_case_opened_later_finds_copies_crawled_before(tracker, hash_options):
    """Retroactive matching: the first appearance can predate the report."""
    copy = hash_media(TRANSFORMS["mirrored"].apply(sample_image("chelsea"))[0], hash_options)
    tracker.record_media(copy)
    tracker.observe(observation(sha256=copy.sha256, observed_at="2025-11-01T00:00:00Z"))
    assert tracker.store.list_cases() == []

    tracker.store.ensure_case("late")
    reference = tracker.add_reference("late", hash_media(encode(sample_image("chelsea"), "PNG"), hash_options, reference=True), None)
    assert tracker.store.sightings("late") == []  # not yet: history is matched once per batch
    [found] = tracker.match_history([reference])
    assert found.first_seen == "2025-11-01T00:00:00Z" and found.case_id == "late"
    assert tracker.match_history([reference]) == [found]  # again: the same sighting, not a duplicate
    assert len(tracker.store.sightings("late")) == 1


def test_errored_and_unhashable_observations_make_no_sighting(tracker, hash_options):
    tracker.store.ensure_case("c1")
    tracker.add_reference("c1", hash_media(encode(sample_image("coffee"), "PNG"), hash_options, reference=True), None)
    tracker.record_unhashable("e" * 64, 0, "empty file (0 bytes)")
    assert tracker.media_state("e" * 64).error == "empty file (0 bytes)"
    assert tracker.observe(observation(sha256="e" * 64, error="empty file (0 bytes)")) == []
    assert tracker.observe(observation(sha256=None, http_status=404, error="HTTP 404")) == []
