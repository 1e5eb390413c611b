"""Match indexes: one contract for every `MatchIndex`, then each implementation against brute force."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from matcher.index import DescriptorIndex, MatchIndex, MultiIndex
from matcher.index.descriptors import RATIO
from matcher.matchers import signal_matchers


def _near(rng: np.random.Generator, code: np.ndarray, bits: int) -> np.ndarray:
    """``code`` with exactly ``bits`` bits flipped."""
    flipped = np.unpackbits(code).copy()
    flipped[rng.choice(len(flipped), bits, replace=False)] ^= 1
    return np.packbits(flipped)


def _distances(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    return np.bitwise_count(codes ^ query).sum(axis=1)


def _brute(codes: np.ndarray, ids: np.ndarray, query: np.ndarray, radius: int) -> list[tuple[int, int]]:
    return sorted((int(i), int(d)) for i, d in zip(ids, _distances(codes, query), strict=True) if d <= radius)


# -- the contract: every implementation ----------------------------------------------------------

IMPLEMENTATIONS: dict[str, Callable[[], MatchIndex]] = {
    "multi-scanned": lambda: MultiIndex(256, table_threshold=10**9),
    "multi-probed": lambda: MultiIndex(256, table_threshold=1_000),  # tables once past 10,000 rows
    "descriptors": lambda: DescriptorIndex(256),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_index(request) -> Callable[[], MatchIndex]:
    return IMPLEMENTATIONS[request.param]


@pytest.fixture(scope="module")
def rows():
    """12,000 random 256-bit rows under ids that are not positions, four rows to an id."""
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 256, (12_000, 32), dtype=np.uint8)
    ids = (np.arange(12_000, dtype=np.int64) // 4) * 7 + 3
    return codes, ids


def _filled(make_index, rows) -> MatchIndex:
    codes, ids = rows
    index = make_index()
    index.add(ids[:8_000], codes[:8_000])
    index.add(ids[8_000:], codes[8_000:])
    return index


def test_an_index_is_a_match_index(make_index):
    assert isinstance(make_index(), MatchIndex)


def test_an_empty_index_finds_nothing(make_index, rows):
    codes, _ = rows
    index = make_index()
    assert len(index) == 0
    assert index.search(codes[:3], 64) == [[], [], []]
    assert index.remove([3]) == 0


def test_every_row_finds_its_own_id_at_distance_zero(make_index, rows):
    codes, ids = rows
    index = _filled(make_index, rows)
    assert len(index) == len(codes)
    picked = [0, 1, 4_321, 7_999, 8_000, 11_999]
    for position, found in zip(picked, index.search(codes[picked], 31), strict=True):
        assert found[0] == (int(ids[position]), 0)


def test_answers_are_true_within_the_radius_and_nearest_first(make_index, rows):
    codes, ids = rows
    rng = np.random.default_rng(12)
    index = _filled(make_index, rows)
    queries = np.stack([_near(rng, codes[i * 250], i) for i in range(41)] + [codes[5] ^ 0xFF])
    for query, found in zip(queries, index.search(queries, 40), strict=True):
        distances = [d for _, d in found]
        assert distances == sorted(distances) and all(d <= 40 for d in distances)
        for found_id, distance in found:  # some row under that id lies exactly that far away
            assert distance in _distances(codes[ids == found_id], query)


def test_a_clearly_nearest_row_within_the_radius_is_found_first(make_index, rows):
    codes, ids = rows
    rng = np.random.default_rng(13)
    index = _filled(make_index, rows)
    queries = np.stack([_near(rng, codes[i * 401], i) for i in range(25)])
    for distance, found in enumerate(index.search(queries, 31)):
        assert found[0] == (int(ids[distance * 401]), distance)


def test_remove_forgets_every_row_under_the_ids(make_index, rows):
    codes, ids = rows
    index = _filled(make_index, rows)
    target = int(ids[40])  # four rows: 40, 41, 42, 43
    assert index.remove([target, 999_999]) == 4
    assert len(index) == len(codes) - 4
    assert all(target not in [i for i, _ in found] for found in index.search(codes[40:44], 31))
    assert index.remove([target]) == 0
    index.add([5], codes[41:42])  # a removed row, back under another id
    assert index.search(codes[41:42], 0) == [[(5, 0)]]


def test_every_indexed_signal_type_uses_a_match_index(policy):
    matchers = signal_matchers(policy)
    indexes = {m.kind: m.index for m in matchers}
    assert sorted(indexes) == ["dhash", "orb", "pdq", "phash", "spectrum", "videohash", "vpdq"]
    # Compared, never searched: dHash and videohash with the candidates others propose; spectrum
    # signatures, few, one by one.
    unindexed = ("dhash", "videohash", "spectrum")
    assert all(indexes[kind] is None for kind in unindexed)
    assert all(isinstance(index, MatchIndex) for kind, index in indexes.items() if kind not in unindexed)


# -- MultiIndex: exact range search, like a linear scan, at any size --------------------------------


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


# -- DescriptorIndex: the nearest row's owner, when clearly nearest ---------------------------------


def _nearest_owner(codes: np.ndarray, owners: np.ndarray, query: np.ndarray, radius: int) -> list[tuple[int, int]]:
    distances = _distances(codes, query)
    first, second = np.argsort(distances, kind="stable")[:2]
    owner, nearest = int(owners[first]), int(distances[first])
    clear = nearest < RATIO * distances[second] or owners[second] == owner
    return [(owner, nearest)] if clear and nearest <= radius else []


def test_descriptor_index_answers_as_a_brute_force_nearest_owner_search():
    rng = np.random.default_rng(17)
    codes = rng.integers(0, 256, (4_000, 32), dtype=np.uint8)
    owners = rng.integers(0, 40, 4_000).astype(np.int64)
    codes[1::50] = [_near(rng, code, 2) for code in codes[::50]]  # a twin of the same owner (as is, mirrored)
    owners[1::50] = owners[::50]
    codes[2::50] = [_near(rng, code, 3) for code in codes[::50]]  # a near twin of another owner: ambiguous
    owners[2::50] = owners[::50] + 1
    queries = np.stack(
        [_near(rng, codes[i], d) for i, d in zip(range(0, 4_000, 7), np.resize(np.arange(0, 90, 3), 572), strict=True)]
    )
    index = DescriptorIndex(256)
    index.add(owners, codes)
    found = index.search(queries, 72)
    assert found == [_nearest_owner(codes, owners, query, 72) for query in queries]
    assert sum(1 for hits in found if hits) > 100 and sum(1 for hits in found if not hits) > 100
