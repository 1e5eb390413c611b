"""Find the media a page shows, and the upload time the page claims for each.

Covers what image boards, tube sites and forums use: ``img`` ``src``/``srcset``, ``picture``/``source``,
lazy-loading attributes (``data-src`` and kin), ``og:image``/``twitter:image``, JSON-LD, CSS
``background-image`` (inline and in ``<style>``), links straight to media files, and for video
``video``/``source`` (and the ``poster`` picture), ``og:video`` and JSON-LD ``VideoObject.contentUrl``.
A site entry can add its own selectors. Page metadata (title, uploader, upload time) comes with where each
value was read from.
Each URL carries the kind of media the page says it is, so a video is fetched under the video cap. A claimed
time comes with its provenance ("json-ld:uploadDate", "html:time"), because a page's word is not ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from tracker.clock import parse_claimed_time

_LAZY_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-full")
_LAZY_SRCSETS = ("data-srcset", "data-lazy-srcset")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_JSONLD_TIMES = ("uploadDate", "datePublished", "dateCreated")
_META_IMAGES = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")
_META_VIDEOS = ("og:video", "og:video:url", "og:video:secure_url", "twitter:player:stream")
_META_TIMES = ("article:published_time", "og:published_time", "datePublished", "uploadDate")
_CSS_URL = re.compile(r"background(?:-image)?\s*:[^;}]*?url\(\s*(['\"]?)([^'\")]+)\1\s*\)", re.IGNORECASE)
_IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp|tiff?|heic)(?:$|\?)", re.IGNORECASE)
_VIDEO_FILE = re.compile(r"\.(?:mp4|m4v|webm|mov|mkv|avi|wmv|flv|ogv|3gp)(?:$|\?)", re.IGNORECASE)
_ELEMENT_URL_ATTRIBUTES = ("src", "data-src", "href", "content", "poster", "data-original")


@dataclass(frozen=True, slots=True)
class MediaRef:
    url: str
    found_in: str
    claimed_at: str | None = None
    claimed_source: str | None = None
    kind: str = "image"  # what the page says it is: "image" or "video"


def discover_media(selector: Selector, base_url: str) -> list[MediaRef]:
    """Every distinct media URL on the page, in page order, absolute."""
    page_time, page_source = page_claimed_time(selector)
    found: dict[str, MediaRef] = {}

    def add(raw: str | None, found_in: str, claimed: tuple[str | None, str | None], kind: str = "image") -> None:
        if not raw or raw.strip().startswith(("data:", "javascript:", "#", "blob:")):
            return
        url = urljoin(base_url, raw.strip()).split("#", 1)[0]
        if url.startswith(("http://", "https://")) and url not in found:
            found[url] = MediaRef(url, found_in, *claimed, kind=kind)

    for video in selector.css("video"):
        claimed = _element_time(video) or (page_time, page_source)
        for attribute in ("src", *_LAZY_ATTRIBUTES):
            add(video.attrib.get(attribute), f"video[{attribute}]", claimed, "video")
        for source in video.css("source"):
            add(source.attrib.get("src") or source.attrib.get("data-src"), "video source[src]", claimed, "video")
        add(video.attrib.get("poster"), "video[poster]", claimed)
    for name in _META_VIDEOS:
        for content in selector.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content').getall():
            add(content, f"meta:{name}", (page_time, page_source), "video")
    for obj in _jsonld_objects(selector):
        content_url = obj.get("contentUrl")
        if _has_type(obj, "VideoObject") and isinstance(content_url, str):  # embedUrl is a player page, not media
            add(content_url, "json-ld:contentUrl", (page_time, page_source), "video")

    for image in selector.css("img, picture source"):
        claimed = _element_time(image) or (page_time, page_source)
        for attribute in _LAZY_ATTRIBUTES:
            add(image.attrib.get(attribute), f"img[{attribute}]", claimed)
        for attribute in ("srcset", *_LAZY_SRCSETS):
            add(largest_srcset_candidate(image.attrib.get(attribute, "")), f"img[{attribute}]", claimed)
        add(image.attrib.get("src"), "img[src]", claimed)
    for name in _META_IMAGES:
        for content in selector.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content').getall():
            add(content, f"meta:{name}", (page_time, page_source))
    for obj in _jsonld_objects(selector):
        for url in _jsonld_image_urls(obj):
            add(url, "json-ld", (page_time, page_source))
    for element in selector.xpath("//*[@style]"):
        claimed = _element_time(element) or (page_time, page_source)
        for match in _CSS_URL.finditer(element.attrib.get("style", "")):
            add(match.group(2), "css:background-image", claimed)
    for style in selector.xpath("//style/text()").getall():
        for match in _CSS_URL.finditer(style):
            add(match.group(2), "css:background-image", (page_time, page_source))
    for anchor in selector.xpath("//a[@href]"):
        href = anchor.attrib["href"]
        path = urlsplit(href).path
        kind = "video" if _VIDEO_FILE.search(path) else "image" if _IMAGE_FILE.search(path) else None
        if kind is not None:
            add(href, "a[href]", _element_time(anchor) or (page_time, page_source), kind)
    return list(found.values())


def media_from_selectors(selector: Selector, base_url: str, selectors: Sequence[str]) -> list[MediaRef]:
    """Media a site entry's own selectors point at: an attribute or text (``img.full::attr(src)``), or an
    element whose ``src``, ``data-src``, ``href``, ``content`` or ``poster`` is taken."""
    found: dict[str, MediaRef] = {}
    for query in selectors:
        for result in select(selector, query):
            raw = result.get() if isinstance(result.root, str) else next(
                (result.attrib[a] for a in _ELEMENT_URL_ATTRIBUTES if result.attrib.get(a)), None
            )
            if not raw or raw.strip().startswith(("data:", "javascript:", "blob:")):
                continue
            url = urljoin(base_url, raw.strip()).split("#", 1)[0]
            kind = "video" if _VIDEO_FILE.search(urlsplit(url).path) else "image"
            if url.startswith(("http://", "https://")):
                found.setdefault(url, MediaRef(url, f"selector:{query}", kind=kind))
    return list(found.values())


def page_metadata(selector: Selector, selectors: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Title, uploader and claimed upload time, each ``{"value": ..., "source": ...}``: the site entry's
    selector first, then JSON-LD, then meta tags, then the HTML itself. The page's word, not ours."""
    found: dict[str, dict[str, str]] = {}
    for name, query in selectors.items():
        value = " ".join(v.strip() for v in select(selector, query).getall() if v.strip())
        if value:
            found[name] = {"value": value[:500], "source": f"selector:{query}"}
    objects = list(_jsonld_objects(selector))

    def put(name: str, value: object, source: str) -> None:
        if name not in found and isinstance(value, str) and value.strip():
            found[name] = {"value": value.strip()[:500], "source": source}

    for obj in objects:
        put("title", obj.get("name") or obj.get("headline"), "json-ld:name")
        author = obj.get("author") or obj.get("creator")
        author = author[0] if isinstance(author, list) and author else author
        put("uploader", author.get("name") if isinstance(author, dict) else author, "json-ld:author")
    put("title", selector.xpath('//meta[@property="og:title"]/@content').get(), "meta:og:title")
    put("uploader", selector.xpath('//meta[@name="author"]/@content').get(), "meta:author")
    put("title", selector.xpath("//title/text()").get(), "html:title")
    if "uploaded" not in found:
        when, source = page_claimed_time(selector)
        if when is not None and source is not None:
            found["uploaded"] = {"value": when, "source": source}
    elif (parsed := parse_claimed_time(found["uploaded"]["value"])) is not None:
        found["uploaded"]["value"] = parsed
    return found


def select(selector: Selector, query: str) -> Any:
    return selector.xpath(query) if query.startswith(("/", "(", "./")) else selector.css(query)


def page_claimed_time(selector: Selector) -> tuple[str | None, str | None]:
    """The page's own publication time: JSON-LD first, then meta tags, then a lone <time>."""
    for obj in _jsonld_objects(selector):
        for key in _JSONLD_TIMES:
            value = obj.get(key)
            if isinstance(value, str) and (parsed := parse_claimed_time(value)):
                return parsed, f"json-ld:{key}"
    for name in _META_TIMES:
        for content in selector.xpath(f'//meta[@property="{name}" or @name="{name}" or @itemprop="{name}"]/@content'):
            if parsed := parse_claimed_time(content.get()):
                return parsed, f"meta:{name}"
    times = selector.xpath("//time/@datetime").getall()
    if len(times) == 1 and (parsed := parse_claimed_time(times[0])):
        return parsed, "html:time"
    return None, None


def largest_srcset_candidate(srcset: str) -> str | None:
    """The candidate with the largest width (``w``) or density (``x``) descriptor: the best copy to hash.
    A gallery's 120 px thumbnail may be too small to match where its 1600 px rendition is not; widths beat
    densities, and a candidate without a descriptor counts as ``1x``."""
    best: tuple[int, float, str] | None = None
    for url, descriptors in srcset_candidates(srcset):
        rank = (0, 1.0)
        for descriptor in descriptors:
            unit, number = descriptor[-1:].lower(), descriptor[:-1]
            if unit in ("w", "x") and _NUMBER.fullmatch(number) and float(number) > 0:
                rank = (1 if unit == "w" else 0, float(number))
        if best is None or rank > best[:2]:
            best = (*rank, url)
    return None if best is None else best[2]


def srcset_candidates(srcset: str) -> Iterator[tuple[str, list[str]]]:
    """``(url, descriptors)`` of each candidate, split as the HTML standard's srcset parser splits them:
    a URL runs to the next whitespace (so a CDN's ``w_400,h_300`` stays in it), a comma right after it
    ends the candidate, and descriptors end at a comma outside parentheses."""
    position, end = 0, len(srcset)
    while True:
        while position < end and (srcset[position].isspace() or srcset[position] == ","):
            position += 1
        if position >= end:
            return
        start = position
        while position < end and not srcset[position].isspace():
            position += 1
        url = srcset[start:position]
        if url.endswith(","):
            yield url.rstrip(","), []
            continue
        descriptors, current, depth = [], "", 0
        while position < end:
            char = srcset[position]
            position += 1
            if char == "(":
                depth += 1
            elif char == ")":
                depth = max(0, depth - 1)
            elif char == "," and depth == 0:
                break
            if char.isspace() and depth == 0:
                descriptors += [current] if current else []
                current = ""
            else:
                current += char
        descriptors += [current] if current else []
        yield url, descriptors


def _element_time(element: Selector) -> tuple[str, str] | None:
    """The <time> of the nearest enclosing post: the closest ancestor that holds one, below <body>."""
    holder = element.xpath("ancestor::*[.//time[@datetime]][1]")
    if not holder or holder[0].root.tag in ("body", "html"):
        return None
    parsed = parse_claimed_time(holder[0].xpath(".//time/@datetime").get(""))
    return (parsed, "html:time") if parsed else None


def _jsonld_objects(selector: Selector) -> Iterator[dict[str, Any]]:
    for script in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            document = json.loads(script)
        except ValueError:
            continue
        yield from _walk(document)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        yield from _walk(node.get("@graph", []))


def _has_type(obj: dict[str, Any], name: str) -> bool:
    types = obj.get("@type", "")
    return name in (types if isinstance(types, list) else [types])


def _jsonld_image_urls(obj: dict[str, Any]) -> Iterator[str]:
    is_image = _has_type(obj, "ImageObject")
    keys = ("image", "thumbnailUrl", "contentUrl", "url") if is_image else ("image", "thumbnailUrl")
    for key in keys:
        value = obj.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield item
            elif isinstance(item, dict):
                yield from _jsonld_image_urls({**item, "@type": "ImageObject"})
