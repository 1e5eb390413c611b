"""Spectrum signatures (`matcher.spectrum`): a periodic picture whose PDQ bits flip under re-encoding is
still found by where its pattern's energy lies; another pattern, another hue or another shape is not;
ordinary photographs carry no signature at all."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from crawler.config import default_hash_options, default_match_policy
from matcher import InvalidSignal, Matcher, Signal, Verdict, hash_media
from matcher.spectrum import REFERENCE_PROMINENCE, Spectrum, agreement, signature
from simsites.corpus import REFERENCE_NAMES, encode, sample_image

OPTIONS = default_hash_options()


def texture(period: float, angle: float, colours: tuple[tuple[int, int, int], ...], size: tuple[int, int] = (600, 420),
            kind: str = "checks", seed: int = 0) -> Image.Image:  # fmt: skip
    """A fine two-colour pattern, drawn at twice the size and averaged down, lit unevenly, with a little
    sensor noise: the kind of picture PDQ sees as almost flat."""
    w, h = size
    ys, xs = np.mgrid[0 : 2 * h, 0 : 2 * w] / 2.0
    c, s = np.cos(angle), np.sin(angle)
    u, v = xs * c + ys * s, -xs * s + ys * c
    if kind == "stripes":
        field = ((u / period) % 1 < 0.5).astype(float)
    else:
        field = ((np.floor(u / period) + np.floor(v / (period * 1.7))) % 2).astype(float)
    field = field.reshape(h, 2, w, 2).mean(axis=(1, 3))
    a, b = (np.array(colour, float) for colour in colours)
    pixels = a + (b - a) * field[..., None]
    light = 0.8 + 0.3 * (xs[::2, ::2] / (2 * w) + ys[::2, ::2] / (2 * h))
    noise = np.random.default_rng(seed).normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(pixels * light[..., None] + noise, 0, 255).astype(np.uint8))


BLUE_CHECKS = texture(3.4, 0.6, ((40, 60, 170), (90, 120, 230)))
RUST_STRIPES = texture(4.5, 2.2, ((120, 50, 20), (200, 110, 60)), size=(640, 480), kind="stripes")


def _gamma(image: Image.Image) -> Image.Image:
    return image.point([round(255 * (i / 255) ** (1 / 1.6)) for i in range(256)] * 3)


def _noise(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image, float) + np.random.default_rng(1).normal(0, 12, (image.height, image.width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


COPIES = {
    "jpeg q35": lambda im: encode(im, "JPEG", 35),
    "webp": lambda im: encode(im, "WEBP", 70),
    "downscale 60%": lambda im: encode(im.resize((round(im.width * 0.6), round(im.height * 0.6)), Image.Resampling.LANCZOS)),
    "gamma 1.6": lambda im: encode(_gamma(im)),
    "brightness +30%": lambda im: encode(ImageEnhance.Brightness(im).enhance(1.3)),
    "noise": lambda im: encode(_noise(im)),
}


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    policy = default_match_policy()
    references = [BLUE_CHECKS, RUST_STRIPES, *(sample_image(name) for name in REFERENCE_NAMES)]
    return Matcher(policy, ((i, hash_media(encode(image, "PNG"), OPTIONS, reference=True).signals) for i, image in enumerate(references)))


@pytest.mark.parametrize("edit", COPIES)
@pytest.mark.parametrize("truth", [0, 1], ids=["checks", "stripes"])
def test_a_reencoded_texture_matches_its_reference(matcher, edit, truth):
    original = (BLUE_CHECKS, RUST_STRIPES)[truth]
    decisions = matcher.match(hash_media(COPIES[edit](original), OPTIONS).signals)
    assert [(d.reference_id, d.verdict) for d in decisions if d.verdict is Verdict.MATCH] == [(truth, Verdict.MATCH)]


def test_the_spectrum_decides_where_pdq_cannot(matcher):
    """The case the signal exists for: the copy's PDQ is far from the reference's, and the signature
    finds it, saying so and showing PDQ's distance beside it."""
    decisions = matcher.match(hash_media(COPIES["downscale 60%"](BLUE_CHECKS), OPTIONS).signals)
    (decision,) = decisions
    assert decision.decided_by == "spectrum"
    pdq = next(s for s in decision.signals if s.kind == "pdq")
    assert not pdq.agreed and pdq.distance is not None and pdq.distance > 31
    spectrum = next(s for s in decision.signals if s.kind == "spectrum")
    assert spectrum.agreed and spectrum.distance is not None and spectrum.distance >= 1


OTHERS = {
    "another period": (texture(3.4 * 1.08, 0.6, ((40, 60, 170), (90, 120, 230))), "peak"),
    "another angle": (texture(3.4, 0.6 + np.radians(6), ((40, 60, 170), (90, 120, 230))), "peak"),
    "another hue": (texture(3.4, 0.6, ((170, 60, 40), (230, 120, 90))), "colour differs"),
    "another shape": (texture(3.4, 0.6, ((40, 60, 170), (90, 120, 230)), size=(600, 600)), "shape differs"),
}


@pytest.mark.parametrize("other", OTHERS)
def test_a_different_pattern_has_a_signature_that_does_not_agree(other):
    picture, why = OTHERS[other]
    found, reference = signature(picture), signature(BLUE_CHECKS)
    assert found is not None and reference is not None
    refused = agreement(found, reference).refused
    assert refused is not None and why in refused
    assert agreement(reference, reference).agreed


@pytest.mark.parametrize("other", ["another period", "another angle"])
def test_a_different_pattern_matches_nothing(matcher, other):
    """(Another hue or shape of the same pattern is left out here: PDQ and keypoints see no colour, and
    a wider picture of the same pattern is, to them, a larger crop of it.)"""
    decisions = matcher.match(hash_media(encode(OTHERS[other][0]), OPTIONS).signals)
    assert [d.reference_id for d in decisions] == []


def test_photographs_carry_no_reference_signature():
    """Only a periodic picture keeps a signature: a photograph's spectrum has no peak anywhere near a
    texture's, so the signal adds nothing to its references."""
    for name in REFERENCE_NAMES:
        assert signature(sample_image(name), strongest_at_least=REFERENCE_PROMINENCE) is None, name
        signals = hash_media(encode(sample_image(name), "PNG"), OPTIONS, reference=True).signals
        assert not [s for s in signals if s.kind == "spectrum"], name
    found = signature(BLUE_CHECKS, strongest_at_least=REFERENCE_PROMINENCE)
    assert found is not None and found.peaks[0].prominence >= REFERENCE_PROMINENCE


def test_a_copy_too_small_for_the_pattern_meets_its_alias():
    """Downscaled below the pattern's Nyquist limit without a perfect filter, a peak folds to its alias;
    the comparison finds it there."""
    reference = signature(RUST_STRIPES)
    assert reference is not None
    small = RUST_STRIPES.resize((RUST_STRIPES.width * 2 // 5, RUST_STRIPES.height * 2 // 5), Image.Resampling.NEAREST)
    copy = signature(small)
    assert copy is not None
    beyond = [p for p in reference.peaks[:2] if p.fx > copy.width / 2 or abs(p.fy) > copy.height / 2]
    assert beyond, "the test needs a pattern finer than the copy can show"
    assert agreement(copy, reference).agreed


def test_the_text_form_round_trips_and_refuses_garbage():
    found = signature(BLUE_CHECKS)
    assert found is not None
    assert Spectrum.from_text(found.to_text()) == found
    for bad in ("", "v1;600x420;1,2,3;", "v2;600x420;1,2,3;1,2,3", "v1;600x420;1,2;1,2,3", "v1;axb;1,2,3;1,2,3"):
        with pytest.raises(InvalidSignal, match="spectrum signature"):
            Spectrum.from_text(bad)


def test_a_flat_picture_has_no_signature_and_a_sharp_pattern_a_readable_one():
    """A flat frame's spectrum is the encoder's noise, not a pattern; a synthetic, noiseless pattern's
    peaks tower over an almost empty spectrum, and their prominence still fits the text form."""
    flat = Image.open(io.BytesIO(encode(Image.new("RGB", (960, 540), (255, 0, 0)), "JPEG", 60))).convert("RGB")
    assert signature(flat) is None
    sharp = Image.fromarray(np.tile(np.array([[0], [255]], np.uint8), (270, 960))).convert("RGB")
    found = signature(sharp)
    assert found is not None and Spectrum.from_text(found.to_text()) == found


def test_a_malformed_stored_signature_fails_loudly_when_added():
    matcher = Matcher(default_match_policy())
    with pytest.raises(InvalidSignal):
        matcher.add_reference(1, [Signal("spectrum", "v1;12x12;not,a,colour;1,2,3")])


def test_a_copy_keeps_a_signature_from_a_lower_prominence_than_a_reference():
    """A copy's peaks count from a lower prominence than a reference needs: noise and JPEG spread a
    pattern's energy, and the reference's peaks, not the copy's strength, are what the comparison trusts."""
    noisy = Image.open(io.BytesIO(COPIES["noise"](BLUE_CHECKS))).convert("RGB")
    found = signature(noisy)
    assert found is not None
    assert found.peaks[0].prominence < signature(BLUE_CHECKS).peaks[0].prominence  # type: ignore[union-attr]
    kept = dataclasses.replace(found, peaks=found.peaks[:1])
    assert agreement(kept, signature(BLUE_CHECKS)).agreed  # type: ignore[arg-type]
