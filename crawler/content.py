"""Is a response a page or a media file? The response says, never the URL.

A URL ending in ``.jpg`` can be an HTML page (a wiki's file description page holds the large rendition and
links the original), and a URL with no extension can serve a video. The Content-Type decides when it says
something; when it is missing or generic (``application/octet-stream``, ``text/plain``) the first bytes
do: the magic numbers of image and video formats (`filetype`), then an HTML sniff.
"""

from __future__ import annotations

import enum
import re

import filetype
from scrapy.http import Headers

# Content-Types that say nothing about what the body is.
_GENERIC = frozenset({
    "", "application/octet-stream", "binary/octet-stream", "application/unknown", "application/download",
    "application/force-download", "application/x-download", "text/plain",
})  # fmt: skip
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL)
SNIFF_BYTES = 1024


class Content(enum.StrEnum):
    PAGE = "page"
    IMAGE = "image"
    VIDEO = "video"
    OTHER = "other"

    @property
    def is_media(self) -> bool:
        return self in (Content.IMAGE, Content.VIDEO)


def header(headers: Headers, name: bytes) -> str | None:
    """A response header as text (HTTP headers are Latin-1), or None when absent or empty."""
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def media_type(content_type: str | None) -> str:
    """``image/jpeg`` of ``image/jpeg; charset=binary``, lower case; "" when absent."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def classify(content_type: str | None, head: bytes) -> Content:
    """What a response is, from its Content-Type and the first `SNIFF_BYTES` of its body."""
    declared = media_type(content_type)
    if declared in _HTML_TYPES:
        return Content.PAGE
    if declared.startswith("image/"):
        return Content.IMAGE
    if declared.startswith("video/"):
        return Content.VIDEO
    if declared not in _GENERIC and not declared.startswith("application/"):
        return Content.OTHER  # text/css, font/woff2, audio/mpeg: a type that says it is neither
    guessed = filetype.guess_mime(head[:SNIFF_BYTES]) if head else None
    if guessed is not None and guessed.startswith("image/"):
        return Content.IMAGE
    if guessed is not None and guessed.startswith("video/"):
        return Content.VIDEO
    if _HTML_START.match(head[:SNIFF_BYTES]):
        return Content.PAGE
    return Content.OTHER
