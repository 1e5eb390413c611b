from __future__ import annotations

from tests.test_tracker_store_contract import sighting
from tracker.spread import first_appearance, spread


def test_first_appearance_uses_a_claimed_time_only_when_it_is_earlier():
    observed_first = sighting(1, id=1, host="a.example", first_seen="2026-01-01T00:00:00Z")
    claimed_earlier = sighting(1, id=2, host="b.example", first_seen="2026-03-01T00:00:00Z",
                               claimed_at="2025-12-24T00:00:00Z", claimed_source="json-ld:uploadDate")  # fmt: skip
    claimed_later = sighting(1, id=3, host="c.example", first_seen="2026-01-02T00:00:00Z",
                             claimed_at="2026-06-01T00:00:00Z", claimed_source="html:time")  # fmt: skip
    assert claimed_later.appeared == ("2026-01-02T00:00:00Z", "observed")  # a claim after our sighting is no help
    first = first_appearance([observed_first, claimed_earlier, claimed_later])
    assert first is claimed_earlier and first.appeared == ("2025-12-24T00:00:00Z", "claimed")
    assert first_appearance([]) is None


def test_spread_lists_hosts_in_order_of_first_appearance_with_counts():
    sightings = [
        sighting(1, id=1, host="forum.example", first_seen="2026-02-01T00:00:00Z"),
        sighting(1, id=2, host="board.example", first_seen="2026-01-01T00:00:00Z"),
        sighting(2, id=3, host="forum.example", first_seen="2026-01-15T00:00:00Z"),
        sighting(2, id=4, host="board.example", first_seen="2026-03-01T00:00:00Z"),
    ]
    hosts = spread(sightings)
    assert [(h.host, h.first_appeared, h.sighting_count) for h in hosts] == [
        ("board.example", "2026-01-01T00:00:00Z", 2),
        ("forum.example", "2026-01-15T00:00:00Z", 2),
    ]
    assert hosts[1].first_sighting_id == 3
