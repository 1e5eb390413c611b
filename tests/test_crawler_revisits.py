"""Revisits: removals in every form sites use, reappearance, new uploads, failures and caches.

One simulated world of its own (it is changed between visits), crawled by real `spreadtrace` processes.
"""

from __future__ import annotations

import io
import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from simsites import SimulatedWorld
from tests.test_end_to_end import STARTS, add_case, spreadtrace
from tracker.evidence import open_vault
from tracker.evidence.verify import verify_case
from simsites.server import Resource

WALL_SCRIPT = b"<script>document.body.insertAdjacentHTML('beforeend', '<form><input type=password></form>')</script>"
TAKEDOWNS = {  # (site, reference) -> how the site removes it
    ("board", "coffee"): "404",
    ("board", "chelsea"): "notice",
    ("tube", "coffee"): "login",
    ("tube", "rocket"): "file",
    ("forum", "rocket"): "gone",
}


def statuses(home) -> dict[str, tuple[str, list[str]]]:
    """page URL -> (status, status history) of every sighting."""
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        rows = conn.execute("SELECT id, page_url, status FROM sightings").fetchall()
        history = {
            sid: [s for (s,) in conn.execute("SELECT status FROM sighting_events WHERE sighting_id = ? ORDER BY at, id", (sid,))]
            for sid, _, _ in rows
        }  # fmt: skip
    return {page: (status, history[sid]) for sid, page, status in rows}


def crawl(home, *settings):
    result = spreadtrace(home, *settings, "crawl", "--no-progress")
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def changing(tmp_path_factory):
    world = SimulatedWorld(seed=11)
    world.start()
    home = tmp_path_factory.mktemp("revisits") / "home"
    assert add_case(home, world, home.parent / "reported").returncode == 0
    for name, server in world.sites.items():
        added = spreadtrace(home, "site", "add", name, server.url(STARTS[name]), "--allow-domain", server.host,
                            "--delay", "0", "--allow-private", "--removed-text", r"has been removed")  # fmt: skip
        assert added.returncode == 0, added.stderr
    yield world, home
    world.stop()


def plant(world: SimulatedWorld, site: str, reference: str):
    return next(p for p in world.planted if (p.site, p.reference) == (site, reference))


def test_removal_and_reappearance_are_detected_on_revisit(changing):
    world, home = changing
    # A page whose script draws a login form: the crawl reads the copy, Chromium's screenshot meets a wall.
    walled = plant(world, "forum", "chelsea")
    forum, path = world.sites["forum"], urlsplit(walled.page_url).path
    page = forum.resources[path]
    forum.resources[path] = replace(page, body=page.body + WALL_SCRIPT)
    crawl(home, "-s", "HTTPCACHE_ENABLED=True")  # a cache turned on by mistake must change nothing
    forum.resources[path] = page
    [owed] = open_vault(home).owed("victim-1").values()
    assert owed.what == "screenshot" and owed.reason.startswith("login wall: ") and owed.attempts == 1
    assert (home / "httpcache").is_dir()  # in the home, never in the checkout
    first = statuses(home)
    assert {status for status, _ in first.values()} == {"online"}
    assert {p.page_url for p in world.planted if p.required} <= set(first) <= {p.page_url for p in world.planted}

    for (site, reference), how in TAKEDOWNS.items():
        world.take_down(plant(world, site, reference), how)
    reupload = world.upload("coffee", "mirrored", datetime(2026, 3, 2, tzinfo=UTC))
    for server in world.sites.values():
        server.reset_counts()
    crawled = crawl(home, "-s", "HTTPCACHE_ENABLED=True")
    second = statuses(home)
    for (site, reference) in TAKEDOWNS:
        status, history = second[plant(world, site, reference).page_url]
        assert (status, history) == ("removed", ["online", "removed"]), (site, reference, TAKEDOWNS[(site, reference)])
    still = plant(world, "forum", "chelsea").page_url
    assert second[still] == ("online", ["online"])
    assert second[reupload.page_url][0] == "online"  # the re-upload elsewhere is a new sighting

    with sqlite3.connect(home / "spreadtrace.db") as conn:
        reasons = dict(conn.execute(
            "SELECT s.page_url, e.reason FROM sighting_events e JOIN sightings s ON s.id = e.sighting_id"
            " WHERE e.status = 'removed'"
        ).fetchall())  # fmt: skip
    assert reasons[plant(world, "board", "coffee").page_url].startswith("page removed: HTTP 404")
    assert "has been removed" in reasons[plant(world, "board", "chelsea").page_url]
    assert "redirected to" in reasons[plant(world, "tube", "coffee").page_url]
    assert reasons[plant(world, "tube", "rocket").page_url] == "media HTTP 404"
    gone = reasons[plant(world, "forum", "rocket").page_url]
    assert "no longer shows it" in gone and "still served" in gone  # the file outlived the post: takedown it too

    # Each removal is frozen too: its own capture, whose WARC holds the answer that proves it (the 404).
    vault = open_vault(home)
    removals = {e.detail["page_url"]: e for e in vault.custody("victim-1").entries()
                if e.kind == "capture" and e.detail["why"].startswith("removed")}  # fmt: skip
    assert {plant(world, site, reference).page_url for site, reference in TAKEDOWNS} <= set(removals)
    board = removals[plant(world, "board", "coffee").page_url]
    assert board.detail["http_status"][board.detail["page_url"]] == 404
    [warc] = [a["sha256"] for a in board.detail["artefacts"] if a["role"] == "warc"]
    with io.BytesIO(b"".join(vault.read("victim-1", warc))) as stream:
        statuses_in_warc = {r.rec_headers.get_header("WARC-Target-URI"): r.http_headers.get_statuscode()
                            for r in ArchiveIterator(stream, check_digests="raise") if r.rec_type == "response"}  # fmt: skip
    assert statuses_in_warc[board.detail["page_url"]] == "404"
    # A removal by redirect (to a login page) keeps the whole chain: the redirect, then where it led.
    tube = removals[plant(world, "tube", "coffee").page_url]
    [warc] = [a["sha256"] for a in tube.detail["artefacts"] if a["role"] == "warc"]
    with io.BytesIO(b"".join(vault.read("victim-1", warc))) as stream:
        chain = [(r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode(), r.http_headers.get_header("Location"))
                 for r in ArchiveIterator(stream, check_digests="raise") if r.rec_type == "response"]  # fmt: skip
    assert chain[0][:2] == (tube.detail["page_url"], "302") and chain[0][2]
    assert chain[1][0] == urljoin(tube.detail["page_url"], chain[0][2]) and chain[1][1] == "200"
    assert verify_case(vault, "victim-1").ok

    # The walled page's screenshot was owed, and the second visit took the capture again, with it.
    [walled_id] = [e.detail["sighting"] for e in vault.custody("victim-1").entries()
                   if e.kind == "capture" and e.detail["page_url"] == walled.page_url and e.detail["why"] == "first seen"]  # fmt: skip
    retried = [e for e in vault.custody("victim-1").entries() if e.kind == "capture" and e.detail["sighting"] == walled_id]
    assert len(retried) == 2, (retried, vault.owed("victim-1"), crawled.stderr[-3000:])
    assert retried[1].detail["why"].startswith("retry: login wall: ") and "password field" in retried[1].detail["why"]
    shots = [e for e in vault.custody("victim-1").entries() if e.kind == "screenshot" and e.detail["sighting"] == walled_id]
    assert [e.detail["capture_seq"] for e in shots] == [retried[1].seq]
    assert walled_id not in vault.owed("victim-1")

    # Re-uploads at the same place: reappeared, with the whole history kept.
    for key in [("board", "coffee"), ("tube", "rocket")]:
        world.restore(plant(world, *key))
    crawl(home)
    third = statuses(home)
    for key in [("board", "coffee"), ("tube", "rocket")]:
        assert third[plant(world, *key).page_url] == ("reappeared", ["online", "removed", "reappeared"])
    assert third[plant(world, "board", "chelsea").page_url][0] == "removed"


def test_a_failed_check_never_marks_a_removed_page_online(changing):
    world, home = changing
    removed = plant(world, "board", "chelsea")  # removed (a notice page) since the previous test
    assert statuses(home)[removed.page_url][0] == "removed"
    world.restore(removed)  # it is back, but the site fails whenever we ask
    page = "/" + removed.page_url.split("/", 3)[3]
    for failure in (Resource(b"", status=503), Resource(b"<html>" + b"x" * 5000, drop=True)):
        world.board.resources[page] = failure
        crawl(home, "-s", "RETRY_TIMES=0")
        assert statuses(home)[removed.page_url] == ("removed", ["online", "removed"])
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        notes = [n for (n,) in conn.execute("SELECT note FROM observations WHERE page_url = ? AND error IS NOT NULL",
                                            (removed.page_url,))]  # fmt: skip
    assert any("page check failed: HTTP 503" in n for n in notes)


def test_an_unchanged_site_costs_little_on_the_second_visit(changing):
    """Pages and files answer 304 and the visit acts on what each page showed last time: every copy is
    still observed online, links still recorded, for headers only."""
    world, home = changing
    crawl(home)
    for server in world.sites.values():
        server.reset_counts()
    crawl(home)
    sent = sum(sum(s.bytes_sent.values()) for s in world.sites.values())
    full = sum(len(s.resources[path].body) * count for s in world.sites.values() for path, count in s.requests.items()
               if path in s.resources)  # what the same requests cost unconditionally  # fmt: skip
    assert sent < 0.05 * full, (sent, full)
    pages = [path for s in world.sites.values() for path in s.not_modified if not path.startswith(("/media/", "/stream/", "/images/"))]
    assert len(pages) > 10  # pages too, not only files
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        visit = conn.execute("SELECT id, detail FROM visits WHERE site = 'board' ORDER BY started_at DESC LIMIT 1").fetchone()
        online = conn.execute("SELECT page_url, media_url FROM sightings WHERE status IN ('online', 'reappeared')").fetchall()
        replayed = conn.execute("SELECT count(*) FROM visit_pages WHERE visit_id = ? AND http_status = 304 AND outcome = 'online'",
                                (visit[0],)).fetchone()[0]  # fmt: skip
        newest = {(page, media) for page, media in conn.execute(
            "SELECT o.page_url, o.media_url FROM observations o JOIN visits v ON v.id = o.visit_id"
            " WHERE o.error IS NULL AND v.started_at = (SELECT max(started_at) FROM visits w WHERE w.site = v.site)")}  # fmt: skip
    assert json.loads(visit[1])["hashed"] == 0 and replayed > 0
    assert online and set(online) <= newest  # every copy online was observed again on this visit


def test_a_changed_listing_is_read_again_and_its_new_links_followed(changing):
    world, home = changing
    crawl(home)
    start = STARTS["forum"]
    listing = world.forum.resources[start]
    world.forum.resources["/t/fresh-thread"] = Resource(b"<html><body><p>a thread posted since</p></body></html>")
    world.forum.resources[start] = Resource(listing.body.replace(b"</body>", b'<a href="/t/fresh-thread">new</a></body>'))
    world.forum.reset_counts()
    try:
        crawl(home)
    finally:
        world.forum.resources[start] = listing
    assert world.forum.requests[start] == 1 and start not in world.forum.not_modified  # read again in full
    assert world.forum.requests["/t/fresh-thread"] == 1  # and its new link followed
    assert sum(world.forum.not_modified.values()) > 0  # while the unchanged pages answered 304


def test_a_changed_cache_buster_keeps_the_copy_online_as_one_sighting(changing):
    """The wiki re-renders its file page with a new cache-busting query string: the same bytes at a new URL
    are the same copy, neither removed nor a second sighting."""
    world, home = changing
    original = next(p for p in world.planted if p.transform == "wiki-original")
    path = "/" + original.page_url.split("/", 3)[3]

    def on_page() -> list[tuple[int, str, str]]:
        with sqlite3.connect(home / "spreadtrace.db") as conn:
            return conn.execute("SELECT id, media_url, status FROM sightings WHERE page_url = ? ORDER BY id",
                                (original.page_url,)).fetchall()  # fmt: skip

    before = on_page()
    page = world.wiki.resources[path]
    world.wiki.resources[path] = Resource(page.body.replace(b"?20261122", b"?20261201"))
    crawl(home)
    assert on_page() == before and {status for _, _, status in before} == {"online"}
    moved = original.media_url.replace("?20261122", "?20261201")
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        seen = conn.execute("SELECT count(*) FROM observations WHERE page_url = ? AND media_url = ?",
                            (original.page_url, moved)).fetchone()[0]  # fmt: skip
        events = conn.execute("SELECT count(*) FROM sighting_events WHERE sighting_id IN (%s) AND status != 'online'"
                              % ",".join(str(i) for i, _, _ in before)).fetchone()[0]  # fmt: skip
    assert seen == 1 and events == 0
