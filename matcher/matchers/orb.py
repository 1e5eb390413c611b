"""ORB keypoints in the matcher: which references might a picture contain, and does its geometry agree?

Global hashes cannot propose candidates for a screenshot or a collage: the picture they describe is a
different one. Each query keypoint whose nearest reference descriptor is clearly nearest (the
`DescriptorIndex`'s rule) votes for that descriptor's reference; the few references with enough votes
go to the geometric check (`matcher.local.verify`), which is what decides.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from matcher.index.descriptors import DescriptorIndex
from matcher.local import LocalFeatures, OrbExtractor, Verification, verify
from matcher.matchers.base import Query
from matcher.policy import MatchPolicy, SignalAgreement, orb_agreement
from matcher.signal import Signal

# Descriptor distances above this (of 256 bits) are noise, whatever the ratio test says.
MAX_DESCRIPTOR_DISTANCE = 72
# A reference is a candidate with at least MIN_VOTES keypoints voting for it; the CANDIDATES with the
# most votes are checked (the geometric check is the expensive step).
MIN_VOTES, CANDIDATES = 6, 5
DESCRIPTOR_BITS = 256


class OrbMatcher:
    """Every reference's keypoint sets (as is, mirrored): their descriptors in one `DescriptorIndex`
    under the reference's id, the sets themselves kept for the geometric check."""

    kind = OrbExtractor.name

    def __init__(self, policy: MatchPolicy) -> None:
        self.policy = policy
        self.index = DescriptorIndex(DESCRIPTOR_BITS)
        self._features: dict[int, list[LocalFeatures]] = defaultdict(list)

    def add(self, reference_id: int, signal: Signal) -> None:
        features = LocalFeatures.from_text(signal.value)
        if not len(features):
            return
        self._features[reference_id].append(features)
        self.index.add(np.full(len(features), reference_id, np.int64), features.descriptors)

    def remove(self, reference_id: int) -> None:
        if self._features.pop(reference_id, None) is not None:
            self.index.remove([reference_id])

    def features(self, query: Query) -> LocalFeatures | None:
        """The query's keypoints, or None when it has no ``orb`` signal (local features were off)."""
        signal = query.first(self.kind)
        if signal is None:
            return None
        return query.read(self.kind, lambda: LocalFeatures.from_text(signal.value))

    def candidates(self, query: Query) -> list[int]:
        """References with at least MIN_VOTES votes, most votes first, at most CANDIDATES of them."""
        features = self.features(query)
        if features is None:
            return []
        found = self.index.search(features.descriptors, MAX_DESCRIPTOR_DISTANCE)
        votes = Counter(hits[0][0] for hits in found if hits)
        ranked = sorted(((count, reference_id) for reference_id, count in votes.items() if count >= MIN_VOTES), reverse=True)
        return [reference_id for _, reference_id in ranked[:CANDIDATES]]

    def verify(self, query: Query, reference_id: int) -> Verification | None:
        """The best geometric check against any of the reference's keypoint sets (as is, mirrored); None
        when either side has no keypoints to check."""
        features = self.features(query)
        if features is None:
            return None
        checks = [verify(reference, features) for reference in self._features.get(reference_id, [])]
        return max(checks, key=lambda c: c.inliers, default=None)

    def compare(self, query: Query, reference_id: int) -> SignalAgreement:
        check = self.verify(query, reference_id)
        if check is None:
            threshold = self.policy.orb_match_inliers
            return SignalAgreement(self.kind, None, threshold, False, unusable="no orb keypoints on both sides")
        return orb_agreement(self.policy, check)
