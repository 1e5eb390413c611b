"""Sightings through the Tracker, on real hashes: one copy per page and bytes, histories replayed for a case
opened late, and writers racing on the same copy."""

from __future__ import annotations

import pytest

from matcher import hash_media
from simsites.corpus import TRANSFORMS, encode, sample_image
from tests.test_tracker_store_contract import observation
from tracker import PageState, Status, Tracker, open_store

PAGE, OTHER_PAGE = "http://h.example/p/1", "http://h.example/p/2"
URL = "http://h.example/m.jpg"


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def reference_hashes(hash_options):
    return hash_media(encode(sample_image("rocket"), "PNG"), hash_options, reference=True)


@pytest.fixture(scope="module")
def copy_hashes(hash_options):
    return hash_media(TRANSFORMS["reencoded"].apply(sample_image("rocket"))[0], hash_options)


@pytest.fixture
def tracker(store, policy, reference_hashes, copy_hashes):
    tracker = Tracker(store, policy)
    store.ensure_case("c1")
    tracker.add_reference("c1", reference_hashes, "rocket.png")
    tracker.record_media(copy_hashes)
    return tracker


def seen(copy_hashes, at: str, **changes: object):
    return observation(**{"observed_at": at, "sha256": copy_hashes.sha256, "page_url": PAGE, "media_url": URL, **changes})


def history(store, sighting_id: int) -> list[tuple[str, Status]]:
    return [(e.at, e.status) for e in store.status_history(sighting_id)]


def test_the_same_bytes_under_a_cache_busting_url_are_one_sighting_per_page(tracker, store, copy_hashes):
    [first] = tracker.observe(seen(copy_hashes, "2026-03-01T00:00:00Z"))
    [again] = tracker.observe(seen(copy_hashes, "2026-03-02T00:00:00Z", media_url=URL + "?20261122"))
    assert again.id == first.id and again.media_url == URL and again.last_seen == "2026-03-02T00:00:00Z"
    [elsewhere] = tracker.observe(seen(copy_hashes, "2026-03-03T00:00:00Z", page_url=OTHER_PAGE))
    assert elsewhere.id != first.id  # the same file on another page is another publication
    assert len(store.sightings("c1")) == 2


def test_a_copy_back_under_another_url_has_reappeared(tracker, store, copy_hashes):
    [copy] = tracker.observe(seen(copy_hashes, "2026-03-01T00:00:00Z"))
    tracker.observe(seen(copy_hashes, "2026-03-02T00:00:00Z", page_state=PageState.GONE, note="page is up but no longer shows it"))
    tracker.observe(seen(copy_hashes, "2026-03-03T00:00:00Z", media_url=URL + "?v=2"))
    assert history(store, copy.id) == [("2026-03-01T00:00:00Z", Status.ONLINE), ("2026-03-02T00:00:00Z", Status.REMOVED),
                                       ("2026-03-03T00:00:00Z", Status.REAPPEARED)]  # fmt: skip
    assert len(store.sightings("c1")) == 1


def test_a_case_opened_late_gets_each_copy_with_the_status_its_history_shows(store, policy, reference_hashes, copy_hashes):
    tracker = Tracker(store, policy)
    tracker.record_media(copy_hashes)
    tracker.observe(seen(copy_hashes, "2026-03-01T00:00:00Z"))
    tracker.observe(seen(copy_hashes, "2026-03-05T00:00:00Z", page_state=PageState.GONE, note="page is up but no longer shows it"))
    tracker.observe(observation(observed_at="2026-03-09T00:00:00Z", page_url=PAGE, media_url=URL, sha256=None,
                                http_status=404, error="HTTP 404"))  # fmt: skip
    # Seen only on a page that no longer showed it: evidence of a removal, not of a copy.
    tracker.observe(seen(copy_hashes, "2026-03-05T00:00:00Z", page_url=OTHER_PAGE, page_state=PageState.GONE))

    store.ensure_case("late")
    reference = tracker.add_reference("late", reference_hashes, "rocket.png")
    [found] = tracker.match_history([reference])
    assert (found.page_url, found.first_seen, found.status, found.status_at) == (PAGE, "2026-03-01T00:00:00Z", Status.REMOVED, "2026-03-05T00:00:00Z")
    assert history(store, found.id) == [("2026-03-01T00:00:00Z", Status.ONLINE), ("2026-03-05T00:00:00Z", Status.REMOVED)]
    assert tracker.match_history([reference]) == [found]  # again: nothing new, nothing written


class RacingStore:
    """A real store whose next sighting write is preceded by another writer's (a second worker process
    recording the same copy between this writer's read and its write)."""

    def __init__(self, store, rival) -> None:
        self._store, self._rival, self.raced = store, rival, 0

    def __getattr__(self, name):
        return getattr(self._store, name)

    def save_sighting(self, sighting, events, *, expected_revision):
        rival, self._rival = self._rival, None
        if rival is not None:
            rival()
            self.raced += 1
        return self._store.save_sighting(sighting, events, expected_revision=expected_revision)


def test_a_write_that_lost_a_race_is_decided_again_on_what_the_winner_stored(tmp_path, policy, reference_hashes, copy_hashes):
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    setup = Tracker.open(uri, policy)
    setup.store.ensure_case("c1")
    setup.add_reference("c1", reference_hashes, "rocket.png")
    setup.record_media(copy_hashes)
    [copy] = setup.observe(seen(copy_hashes, "2026-03-01T00:00:00Z", claimed_at="2026-02-10T00:00:00Z", claimed_source="html:time"))
    other = Tracker.open(uri, policy)  # the other worker, with its own connection and writer

    def rival_sees_it_removed() -> None:
        other.observe(seen(copy_hashes, "2026-03-04T00:00:00Z", page_state=PageState.REMOVED, note="page removed: HTTP 404"))

    racing = RacingStore(open_store(uri), rival_sees_it_removed)
    late = Tracker(racing, policy)  # type: ignore[arg-type]
    [merged] = late.observe(seen(copy_hashes, "2026-03-03T00:00:00Z", claimed_at="2026-02-01T00:00:00Z", claimed_source="json-ld:uploadDate"))
    assert racing.raced == 1
    [stored] = setup.store.sightings("c1")
    assert stored.id == copy.id == merged.id and stored.revision == 3  # first seen, the rival's removal, the merge
    # Both writes count: the rival's removal (a newer observation) stands, the merge widened the window.
    assert (stored.status, stored.status_at, stored.last_seen) == (Status.REMOVED, "2026-03-04T00:00:00Z", "2026-03-03T00:00:00Z")
    assert (stored.claimed_at, stored.claimed_source) == ("2026-02-01T00:00:00Z", "json-ld:uploadDate")
    assert history(setup.store, copy.id) == [("2026-03-01T00:00:00Z", Status.ONLINE), ("2026-03-04T00:00:00Z", Status.REMOVED)]
    for t in (setup, other):
        t.close()
    racing.close()
