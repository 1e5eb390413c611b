"""Perceptual properties, as imagehash's check_hash_algorithm: copies stay in, other pictures stay out."""

from __future__ import annotations

import dataclasses

import pytest

from matcher import Matcher, MatchPolicy, hash_media
from matcher.policy import SignalAgreement, decide
from simsites.corpus import REFERENCE_NAMES, TRANSFORMS, distractors, encode, sample_image


@pytest.fixture(scope="module")
def references():
    return {name: hash_media(encode(sample_image(name), "PNG"), reference=True) for name in REFERENCE_NAMES}


@pytest.fixture(scope="module")
def matcher(references, policy):
    return Matcher(policy, ((i, references[name].signals) for i, name in enumerate(REFERENCE_NAMES)))


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_planted_transforms_match_their_reference_only(matcher, name, transform):
    data, _ = TRANSFORMS[transform].apply(sample_image(name))
    decisions = matcher.match(hash_media(data).signals)
    assert [d.reference_id for d in decisions] == [REFERENCE_NAMES.index(name)]
    decision = decisions[0]
    assert decision.decided_by in ("pdq", "pdq+phash")
    assert any(s.kind == "pdq" and s.agreed == (decision.decided_by == "pdq") for s in decision.signals)


def test_mirrored_copy_matches_through_the_mirrored_reference_hash(matcher):
    data, _ = TRANSFORMS["mirrored"].apply(sample_image("chelsea"))
    decision = matcher.match(hash_media(data).signals)[0]
    assert decision.variant == "flip_h"


def test_unrelated_images_match_nothing(matcher):
    false_matches = [name for name, image in distractors(80) if matcher.match(hash_media(encode(image)).signals)]
    assert false_matches == []


def _agreement(kind: str, distance: int | None, threshold: int, unusable: str | None = None) -> SignalAgreement:
    agreed = distance is not None and distance <= threshold
    return SignalAgreement(kind, distance, threshold, agreed, unusable=unusable)


@pytest.mark.parametrize(
    ("pdq", "phash", "expected"),
    [
        ((31, None), (30, None), "pdq"),  # PDQ decides alone at <= 31
        ((32, None), (8, None), "pdq+phash"),  # the gray zone, corroborated by pHash
        ((32, None), (9, None), None),  # gray zone, pHash disagrees: no match
        ((49, None), (0, None), None),  # beyond the gray zone, whatever pHash says
        ((None, "quality 20 < 50"), (8, None), "phash"),  # PDQ unusable: pHash decides
        ((None, "quality 20 < 50"), (9, None), None),
    ],
)
def test_decision_policy(policy, pdq, phash, expected):
    decision = decide(
        policy, 7, _agreement("pdq", pdq[0], policy.pdq_max_distance, pdq[1]),
        _agreement("phash", phash[0], policy.phash_max_distance),
    )  # fmt: skip
    assert (decision.decided_by if decision else None) == expected


def test_thresholds_come_from_the_policy(references):
    data, _ = TRANSFORMS["watermarked"].apply(sample_image("chelsea"))  # PDQ distance 24 from chelsea
    signals = hash_media(data).signals
    strict = MatchPolicy(pdq_max_distance=10, pdq_corroborated_max_distance=10, pdq_min_quality=50, phash_max_distance=2)
    assert Matcher(strict, [(1, references["chelsea"].signals)]).match(signals) == []
    loose = dataclasses.replace(strict, pdq_max_distance=31)
    assert [d.reference_id for d in Matcher(loose, [(1, references["chelsea"].signals)]).match(signals)] == [1]
