"""Whose stored descriptor is nearest each query descriptor? Exact Hamming nearest neighbours (FAISS).

Local-feature voting (`matcher.matchers.orb`) asks this of every keypoint of a picture: each keypoint
whose nearest reference descriptor is clearly nearest votes for that descriptor's owner. FAISS's flat
binary index compares every row, so the answer is exact, over all references at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import faiss
import numpy as np

# Lowe's ratio: a nearest neighbour counts only when nearer than this share of the second nearest.
RATIO = 0.8


class DescriptorIndex:
    """Binary descriptors of ``bits`` bits, each under its owner's id; a `MatchIndex` of nearest owners.

    A query row gets at most one pair: its nearest row's owner and distance, when that distance is within
    ``max_distance`` and the row is clearly nearest, that is nearer than RATIO times the second nearest,
    or the second nearest has the same owner (a reference's as-is and mirrored keypoints often coincide,
    and agreeing with itself is no ambiguity). Range search, as `MultiIndex` does, would be the wrong
    question here: at ORB's noise level a keypoint has many far neighbours and says nothing through them.
    """

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._index = faiss.IndexBinaryFlat(bits)
        # Owner of each row, kept as parts joined on first use: joining on every add would copy the whole
        # array once per reference while a tracker loads thousands of them.
        self._owner_parts: list[np.ndarray] = []

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Sequence[int] | np.ndarray, items: np.ndarray) -> None:
        items = np.ascontiguousarray(items, dtype=np.uint8).reshape(-1, self.bits // 8)
        owners = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(owners) != len(items):
            raise ValueError(f"{len(owners)} ids for {len(items)} descriptors")
        if not len(items):
            return
        self._index.add(items)
        self._owner_parts.append(owners)

    def _owners(self) -> np.ndarray:
        if len(self._owner_parts) != 1:
            self._owner_parts = [np.concatenate(self._owner_parts or [np.zeros(0, np.int64)])]
        return self._owner_parts[0]

    def remove(self, ids: Iterable[int]) -> int:
        owners = self._owners()
        gone = np.isin(owners, np.fromiter(ids, np.int64))
        (positions,) = np.nonzero(gone)
        if not len(positions):
            return 0
        # Rows are numbered by position in a flat index: removal shifts the later ones down, as the owners do.
        self._index.remove_ids(faiss.IDSelectorBatch(positions.astype(np.int64)))
        self._owner_parts = [owners[~gone]]
        return len(positions)

    def search(self, queries: np.ndarray, max_distance: int) -> list[list[tuple[int, int]]]:
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, self.bits // 8)
        found: list[list[tuple[int, int]]] = [[] for _ in range(len(queries))]
        owners = self._owners()
        if not len(queries) or not len(owners):
            return found
        k = min(2, len(owners))
        # One OpenMP thread, set for the calling thread (OpenMP keeps the count per thread): parallel work
        # comes from processes (scan, the crawl's hashing workers), and OpenMP's threads on a query of a
        # few hundred descriptors cost more than they save: on two busy cores a picture's vote took 380 ms
        # with FAISS's default threads against 5 ms with one.
        faiss.omp_set_num_threads(1)
        distances, positions = self._index.search(queries, k)
        nearest, owner = distances[:, 0], owners[positions[:, 0]]
        clear = nearest <= max_distance
        if k == 2:
            same_owner = owners[positions[:, 1]] == owner
            clear &= (nearest < RATIO * distances[:, 1]) | same_owner
        for row in np.flatnonzero(clear).tolist():
            found[row] = [(int(owner[row]), int(nearest[row]))]
        return found
