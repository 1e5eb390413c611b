from __future__ import annotations

import random

import pytest

from matcher.index import LinearIndex


def test_query_returns_exactly_the_entries_within_distance_nearest_first():
    rng = random.Random(3)
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(500)]
    index = LinearIndex(256, ((h, i) for i, h in enumerate(hashes)))
    probe = int(hashes[42], 16) ^ 0b1011  # three bits away from entry 42
    hashes.append(f"{probe ^ (1 << 200):064x}")  # one bit from the probe: entry 500
    index.add(hashes[-1], 500)
    query = f"{probe:064x}"
    expected = sorted(
        (bin(int(h, 16) ^ probe).count("1"), i) for i, h in enumerate(hashes) if bin(int(h, 16) ^ probe).count("1") <= 100
    )
    found = [(m.distance, m.entry) for m in index.query(query, 100)]
    assert found == expected
    assert found[:2] == [(1, 500), (3, 42)]
    assert [m.entry for m in index.query(query, 2)] == [500]


def test_empty_index_and_width_checks():
    index: LinearIndex[int] = LinearIndex(64)
    assert index.query("0" * 16, 64) == []
    with pytest.raises(ValueError, match="64-bit"):
        index.add("0" * 64, 1)
    with pytest.raises(ValueError):
        LinearIndex(60)
