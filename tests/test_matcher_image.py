"""Bad and unusual images: a clear reason, never a crash; normalisation before hashing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from crawler.config import default_hash_options
from matcher.hashers.vpdq import frames_from_text
from matcher import UnhashableContent, hash_media
from matcher.image import decode_image
from simsites.world import _bomb_png
from tests.conftest import jpeg_bytes, png_bytes


OPTIONS = default_hash_options()


def pdq(data: bytes) -> str:
    return next(s.value for s in hash_media(data, OPTIONS).signals if s.kind == "pdq")


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"hello, this is text", "not a recognised image format"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not a recognised image format"),
        (_bomb_png(60_000, 60_000), "possible decompression bomb"),
        (_bomb_png(9_000, 9_000), "possible decompression bomb"),
    ],
    ids=["empty", "text", "svg", "bomb-beyond-pillow", "bomb-beyond-our-cap"],
)
def test_unhashable_inputs_give_a_reason(data, reason):
    with pytest.raises(UnhashableContent, match=reason):
        hash_media(data, OPTIONS)


def test_truncated_jpeg_is_unhashable(coffee):
    data = jpeg_bytes(coffee)
    with pytest.raises(UnhashableContent, match="truncated"):
        hash_media(data[: len(data) // 2], OPTIONS)


def test_exif_orientation_is_applied(coffee):
    rotated = coffee.transpose(Image.Transpose.ROTATE_270)  # stored sideways, with a tag saying "turn back"
    exif = Image.Exif()
    exif[0x0112] = 8  # orientation 8: exif_transpose turns it 90 degrees counter-clockwise
    buffer = io.BytesIO()
    rotated.save(buffer, "JPEG", quality=95, exif=exif)
    assert distance(pdq(buffer.getvalue()), pdq(jpeg_bytes(coffee, 95))) <= 10


def test_transparency_is_flattened_onto_white(coffee):
    rgba = coffee.convert("RGBA")
    alpha = np.full(coffee.size[::-1], 255, dtype=np.uint8)
    alpha[:, : coffee.width // 4] = 0  # a transparent strip whose hidden pixels are the photo
    rgba.putalpha(Image.fromarray(alpha))
    flattened = Image.alpha_composite(Image.new("RGBA", coffee.size, "white"), rgba).convert("RGB")
    assert decode_image(png_bytes(rgba), max_pixels=OPTIONS.max_pixels).tobytes() == flattened.tobytes()


def test_cmyk_16bit_and_palette_alpha_decode_to_rgb(coffee):
    cmyk = io.BytesIO()
    coffee.convert("CMYK").save(cmyk, "JPEG", quality=95)
    assert distance(pdq(cmyk.getvalue()), pdq(png_bytes(coffee))) <= 16

    gray16 = Image.fromarray(np.asarray(coffee.convert("L"), dtype=np.uint16) * 257)
    assert gray16.mode.startswith("I;16")
    decoded = decode_image(png_bytes(gray16), max_pixels=OPTIONS.max_pixels)
    assert decoded.mode == "RGB" and 50 < np.asarray(decoded).mean() < 200  # scaled, not clipped to white

    palette = coffee.convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    assert decode_image(png_bytes(palette), max_pixels=OPTIONS.max_pixels).mode == "RGB"


def test_an_animated_gif_is_hashed_as_a_short_video(coffee):
    frames = [coffee.convert("P"), coffee.transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("P")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=[400, 100])
    hashes = hash_media(buffer.getvalue(), OPTIONS)
    assert hashes.kind == "video" and hashes.duration == 0.5
    sampled = frames_from_text(next(s.value for s in hashes.signals if s.kind == "vpdq"))
    assert [(f.number, f.timestamp) for f in sampled] == [(0, 0.0), (1, 0.4)]  # timed by each frame's delay
    assert distance(sampled[0].pdq, pdq(png_bytes(coffee))) <= 31
    assert distance(sampled[1].pdq, pdq(png_bytes(coffee))) > 31  # the second frame is upside down
