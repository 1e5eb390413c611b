"""Border trimming: padded and letterboxed copies come back to the original frame; pictures without plain
borders are left alone."""

from __future__ import annotations

import pytest
from PIL import Image, ImageOps

from matcher.borders import trim_borders
from matcher.image import decode_image
from simsites.corpus import encode, sample_image
from simsites.transforms import IMAGE_EDITS


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (40, 120, 200)])
def test_uneven_padding_of_any_plain_colour_is_trimmed(colour):
    picture = sample_image("chelsea")
    padded = Image.new("RGB", (picture.width + 170, picture.height + 90), colour)
    padded.paste(picture, (30, 70))
    trimmed = trim_borders(padded)  # found on a 512px copy: a pixel or two of slack
    assert abs(trimmed.width - picture.width) <= 2 and abs(trimmed.height - picture.height) <= 2
    assert trim_borders(picture) is picture


def test_letterbox_bars_after_jpeg_are_trimmed_to_within_a_few_pixels(hash_options):
    picture = sample_image("rocket")  # 427x640: pillarboxed into a 16:9 frame
    frame = ImageOps.pad(picture, (1280, 720), color=(0, 0, 0))
    trimmed = trim_borders(decode_image(encode(frame, "JPEG", 60), max_pixels=hash_options.max_pixels))
    shown = ImageOps.contain(picture, (1280, 720))
    assert abs(trimmed.width - shown.width) <= 6 and abs(trimmed.height - shown.height) <= 6


def test_pictures_without_plain_borders_are_returned_unchanged():
    for picture in (sample_image("coffee"), sample_image("chelsea"), sample_image("hubble_deep_field")):
        assert trim_borders(picture) is picture


def test_a_mostly_plain_picture_is_not_trimmed_to_a_sliver():
    canvas = Image.new("RGB", (400, 400), (255, 255, 255))
    canvas.paste((0, 0, 0), (190, 190, 210, 210))  # a 20px dot: trimming would keep 5% of each side
    assert trim_borders(canvas).size == (400, 400)


def test_a_large_photo_is_trimmed_on_its_full_resolution_coordinates():
    picture = sample_image("coffee").resize((1800, 1200))
    padded = IMAGE_EDITS["pad 30%"].apply(picture, __import__("random").Random(1))
    trimmed = trim_borders(padded)
    assert abs(trimmed.width - 1800) <= 8 and abs(trimmed.height - 1200) <= 8
