"""Perceptual properties, as imagehash's check_hash_algorithm: copies stay in, other pictures stay out."""

from __future__ import annotations

import dataclasses
import random

import pytest

from crawler.config import default_hash_options
from matcher import Matcher, MatchPolicy, Verdict, hash_media
from matcher.matchers import Query, signal_matchers
from matcher.policy import SignalAgreement, decide_global
from simsites.corpus import REFERENCE_NAMES, TRANSFORMS, distractors, encode, generated_image, sample_image
from simsites.transforms import IMAGE_EDITS, collage

OPTIONS = default_hash_options()
GLOBAL_ONLY = dataclasses.replace(OPTIONS, local_features=False)  # no ORB keypoints: global hashes only


@pytest.fixture(scope="module")
def references():
    return {name: hash_media(encode(sample_image(name), "PNG"), OPTIONS, reference=True) for name in REFERENCE_NAMES}


@pytest.fixture(scope="module")
def matcher(references, policy):
    return Matcher(policy, ((i, references[name].signals) for i, name in enumerate(REFERENCE_NAMES)))


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_planted_transforms_match_their_reference_only(matcher, name, transform):
    data, _ = TRANSFORMS[transform].apply(sample_image(name))
    decisions = matcher.match(hash_media(data, OPTIONS).signals)
    assert [(d.reference_id, d.verdict) for d in decisions] == [(REFERENCE_NAMES.index(name), Verdict.MATCH)]
    assert 0.7 <= decisions[0].confidence <= 1.0


@pytest.mark.parametrize("edit", ["crop 20%", "rotate 10", "screenshot"])
@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_crops_rotations_and_screenshots_match_through_local_features(matcher, name, edit):
    data = IMAGE_EDITS[edit].bytes_of(sample_image(name), seed=5)
    decisions = matcher.match(hash_media(data, OPTIONS).signals)
    assert [(d.reference_id, d.verdict) for d in decisions] == [(REFERENCE_NAMES.index(name), Verdict.MATCH)]
    check = decisions[0].verification
    assert check is not None and check.inliers >= 16
    if edit == "rotate 10":
        assert abs(abs(check.rotation or 0) - 10) < 2  # the check recovered the rotation it explains


def test_a_collage_tile_matches(matcher):
    fillers = [generated_image(seed) for seed in range(3)]
    data = encode(collage(sample_image("rocket"), random.Random(1), fillers))
    decisions = matcher.match(hash_media(data, OPTIONS).signals)
    assert [(d.reference_id, d.verdict, d.decided_by) for d in decisions] == [
        (REFERENCE_NAMES.index("rocket"), Verdict.MATCH, "orb")
    ]
    assert decisions[0].verification is not None and 1.2 < (decisions[0].verification.scale or 0) < 3  # shown at about half size


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_pictures_sharing_only_a_watermark_need_review_not_a_match(policy, name):
    """A host stamps its logo on every upload: a reference taken from it and an unrelated upload align
    on the logo alone, with more consistent keypoints than the match threshold, but on 1-3% of the
    reference. The spread rule sends that to review; the keypoint count alone would have matched."""
    logo = sample_image("coins").crop((150, 100, 230, 180))
    reference = sample_image(name)
    reference.paste(logo, (reference.width - 90, reference.height - 90))
    upload = generated_image(3, (640, 480))
    upload.paste(logo.resize((96, 96)), (40, 60))
    known = [(0, hash_media(encode(reference, "PNG"), OPTIONS, reference=True).signals)]
    found = hash_media(encode(upload), OPTIONS).signals

    count_only = Matcher(dataclasses.replace(policy, orb_min_spread=0.0), known).match(found)
    assert [d.verdict for d in count_only] == [Verdict.MATCH]
    (decision,) = Matcher(policy, known).match(found)
    assert decision.verdict is Verdict.NEEDS_REVIEW and decision.decided_by.startswith("orb")
    assert decision.confidence <= 0.6
    check = decision.verification
    assert check is not None and check.inliers >= policy.orb_match_inliers
    assert check.spread < policy.orb_min_spread
    assert decision.as_dict()["verification"]["spread"] == round(check.spread, 3)


def test_without_local_features_a_screenshot_is_not_found(matcher):
    """The control for the test above: the global hashes alone do not see a screenshot."""
    data = IMAGE_EDITS["screenshot"].bytes_of(sample_image("chelsea"), seed=5)
    assert matcher.match(hash_media(data, GLOBAL_ONLY).signals) == []


def test_padded_copy_matches_by_pdq_after_border_trimming(matcher):
    data = IMAGE_EDITS["pad 30%"].bytes_of(sample_image("coffee"), seed=2)
    decision = matcher.match(hash_media(data, GLOBAL_ONLY).signals)[0]
    assert (decision.reference_id, decision.decided_by) == (REFERENCE_NAMES.index("coffee"), "pdq")
    assert decision.distance <= 16


def test_mirrored_copy_matches_through_the_mirrored_reference_hash(matcher):
    data, _ = TRANSFORMS["mirrored"].apply(sample_image("chelsea"))
    decision = matcher.match(hash_media(data, OPTIONS).signals)[0]
    assert decision.variant == "flip_h"


def test_unrelated_images_match_nothing(matcher):
    found = [(name, d.verdict) for name, image in distractors(80) for d in matcher.match(hash_media(encode(image), OPTIONS).signals)]
    assert found == []


def test_each_picture_signal_matcher_proposes_and_agrees_with_its_own_reference(references, policy):
    """The signal-matcher interface on its own, without the matcher's routes."""
    matchers = signal_matchers(policy)
    by_kind = {m.kind: m for m in matchers}
    for signal in references["coffee"].signals:
        by_kind[signal.kind].add(1, signal)
    query = Query(hash_media(encode(sample_image("coffee"), "JPEG", 70), OPTIONS).signals)
    for matcher in (*matchers.pictures, matchers.keypoints):
        agreement = matcher.compare(query, 1)
        assert (agreement.kind, agreement.agreed) == (matcher.kind, True), agreement
        assert matcher.compare(query, 2).unusable  # a reference it never saw: nothing to compare
        assert list(matcher.candidates(query)) == ([1] if matcher.index is not None else [])
        matcher.remove(1)
        assert not list(matcher.candidates(query))


def test_removed_reference_is_no_longer_matched(references, policy):
    matcher = Matcher(policy, ((i, references[name].signals) for i, name in enumerate(REFERENCE_NAMES)))
    data = IMAGE_EDITS["crop 10%"].bytes_of(sample_image("coffee"))
    assert [d.reference_id for d in matcher.match(hash_media(data, OPTIONS).signals)] == [0]
    matcher.remove_reference(0)
    assert matcher.match(hash_media(data, OPTIONS).signals) == []
    assert len(matcher) == len(REFERENCE_NAMES) - 1


def _agreement(kind: str, distance: int | None, threshold: int, unusable: str | None = None) -> SignalAgreement:
    agreed = distance is not None and distance <= threshold
    return SignalAgreement(kind, distance, threshold, agreed, unusable=unusable)


@pytest.mark.parametrize(
    ("pdq", "phash", "expected"),
    [
        ((31, None), (30, None), ("match", "pdq")),  # PDQ decides alone at <= 31
        ((32, None), (8, None), ("needs_review", "pdq+phash")),  # gray zone: only local features confirm it
        ((32, None), (9, None), None),  # gray zone, pHash disagrees: no candidate
        ((49, None), (0, None), None),  # beyond the gray zone, whatever pHash says
        ((None, "quality 20 < 50"), (8, None), ("match", "phash")),  # PDQ unusable: pHash decides
        ((None, "quality 20 < 50"), (9, None), None),
    ],
)
def test_decision_policy(policy, pdq, phash, expected):
    decision = decide_global(policy, 7, [
        _agreement("pdq", pdq[0], policy.pdq_max_distance, pdq[1]),
        _agreement("phash", phash[0], policy.phash_max_distance), _agreement("dhash", None, 10, "none"),
    ])  # fmt: skip
    assert ((str(decision.verdict), decision.decided_by) if decision else None) == expected


def test_gray_zone_is_confirmed_by_the_geometric_check_or_left_for_review(references, policy):
    """A watermarked copy at PDQ ~24: with the PDQ threshold lowered it falls in the gray zone."""
    data, _ = TRANSFORMS["watermarked"].apply(sample_image("chelsea"))
    gray = dataclasses.replace(policy, pdq_max_distance=10)
    confirmed = Matcher(gray, [(1, references["chelsea"].signals)]).match(hash_media(data, OPTIONS).signals)
    assert [(d.verdict, d.decided_by) for d in confirmed] == [(Verdict.MATCH, "pdq+phash+orb")]
    unverifiable = Matcher(gray, [(1, references["chelsea"].signals)]).match(hash_media(data, GLOBAL_ONLY).signals)
    assert [(d.verdict, d.decided_by) for d in unverifiable] == [(Verdict.NEEDS_REVIEW, "pdq+phash")]


def test_thresholds_come_from_the_policy(references, policy):
    data, _ = TRANSFORMS["watermarked"].apply(sample_image("chelsea"))
    signals = hash_media(data, GLOBAL_ONLY).signals
    strict = dataclasses.replace(policy, pdq_max_distance=10, pdq_corroborated_max_distance=10, phash_max_distance=2)
    assert Matcher(strict, [(1, references["chelsea"].signals)]).match(signals) == []
    loose = dataclasses.replace(strict, pdq_max_distance=31)
    assert [d.reference_id for d in Matcher(loose, [(1, references["chelsea"].signals)]).match(signals)] == [1]


def test_imported_hash_without_quality_is_used(policy):
    reference = hash_media(encode(sample_image("rocket"), "PNG"), OPTIONS)
    pdq = next(s for s in reference.signals if s.kind == "pdq")
    matcher = Matcher(policy, [(9, [dataclasses.replace(pdq, quality=None)])])
    copy = hash_media(TRANSFORMS["reencoded"].apply(sample_image("rocket"))[0], OPTIONS)
    assert [d.decided_by for d in matcher.match(copy.signals)] == ["pdq"]


def test_policy_without_defaults():
    with pytest.raises(TypeError):
        MatchPolicy(pdq_max_distance=31)  # type: ignore[call-arg]
