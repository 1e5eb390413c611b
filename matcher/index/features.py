"""Which references might a picture contain? Local-feature voting over every reference's ORB keypoints.

Global hashes cannot propose candidates for a screenshot or a collage: the picture they describe is a
different one. Each query keypoint votes for the reference that owns its nearest descriptor (when that
neighbour is clearly nearer than the next, Lowe's ratio test); the few references with enough votes go
to the geometric check. FAISS does the Hamming k-NN, exact, over all references at once.
"""

from __future__ import annotations

from collections import defaultdict

import faiss
import numpy as np

from matcher.local import LocalFeatures

# Descriptor distances above this (of 256 bits) are noise, whatever the ratio test says.
MAX_DESCRIPTOR_DISTANCE = 72


class FeatureIndex:
    def __init__(self) -> None:
        self._index = faiss.IndexBinaryFlat(256)
        # Owner of each indexed descriptor, kept as parts joined on first use: joining on every add would
        # copy the whole array once per reference while a tracker loads thousands of them.
        self._owner_parts: list[np.ndarray] = []
        self._features: dict[int, list[LocalFeatures]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._features)

    def add(self, reference_id: int, features: LocalFeatures) -> None:
        if not len(features):
            return
        self._features[reference_id].append(features)
        self._index.add(features.descriptors)
        self._owner_parts.append(np.full(len(features), reference_id, np.int64))

    def _owners(self) -> np.ndarray:
        if len(self._owner_parts) != 1:
            self._owner_parts = [np.concatenate(self._owner_parts or [np.zeros(0, np.int64)])]
        return self._owner_parts[0]

    def remove(self, reference_id: int) -> None:
        if self._features.pop(reference_id, None) is None:
            return
        owners = self._owners()
        (positions,) = np.nonzero(owners == reference_id)
        self._index.remove_ids(faiss.IDSelectorBatch(positions.astype(np.int64)))
        self._owner_parts = [owners[owners != reference_id]]

    def features_of(self, reference_id: int) -> list[LocalFeatures]:
        return self._features.get(reference_id, [])

    def candidates(self, query: LocalFeatures, *, limit: int = 5, min_votes: int = 6) -> list[int]:
        """References with at least ``min_votes`` votes, most votes first, at most ``limit`` of them."""
        descriptor_owners = self._owners()
        if not len(query) or not len(descriptor_owners):
            return []
        k = min(2, len(descriptor_owners))
        distances, positions = self._index.search(query.descriptors, k)
        nearest, owner = distances[:, 0], descriptor_owners[positions[:, 0]]
        clear = nearest <= MAX_DESCRIPTOR_DISTANCE
        if k == 2:
            same_owner = descriptor_owners[positions[:, 1]] == owner
            clear &= (nearest < 0.8 * distances[:, 1]) | same_owner
        owners, inverse = np.unique(owner, return_inverse=True)
        votes = np.bincount(inverse[clear], minlength=len(owners))
        ranked = sorted(((int(v), int(o)) for v, o in zip(votes, owners, strict=True) if v >= min_votes), reverse=True)
        return [reference_id for _, reference_id in ranked[:limit]]
