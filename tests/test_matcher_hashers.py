from __future__ import annotations

import pytest

import dataclasses

from matcher import InvalidSignal, Signal, hash_media
from matcher.hashers import IMAGE_HASHERS, Hasher, PdqHasher, hasher_for
from simsites.corpus import encode, sample_image

# Pinned: a change here means stored hashes and partners' hash lists no longer compare.
COFFEE_PDQ = "8c629e779a663698b9a33866c026726c21a679f61eb6e1f8c79ba7e23c8299e0"
COFFEE_PHASH = "bb8320376c0f3637"
COFFEE_DHASH = "f3e96933160b1b36"


class HasherContract:
    """Every hasher: its examples validate, and each is at distance 0 from itself (SignalTypeAutoTest)."""

    hasher: Hasher

    def test_examples_validate_and_self_distance_is_zero(self):
        for example in self.hasher.examples:
            assert self.hasher.validate(example) == example.lower()
            assert self.hasher.distance(example, example) == 0

    def test_validate_normalises_case_and_whitespace(self):
        example = self.hasher.examples[0]
        assert self.hasher.validate(f"  {example.upper()} ") == example

    @pytest.mark.parametrize("bad", ["", "xyz", "0" * 3, "g" * 64, "0" * 65])
    def test_malformed_values_raise(self, bad):
        with pytest.raises(InvalidSignal):
            self.hasher.validate(bad)

    def test_distance_counts_differing_bits(self):
        width = self.hasher.bits // 4
        assert self.hasher.distance("0" * width, "f" + "0" * (width - 1)) == 4
        assert self.hasher.distance("0" * width, "f" * width) == self.hasher.bits


@pytest.mark.parametrize("hasher", IMAGE_HASHERS, ids=lambda h: h.name)
class TestEveryHasher(HasherContract):
    @pytest.fixture(autouse=True)
    def _bind(self, hasher):
        self.hasher = hasher


def test_pinned_hashes_of_a_sample_photograph(hash_options):
    hashes = hash_media(encode(sample_image("coffee"), "PNG"), hash_options)
    values = {s.kind: s.value for s in hashes.signals if s.kind != "orb"}
    assert values == {"pdq": COFFEE_PDQ, "phash": COFFEE_PHASH, "dhash": COFFEE_DHASH}
    assert next(s.quality for s in hashes.signals if s.kind == "pdq") == 100


def test_pdq_hex_is_threatexchanges_bit_order():
    import numpy as np
    import pdqhash

    vector, _ = pdqhash.compute(np.asarray(sample_image("coffee")))
    as_threatexchange_writes_it = "%064x" % int("".join(str(int(b)) for b in vector), 2)
    assert PdqHasher().hash_image(sample_image("coffee")).value == as_threatexchange_writes_it


def test_reference_hashes_carry_every_orientation(hash_options):
    hashes = hash_media(encode(sample_image("coffee"), "PNG"), hash_options, reference=True)
    variants = {(s.kind, s.variant) for s in hashes.signals}
    assert ("pdq", "flip_h") in variants and ("pdq", "rot90") in variants and ("phash", "flip_h") in variants
    assert ("dhash", "flip_h") in variants and ("orb", "flip_h") in variants
    pdq_variants = [s.variant for s in hashes.signals if s.kind == "pdq"]
    assert len(pdq_variants) == 8 + 6 and sum(v.startswith("region:") for v in pdq_variants) == 6


def test_signals_keep_their_order_whole_picture_hashes_first(hash_options):
    """Stored signals have always come in this order: each hasher's whole-picture hashes, then the extras."""
    from PIL import ImageOps

    padded = ImageOps.expand(sample_image("coffee"), border=60, fill=(255, 255, 255))
    crawled = [(s.kind, s.variant) for s in hash_media(encode(padded, "PNG"), hash_options).signals]
    assert crawled == [("pdq", "original"), ("phash", "original"), ("dhash", "original"), ("pdq", "untrimmed"), ("orb", "original")]
    reference = [(s.kind, s.variant) for s in hash_media(encode(padded, "PNG"), hash_options, reference=True).signals]
    assert reference == [
        *(("pdq", v) for v in ("original", "rot90", "rot180", "rot270", "flip_v", "flip_h", "rot90_flip_v", "rot90_flip_h")),
        ("phash", "original"), ("phash", "flip_h"), ("dhash", "original"), ("dhash", "flip_h"), ("pdq", "untrimmed"),
        *(("pdq", f"region:{r}") for r in ("c80", "tl80", "tr80", "bl80", "br80", "c64")),
        ("orb", "original"), ("orb", "flip_h"),
    ]  # fmt: skip


def test_local_features_are_optional_and_round_trip(hash_options):
    from matcher.local import LocalFeatures

    hashes = hash_media(encode(sample_image("coffee"), "PNG"), hash_options)
    orb = next(s for s in hashes.signals if s.kind == "orb")
    features = LocalFeatures.from_text(orb.value)
    assert 100 < len(features) <= 800 and features.descriptors.shape == (len(features), 32)
    assert LocalFeatures.from_text(features.to_text()).descriptors.tobytes() == features.descriptors.tobytes()
    assert not any(s.kind == "orb" for s in hash_media(encode(sample_image("coffee")), dataclasses.replace(hash_options, local_features=False)).signals)
    with pytest.raises(InvalidSignal, match="orb features"):
        LocalFeatures.from_text(orb.value[:-8])


def test_signal_text_form_names_its_algorithm():
    signal = Signal.parse(f"pdq:{COFFEE_PDQ.upper()}")
    assert signal == Signal("pdq", COFFEE_PDQ, 1)
    assert str(signal) == f"pdq:{COFFEE_PDQ}"
    with pytest.raises(InvalidSignal, match="KIND:VALUE"):
        Signal.parse(COFFEE_PDQ)  # bare hex: which algorithm?
    with pytest.raises(InvalidSignal, match="unknown hash algorithm"):
        Signal.parse(f"md9:{COFFEE_PDQ}")
    assert hasher_for("phash").bits == 64


def test_keypoints_are_spread_so_an_overlay_cannot_take_the_whole_budget():
    """The strongest corners of a picture with a caption are the caption's: three quarters of the budget
    go to the strongest, the rest to every grid cell in turn, so the uncovered picture keeps keypoints."""
    import cv2

    from matcher.local import GRID, STRONGEST_SHARE, _spread

    side = 800
    caption = [cv2.KeyPoint(float(10 + i % 780), float(5 + (i // 780) * 10), 31, 0, 1000.0 + i) for i in range(2400)]
    picture = [cv2.KeyPoint(float((i * 37) % side), float(200 + (i * 53) % 600), 31, 0, float(i % 100)) for i in range(600)]
    kept = _spread([*caption, *picture], 800, (side, side))
    assert len(kept) == 800 and len({id(k) for k in kept}) == 800
    strongest = sorted(caption, key=lambda k: -k.response)[: round(800 * STRONGEST_SHARE)]
    assert {id(k) for k in strongest} <= {id(k) for k in kept}
    cells = {(int(k.pt[1] * GRID // side), int(k.pt[0] * GRID // side)) for k in kept if k.pt[1] >= 200}
    below = {(int(k.pt[1] * GRID // side), int(k.pt[0] * GRID // side)) for k in picture}
    assert cells == below  # every cell of the uncovered picture kept some
    assert _spread(picture[:10], 800, (side, side)) == picture[:10]  # within budget: all kept, as found
