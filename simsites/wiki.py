"""A MediaWiki-like site: what a stock wiki serves, with the traits that trip a crawler up.

- File description pages have URLs ending in ``.jpg`` (``/wiki/File:Harbour_cat.jpg``) and are HTML: they
  show the picture and link the original. A copy shown elsewhere only as a gallery thumbnail is found
  through its file page.
- Articles show thumbnails (250 px, ``srcset`` 1.5x/2x) linking their file pages; the gallery shows 120 px
  thumbnails (``srcset`` 180/240).
- The file page shows the original under a cache-busting query string (``?20261122``) and links it
  without one: the same bytes under two URLs on one page.
- robots.txt disallows ``/wiki/Special:`` and ``/w/`` (edit and history links), which every page links to,
  and many links differ only by their fragment (``#mw-head``, ``#toc``).

Ground truth is `Plant`s: ``required`` ones must be found; thumbnails too small to promise a match are
planted with ``required=False`` (found or not, they are never a false match).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

from simsites.corpus import encode
from simsites.server import Resource, SiteServer, redirect

CACHE_BUSTER = "20261122"
ROBOTS = b"User-agent: *\nDisallow: /wiki/Special:\nDisallow: /w/\n"
_JPEG = "image/jpeg"


@dataclass(frozen=True)
class WikiFile:
    """One uploaded picture: its title, where its renditions live, and the case image it copies (if any)."""

    title: str  # "Harbour_cat.jpg"
    image: Image.Image
    reference: str | None

    @property
    def directory(self) -> str:
        digest = f"{sum(self.title.encode()) * 2654435761 % 2**32:08x}"
        return f"{digest[0]}/{digest[:2]}"

    @property
    def page(self) -> str:
        return f"/wiki/File:{self.title}"

    @property
    def original(self) -> str:
        return f"/images/{self.directory}/{self.title}"

    def thumb(self, width: int) -> str:
        return f"/images/thumb/{self.directory}/{self.title}/{width}px-{self.title}"


# (page URL, media URL, reference, transform, required): how the world records a planted copy
PlantFn = Callable[[str, str, str, str, bool], None]


class WikiBuilder:
    """Fills a `SiteServer` with the wiki's pages and renditions, reporting each planted copy to ``plant``."""

    def __init__(self, site: SiteServer, plant: PlantFn) -> None:
        self.site = site
        self.plant = plant

    def build(self, files: list[WikiFile]) -> None:
        site = self.site
        site.resources["/robots.txt"] = Resource(ROBOTS, "text/plain")
        articles = {"Harbour_cafe": files[0:2], "Old_town": files[2:4]}
        gallery = files[4:]
        for name, shown in articles.items():
            site.resources[f"/wiki/{name}"] = self._page(name.replace("_", " "), self._article(name, shown))
        site.resources["/wiki/Gallery"] = self._page("Gallery", self._gallery(gallery))
        for file in files:
            self._serve(file, [n for n, shown in articles.items() if file in shown] or ["Gallery"])
        index = "".join(f'<li><a href="/wiki/{n}">{n.replace("_", " ")}</a></li>' for n in [*articles, "Gallery"])
        site.resources["/wiki/Main_Page"] = self._page("Main Page", f'<h2 id="Featured">Featured</h2><ul>{index}</ul>')
        site.resources["/"] = redirect("/wiki/Main_Page", 301)

    # -- pages --------------------------------------------------------------------------------------

    def _article(self, name: str, shown: list[WikiFile]) -> str:
        figures = []
        for file in shown:  # 250 px and its 2x candidate: the 2x is what a crawler hashes
            self._plant_thumbnails(f"/wiki/{name}", file, {500: True, 250: False}, "wiki-thumbnail")
            figures.append(
                f'<figure class="mw-default-size" typeof="mw:File/Thumb"><a href="{file.page}" class="mw-file-description">'
                f'<img src="{file.thumb(250)}" decoding="async" width="250" class="mw-file-element" '
                f'srcset="{file.thumb(375)} 1.5x, {file.thumb(500)} 2x"></a>'
                f"<figcaption>{html.escape(file.title[:-4].replace('_', ' '))}</figcaption></figure>"
            )
        return "".join(figures) + "<p>" + "Lorem ipsum dolor sit amet. " * 20 + '<sup><a href="#cite_note-1">[1]</a></sup></p>'

    def _gallery(self, shown: list[WikiFile]) -> str:
        items = []
        for file in shown:  # shown only here, small: found through its file page
            self._plant_thumbnails("/wiki/Gallery", file, {240: False, 120: False}, "wiki-gallery")
            items.append(
                f'<li class="gallerybox"><div class="thumb"><span typeof="mw:File"><a href="{file.page}" '
                f'class="mw-file-description"><img src="{file.thumb(120)}" width="120" '
                f'srcset="{file.thumb(180)} 1.5x, {file.thumb(240)} 2x"></a></span></div>'
                f'<div class="gallerytext">{html.escape(file.title)}</div></li>'
            )
        return f'<ul class="gallery mw-gallery-traditional">{"".join(items)}</ul>'

    def _plant_thumbnails(self, page: str, file: WikiFile, widths: dict[int, bool], transform: str) -> None:
        """Report the renditions of a case image shown on ``page``; ``widths`` says which must be found."""
        if file.reference is not None:
            for width, required in widths.items():
                self.plant(self.site.url(page), self.site.url(file.thumb(width)), file.reference, f"{transform}-{width}", required)

    def _file_page(self, file: WikiFile, used_on: list[str]) -> str:
        busted = f"{file.original}?{CACHE_BUSTER}"
        if file.reference is not None:
            self.plant(self.site.url(file.page), self.site.url(busted), file.reference, "wiki-original", True)
            history = self.site.url(f"{file.thumb(120)}?{CACHE_BUSTER}")
            self.plant(self.site.url(file.page), history, file.reference, "wiki-history-120", False)
        usage = "".join(f'<li><a href="/wiki/{n}">{n.replace("_", " ")}</a></li>' for n in used_on)
        width, height = file.image.size
        return (
            f'<div class="fullImageLink" id="file"><a href="{busted}"><img src="{busted}" width="{width}" height="{height}">'
            f'</a></div><div class="fullMedia"><p><a href="{file.original}" class="internal" title="{file.title}">'
            f"Original file</a> ({width} × {height} pixels)</p></div>"
            f'<h2 id="filehistory">File history</h2><table class="filehistory"><tr><td>current</td>'
            f'<td><a href="{busted}">12:00, 22 November 2026</a></td><td><a href="{busted}">'
            f'<img src="{file.thumb(120)}?{CACHE_BUSTER}" width="120"></a></td></tr></table>'
            f'<h2 id="filelinks">File usage</h2><ul>{usage}</ul>'
            f'<a href="/w/index.php?title=File:{file.title}&amp;action=history">View history</a>'
        )

    def _page(self, title: str, content: str) -> Resource:
        path = title.replace(" ", "_")
        chrome = (
            '<div id="mw-head"><a href="#p-search">Jump to search</a> <a href="#mw-head">Jump to navigation</a>'
            f'<a href="/wiki/Special:RecentChanges">Recent changes</a> <a href="/wiki/Special:Random">Random page</a> '
            f'<a href="/w/index.php?title={path}&amp;action=edit">Edit</a> '
            f'<a href="/w/index.php?title={path}&amp;action=history">View history</a> '
            f'<a href="/wiki/{path}#toc">Contents</a> <a href="/wiki/Main_Page#Featured">Featured</a></div>'
        )
        body = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><title>{html.escape(title)} - Harbour Wiki</title>'
            f'</head><body>{chrome}<h1 id="firstHeading">{html.escape(title)}</h1>'
            f'<div id="mw-content-text" class="mw-body-content">{content}</div>'
            '<div id="footer"><a href="/wiki/Special:WhatLinksHere">What links here</a></div></body></html>'
        )
        return Resource(body.encode())

    # -- files --------------------------------------------------------------------------------------

    def _serve(self, file: WikiFile, used_on: list[str]) -> None:
        site = self.site
        site.resources[file.original] = Resource(encode(file.image, "JPEG", quality=88), _JPEG)
        for width in (120, 180, 240, 250, 375, 500):
            site.resources[file.thumb(width)] = Resource(encode(_scaled(file.image, width), "JPEG", quality=82), _JPEG)
        site.resources[file.page] = self._page(f"File:{file.title}", self._file_page(file, used_on))


def _scaled(image: Image.Image, width: int) -> Image.Image:
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def wiki_files(originals: dict[str, Image.Image], unrelated: Iterator[Image.Image]) -> list[WikiFile]:
    """Six uploads: the articles' four (one a case image), then the gallery's two (one a case image, shown
    nowhere else)."""
    return [
        WikiFile("Harbour_cat.jpg", originals["chelsea"], "chelsea"),
        WikiFile("Quay_at_dawn.jpg", next(unrelated), None),
        WikiFile("Old_town_square.jpg", next(unrelated), None),
        WikiFile("Market_stall.jpg", next(unrelated), None),
        WikiFile("Launch_day.jpg", originals["rocket"], "rocket"),
        WikiFile("Lighthouse.jpg", next(unrelated), None),
    ]
