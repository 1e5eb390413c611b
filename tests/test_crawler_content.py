"""Page or media is the response's to say: Content-Type first, then the first bytes, never the URL."""

from __future__ import annotations

import pytest

from crawler.content import Content, classify
from simsites.corpus import encode, sample_image
from simsites.videos import camera_move, video_bytes

JPEG = encode(sample_image("coffee"), "JPEG")
PNG = encode(sample_image("coffee"), "PNG")
WEBP = encode(sample_image("coffee"), "WEBP")
HTML = b"\xef\xbb\xbf\n  <!DOCTYPE html><html><head><title>File:Coffee.jpg</title></head><body></body></html>"


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return video_bytes(camera_move(sample_image("coffee"), 0.5, 8, (64, 48), seed=1), 8)


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=UTF-8", HTML, Content.PAGE),
        ("application/xhtml+xml", HTML, Content.PAGE),
        ("image/jpeg", JPEG, Content.IMAGE),
        ("IMAGE/PNG", PNG, Content.IMAGE),
        ("image/jpeg", HTML, Content.IMAGE),  # a hotlink page dressed as a picture: media, and unhashable
        ("text/html", JPEG, Content.PAGE),  # the server's word first
        (None, JPEG, Content.IMAGE),  # no Content-Type: the magic numbers
        ("application/octet-stream", WEBP, Content.IMAGE),
        ("text/plain", PNG, Content.IMAGE),
        ("binary/octet-stream", HTML, Content.PAGE),  # no Content-Type worth the name: the HTML sniff
        (None, b"<!-- generated -->\n<html lang=en>", Content.PAGE),
        ("text/css", b"body { color: red }", Content.OTHER),
        ("application/json", b'{"title": "x"}', Content.OTHER),
        ("application/pdf", b"%PDF-1.7\n", Content.OTHER),
        (None, b"", Content.OTHER),
        (None, b"hello world, no markup", Content.OTHER),
    ],
)
def test_classify(content_type, body, expected):
    assert classify(content_type, body) is expected


def test_video_by_type_and_by_bytes(mp4):
    assert classify("video/mp4", mp4) is Content.VIDEO
    assert classify("application/octet-stream", mp4) is Content.VIDEO
    assert classify("application/mp4", mp4) is Content.VIDEO
