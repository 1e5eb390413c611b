"""Three simulated hosting sites with planted re-uploads of the case images, for tests and the demo.

- board: an image board. Paginated thread list; posts with <time>, lazy-loaded images (data-src),
  <picture> with a WebP source.
- tube: a tube-like site. Watch pages with og:image and JSON-LD VideoObject (uploadDate, thumbnailUrl).
- forum: posts with inline images (srcset) that link to board threads and tube pages.
- wiki: a MediaWiki-like site (`simsites.wiki`): file pages behind ``.jpg`` URLs, galleries of small
  thumbnails, cache-busting query strings, robots.txt rules for special pages.

`planted` is the ground truth: every media URL that shows a case image, with its claimed upload time (None
where the page states none); a copy too small to promise a match is planted with ``required=False``.
Everything else is unrelated or broken (truncated, empty, a decompression bomb, HTML served as an image,
a dead link), and must produce no sighting.

The world also changes between visits, as hosting sites do: `take_down` removes a copy in one of the ways
sites remove things, `restore` puts it back (a re-upload at the same place), `upload` adds a new thread
with a new copy, and `add_trouble` adds the pages that test a crawler's manners (429 with Retry-After,
slow and broken pages, redirect loops, a huge file, a page robots.txt forbids).
"""

from __future__ import annotations

import html
import json
import random
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from PIL import Image

from simsites.corpus import REFERENCE_NAMES, TRANSFORMS, distractors, encode, generated_image, sample_image
from simsites.server import Resource, SiteServer, redirect
from simsites.videos import camera_move, video_bytes
from simsites.wiki import WikiBuilder, wiki_files

_PLACEHOLDER = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
_MIME = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif"}
_EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
# Where a crawl of each site starts: its listing, first video page, forum index, main page.
START_PATHS = MappingProxyType({"board": "/b/", "tube": "/videos/1", "forum": "/forum/", "wiki": "/wiki/Main_Page"})


@dataclass(frozen=True)
class Plant:
    """One planted copy of a case image: where it is and what was done to it."""

    site: str
    page_url: str
    media_url: str
    reference: str
    transform: str
    claimed_at: str | None
    required: bool = True  # False: a small thumbnail, found or not; never a false match either way


@dataclass(frozen=True)
class _Post:
    media_path: str | None
    when: datetime
    text: str
    markup: str = "lazy"  # lazy | picture | srcset | plain


class SimulatedWorld:
    """The three sites, serving on loopback. Use as a context manager or via `running_world()`."""

    def __init__(self, distractor_count: int = 48, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.board = SiteServer("board", "127.0.0.2")
        self.tube = SiteServer("tube", "127.0.0.3")
        self.forum = SiteServer("forum", "127.0.0.4")
        self.wiki = SiteServer("wiki", "127.0.0.5")
        self.sites = {site.name: site for site in (self.board, self.tube, self.forum, self.wiki)}
        self.planted: list[Plant] = []
        self.broken: list[str] = []
        self._saved: dict[str, tuple[Resource, Resource]] = {}
        self._originals = {name: sample_image(name) for name in REFERENCE_NAMES}
        self._distractors = iter(list(distractors(distractor_count)))
        for site in self.sites.values():
            site.resources["/robots.txt"] = Resource(b"User-agent: *\nDisallow: /admin/\n", "text/plain")
        self._build_board()
        self._build_tube()
        self._build_forum()
        self._build_wiki()

    def reference_files(self) -> dict[str, bytes]:
        """The reported originals, as a victim would hand them over (PNG)."""
        return {f"{name}.png": encode(image, "PNG") for name, image in self._originals.items()}

    def start(self) -> None:
        for site in self.sites.values():
            site.start()

    def stop(self) -> None:
        for site in self.sites.values():
            site.stop()

    # -- media ------------------------------------------------------------------------------------

    def _plant(self, site: SiteServer, page: str, reference: str, transform: str, when: datetime) -> str:
        data, ext = TRANSFORMS[transform].apply(self._originals[reference])
        path = f"/media/{self.rng.getrandbits(48):012x}.{ext}"
        site.resources[path] = Resource(data, _MIME[ext])
        self.planted.append(Plant(site.name, site.url(page), site.url(path), reference, transform, _iso(when)))
        return path

    def _unrelated(self, site: SiteServer) -> str:
        name, image = next(self._distractors)
        ext = self.rng.choice(("jpg", "jpg", "png", "webp"))
        path = f"/media/{self.rng.getrandbits(48):012x}.{ext}"
        fmt = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}[ext]
        site.resources[path] = Resource(encode(image, fmt, quality=self.rng.randint(60, 92)), _MIME[ext])
        return path

    def _unrelated_video(self) -> bytes:
        """Two seconds of camera move over an unrelated picture, small: the tube site's other uploads."""
        image = generated_image(self.rng.getrandbits(16), (320, 240))
        return video_bytes(camera_move(image, 2.0, 8, (160, 120), seed=self.rng.getrandbits(16)), 8)

    def _broken(self, site: SiteServer, kind: str) -> str:
        path = f"/media/broken-{kind}.{'png' if kind == 'bomb' else 'jpg'}"
        if kind == "truncated":
            full = encode(Image.new("RGB", (640, 480), (90, 120, 200)), "JPEG")
            site.resources[path] = Resource(full[: len(full) // 3], "image/jpeg")
        elif kind == "empty":
            site.resources[path] = Resource(b"", "image/jpeg")
        elif kind == "bomb":
            site.resources[path] = Resource(_bomb_png(60_000, 60_000), "image/png")
        elif kind == "html":
            site.resources[path] = Resource(b"<html><body>hotlinking not allowed</body></html>", "image/jpeg")
        # kind == "missing": no resource, the server answers 404
        self.broken.append(site.url(path))
        return path

    # -- the board ----------------------------------------------------------------------------------

    def _build_board(self) -> None:
        site, threads = self.board, 8
        for thread in range(1, threads + 1):
            page = f"/b/thread/{thread}"
            start = _EPOCH - timedelta(days=70 - thread * 6)
            posts = [
                _Post(self._unrelated(site), start + timedelta(hours=i * 3), f"reply {i}", ("lazy", "plain")[i % 2])
                for i in range(3)
            ]
            if thread == 2:  # the earliest copy of all: the first appearance
                when = datetime(2026, 1, 5, 22, 14, tzinfo=UTC)
                posts.insert(1, _Post(self._plant(site, page, "coffee", "reencoded", when), when, "found this"))
            if thread == 5:
                when = start + timedelta(hours=5)
                posts.append(_Post(self._plant(site, page, "chelsea", "mirrored", when), when, "mirrored", "picture"))
            if thread == 3:
                posts.append(_Post(self._broken(site, "truncated"), start, "broken upload"))
                posts.append(_Post(self._broken(site, "empty"), start, "empty upload"))
            if thread == 6:
                posts.append(_Post(self._broken(site, "bomb"), start, "huge"))
            site.resources[page] = _html(f"Thread #{thread}", _board_posts(site, posts))
        per_page = 3
        for number in range(1, threads // per_page + 2):
            links = "".join(
                f'<li><a href="/b/thread/{t}">Thread #{t}</a></li>'
                for t in range((number - 1) * per_page + 1, min(number * per_page, threads) + 1)
            )
            nav = f'<a rel="next" href="/b/page/{number + 1}">next</a>' if number * per_page < threads else ""
            body = _html("/b/ - random", f"<ul>{links}</ul><nav>{nav}</nav>")
            site.resources[f"/b/page/{number}"] = body
            if number == 1:
                site.resources["/b/"] = body

    # -- the tube site ------------------------------------------------------------------------------

    def _build_tube(self) -> None:
        site, videos = self.tube, 10
        plants = {
            3: ("coffee", "resized", datetime(2026, 1, 12, 8, 0, tzinfo=UTC)),
            7: ("rocket", "watermarked", datetime(2026, 2, 1, 19, 30, tzinfo=UTC)),
        }
        for video in range(1, videos + 1):
            page = f"/watch/{video}"
            when = _EPOCH - timedelta(days=50 - video * 4)
            if video in plants:
                reference, transform, when = plants[video]
                thumb = self._plant(site, page, reference, transform, when)
            else:
                thumb = self._unrelated(site)
            ld = {
                "@context": "https://schema.org",
                "@type": "VideoObject",
                "name": f"Video {video}",
                "uploadDate": _iso(when),
                "thumbnailUrl": site.url(thumb),
                "contentUrl": site.url(f"/stream/{video}.mp4"),
            }
            head = (
                f'<meta property="og:image" content="{site.url(thumb)}">'
                f'<script type="application/ld+json">{json.dumps(ld)}</script>'
            )
            site.resources[f"/stream/{video}.mp4"] = Resource(self._unrelated_video(), "video/mp4")
            related = "".join(f'<a href="/watch/{(video + k) % videos + 1}">related</a>' for k in (1, 2))
            site.resources[page] = _html(f"Video {video}", f"<div class='player'></div>{related}", head)
        for number in (1, 2):
            links = "".join(f'<a href="/watch/{v}">Video {v}</a>' for v in range((number - 1) * 5 + 1, number * 5 + 1))
            nav = '<a href="/videos/2">Next page</a>' if number == 1 else '<a href="/videos/1">Previous</a>'
            site.resources[f"/videos/{number}"] = _html(f"Videos page {number}", links + nav)

    # -- the forum ----------------------------------------------------------------------------------

    def _build_forum(self) -> None:
        site, topics = self.forum, 5
        plants = {
            2: ("rocket", "webp", datetime(2026, 2, 10, 12, 0, tzinfo=UTC)),
            4: ("chelsea", "watermarked", datetime(2026, 2, 20, 9, 45, tzinfo=UTC)),
        }
        for topic in range(1, topics + 1):
            page = f"/forum/topic/{topic}"
            when = _EPOCH - timedelta(days=30 - topic * 5)
            posts = [_Post(self._unrelated(site), when + timedelta(hours=i), f"post {i}", "srcset") for i in range(2)]
            if topic in plants:
                reference, transform, planted_at = plants[topic]
                posts.append(_Post(self._plant(site, page, reference, transform, planted_at), planted_at, "", "srcset"))
            if topic == 3:
                posts.append(_Post(self._broken(site, "html"), when, "hotlinked"))
                posts.append(_Post(self._broken(site, "missing"), when, "dead image"))
            links = (
                f'<p>originally on <a href="{self.board.url("/b/thread/2")}">the board</a> and '
                f'<a href="{self.tube.url(f"/watch/{topic + 2}")}">this video</a></p>'
            )
            if topic == 1:  # an attachment behind a link with no file extension: media, known by its answer
                links += f'<p><a href="{self._attachment(site, page)}">coffee.jpg</a> (attachment, 1 download)</p>'
            site.resources[page] = _html(f"Topic {topic}", _board_posts(site, posts) + links)
        index = "".join(f'<a href="/forum/topic/{t}">Topic {t}</a>' for t in range(1, topics + 1))
        site.resources["/forum/"] = _html("Forum", index)

    def _attachment(self, site: SiteServer, page: str) -> str:
        data, _ = TRANSFORMS["reencoded"].apply(self._originals["coffee"])
        path = "/forum/attachment/1"
        site.resources[path] = Resource(data, "image/jpeg")
        self.planted.append(Plant(site.name, site.url(page), site.url(path), "coffee", "attachment", None))
        return path

    # -- the wiki -----------------------------------------------------------------------------------

    def _build_wiki(self) -> None:
        def plant(page: str, media: str, reference: str, transform: str, required: bool) -> None:
            self.planted.append(Plant("wiki", page, media, reference, transform, None, required))

        unrelated = (image for _, image in self._distractors)
        WikiBuilder(self.wiki, plant).build(wiki_files(self._originals, unrelated))

    # -- change over (simulated) time -----------------------------------------------------------------

    def take_down(self, plant: Plant, how: str) -> None:
        """Remove ``plant`` the way a site does. ``how``: "404", "410", "home" (redirect to the front page),
        "login" (redirect to a sign-in page), "notice" (200 page saying it was removed), "gone" (page up,
        media taken off it), "file" (page unchanged, the file answers 404)."""
        site = self.sites[plant.site]
        page, media = _path(plant.page_url), _path(plant.media_url)
        self._saved.setdefault(plant.page_url, (site.resources[page], site.resources[media]))
        original = site.resources[page]
        if how in ("404", "410"):
            site.resources[page] = Resource(b"<h1>gone</h1>", status=int(how))
        elif how == "home":
            site.resources[page] = redirect("/")
            site.resources.setdefault("/", _html(site.name, "<p>Welcome</p>"))
        elif how == "login":
            site.resources[page] = redirect("/login?next=" + page)
            site.resources["/login"] = _html("Sign in", "<form><input name=user></form>")
        elif how == "notice":
            site.resources[page] = _html("Removed", "<p>This content has been removed following a complaint.</p>")
        elif how == "gone":
            site.resources[page] = Resource(original.body.replace(media.encode(), b"/static/removed.png"))
        elif how == "file":
            del site.resources[media]
        else:
            raise ValueError(f"unknown takedown {how!r}")

    def restore(self, plant: Plant) -> None:
        """Put a taken-down copy back where it was: a re-upload at the same page and file."""
        page_resource, media_resource = self._saved.pop(plant.page_url)
        site = self.sites[plant.site]
        site.resources[_path(plant.page_url)] = page_resource
        site.resources[_path(plant.media_url)] = media_resource

    def upload(self, reference: str, transform: str, when: datetime) -> Plant:
        """A new board thread carrying a new copy, linked from the first listing page."""
        site = self.board
        number = len([p for p in site.resources if p.startswith("/b/thread/")]) + 1
        page = f"/b/thread/{number}"
        posts = [_Post(self._plant(site, page, reference, transform, when), when, "new upload")]
        site.resources[page] = _html(f"Thread #{number}", _board_posts(site, posts))
        listing = site.resources["/b/page/1"]
        link = f'<li><a href="{page}">Thread #{number}</a></li>'.encode()
        updated = Resource(listing.body.replace(b"<ul>", b"<ul>" + link, 1))
        site.resources["/b/page/1"] = site.resources["/b/"] = updated
        return self.planted[-1]

    def add_trouble(self, huge_bytes: int = 300 * 1024 * 1024) -> dict[str, str]:
        """Misbehaving pages on the forum, linked from its index; returns their URLs by name."""
        site = self.forum
        when = _EPOCH
        limited = "/forum/topic/limited"
        paths = {
            "limited": limited, "slow": "/forum/topic/slow", "broken": "/forum/topic/broken",
            "loop": "/forum/loop/a", "huge": "/forum/topic/huge", "forbidden": "/admin/secret",
        }  # fmt: skip
        posts = [_Post(self._plant(site, limited, "rocket", "reencoded", when), when, "behind a rate limit")]
        site.resources[limited] = Resource(_html("Limited", _board_posts(site, posts)).body, rate_limited=1, retry_after=2)
        site.resources[paths["slow"]] = Resource(_html("Slow", "<p>slow</p>").body, delay=1.5)
        site.resources[paths["broken"]] = Resource(_html("Broken", "<p>" + "x" * 4000 + "</p>").body, drop=True)
        site.resources["/forum/loop/a"] = redirect("/forum/loop/b")
        site.resources["/forum/loop/b"] = redirect("/forum/loop/a")
        site.resources["/media/huge.jpg"] = Resource(b"", "image/jpeg", size=huge_bytes)
        site.resources[paths["huge"]] = _html("Huge", '<img src="/media/huge.jpg">')
        secret = [_Post(self._unrelated(site), when, "admin only")]
        site.resources[paths["forbidden"]] = _html("Admin", _board_posts(site, secret))
        index = site.resources["/forum/"]
        links = "".join(f'<a href="{path}">{name}</a>' for name, path in paths.items()).encode()
        site.resources["/forum/"] = Resource(index.body.replace(b"</body>", links + b"</body>"))
        return {name: site.url(path) for name, path in paths.items()}


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@contextmanager
def running_world(distractor_count: int = 48) -> Iterator[SimulatedWorld]:
    world = SimulatedWorld(distractor_count)
    world.start()
    try:
        yield world
    finally:
        world.stop()


def _board_posts(site: SiteServer, posts: list[_Post]) -> str:
    rendered = []
    for post in sorted(posts, key=lambda p: p.when):
        if post.media_path is None:
            image = ""
        elif post.markup == "lazy":
            image = f'<img class="lazy" src="{_PLACEHOLDER}" data-src="{post.media_path}" alt="">'
        elif post.markup == "picture":
            image = f'<picture><source srcset="{post.media_path}" type="image/*"><img src="{post.media_path}"></picture>'
        elif post.markup == "srcset":
            image = f'<img src="{post.media_path}" srcset="{post.media_path} 1024w" sizes="50vw">'
        else:
            image = f'<img src="{post.media_path}" alt="">'
        rendered.append(
            f'<article class="post"><header><time datetime="{_iso(post.when)}">{post.when:%d %b %Y %H:%M}</time>'
            f"</header>{image}<p>{html.escape(post.text)}</p></article>"
        )
    return "".join(rendered)


def _html(title: str, body: str, head: str = "") -> Resource:
    page = f"<!doctype html><html><head><title>{html.escape(title)}</title>{head}</head><body>{body}</body></html>"
    return Resource(page.encode())


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` pixels: a decompression bomb's signature."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
