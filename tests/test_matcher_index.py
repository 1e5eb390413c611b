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


# -- the multi-index (MultiIndex): exact like the linear scan, at any size -------------------------

import numpy as np  # noqa: E402

from matcher.index.multi import MultiIndex  # noqa: E402


def _near(rng: np.random.Generator, code: np.ndarray, bits: int) -> np.ndarray:
    """``code`` with exactly ``bits`` bits flipped."""
    flipped = np.unpackbits(code).copy()
    flipped[rng.choice(len(flipped), bits, replace=False)] ^= 1
    return np.packbits(flipped)


def _brute(codes: np.ndarray, ids: np.ndarray, query: np.ndarray, radius: int) -> list[tuple[int, int]]:
    distances = np.bitwise_count(codes ^ query).sum(axis=1)
    return sorted((int(i), int(d)) for i, d in zip(ids, distances, strict=True) if d <= radius)


@pytest.fixture(scope="module")
def planted():
    """20,000 random PDQ-sized codes, and queries at distances 0-40 from some of them."""
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    ids = np.arange(20_000, dtype=np.int64) * 3 + 5  # ids are not positions
    queries = np.stack([_near(rng, codes[i * 97], d) for i, d in enumerate(range(0, 41))])
    return codes, ids, queries


@pytest.mark.parametrize("tables", [True, False], ids=["probed", "scanned"])
def test_multi_index_finds_exactly_what_a_brute_force_scan_finds(planted, tables):
    codes, ids, queries = planted
    index = MultiIndex(table_threshold=1_000 if tables else 10**9)
    index.add(ids[:15_000], codes[:15_000])
    index.add(ids[15_000:], codes[15_000:])  # the tail beyond the tables is scanned
    results = index.search(queries, 31, threads=2)
    for query, found in zip(queries, results, strict=True):
        assert sorted(found) == _brute(codes, ids, query, 31)
    found_distances = [d for found in results for _, d in found]
    assert found_distances and max(found_distances) <= 31
    assert sum(1 for found in results if found) == 32  # queries at distance 0..31 each find their code


def test_multi_index_removes_without_rebuilding_and_survives_a_round_trip(planted, tmp_path):
    codes, ids, queries = planted
    index = MultiIndex(table_threshold=1_000)
    index.add(ids, codes)
    target = int(ids[5 * 97])
    assert target in [i for i, _ in index.search(queries[5:6], 31)[0]]
    assert index.remove([target, 999_999_999]) == 1
    assert index.search(queries[5:6], 31)[0] == []
    assert len(index) == len(ids) - 1

    index.save(tmp_path / "pdq")
    loaded = MultiIndex.load(tmp_path / "pdq", mmap=True)
    assert len(loaded) == len(index)
    assert loaded.search(queries, 31) == index.search(queries, 31)
    loaded.add([1], queries[5:6])  # the removed code, back under a new id
    assert loaded.search(queries[5:6], 0)[0] == [(1, 0)]


def test_multi_index_results_are_nearest_first_and_radius_beyond_the_tables_is_still_exact(planted):
    codes, ids, queries = planted
    index = MultiIndex(table_threshold=1_000)
    index.add(ids, codes)
    query = codes[:1].copy()
    [found] = index.search(query, 110)  # a radius this wide falls back to the scan
    assert found == sorted(_brute(codes, ids, query[0], 110), key=lambda hit: (hit[1], hit[0]))
    assert found[0] == (int(ids[0]), 0)
