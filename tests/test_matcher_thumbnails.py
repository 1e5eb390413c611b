"""Thumbnails: the smallest rendition worth matching. A gallery's 120 px thumbnail of a reported picture
is still found; below the floor (`SPREADTRACE_IMAGE_MIN_SIDE`) a crawled picture is refused with the
reason, while a reference of that size is still hashed."""

from __future__ import annotations

import dataclasses

import pytest
from PIL import Image

from crawler.config import default_hash_options, default_match_policy
from matcher import Matcher, UnhashableContent, Verdict, hash_media
from simsites.corpus import REFERENCE_NAMES, encode, sample_image

OPTIONS = default_hash_options()


def thumbnail(image: Image.Image, long_side: int) -> bytes:
    """As galleries and srcsets serve them: the long side scaled to ``long_side``, JPEG at 85."""
    scale = long_side / max(image.size)
    return encode(image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS), "JPEG", 85)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(
        default_match_policy(),
        ((i, hash_media(encode(sample_image(name), "PNG"), OPTIONS, reference=True).signals) for i, name in enumerate(REFERENCE_NAMES)),
    )


@pytest.mark.parametrize("long_side", [240, 160, 120, OPTIONS.min_picture_side])
def test_thumbnails_down_to_the_floor_match_their_reference_and_no_other(matcher, long_side):
    found = {}
    for truth, name in enumerate(REFERENCE_NAMES):
        decisions = matcher.match(hash_media(thumbnail(sample_image(name), long_side), OPTIONS).signals)
        found[name] = [d.reference_id for d in decisions if d.verdict is Verdict.MATCH]
    assert found == {name: [truth] for truth, name in enumerate(REFERENCE_NAMES)}


def test_a_picture_below_the_floor_is_refused_with_the_reason_and_a_reference_is_not():
    floor = OPTIONS.min_picture_side
    small = thumbnail(sample_image(REFERENCE_NAMES[0]), floor - 1)
    with pytest.raises(UnhashableContent, match=rf"below the {floor}-px floor .*SPREADTRACE_IMAGE_MIN_SIDE"):
        hash_media(small, OPTIONS)
    assert any(s.kind == "pdq" for s in hash_media(small, OPTIONS, reference=True).signals)
    lowered = dataclasses.replace(OPTIONS, min_picture_side=floor - 1)
    assert any(s.kind == "pdq" for s in hash_media(small, lowered).signals)
