"""The whole path on images: register a case, crawl the simulated sites (a wiki among them), recognise,
record, report.

Crawls run as real `spreadtrace` processes (a Twisted reactor runs once per process) against the
simulated sites this test process serves on loopback.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from warcio.archiveiterator import ArchiveIterator

from simsites import START_PATHS, SimulatedWorld
from tests.local_tsa import LocalTSA
from tracker.evidence import open_vault
from tracker.evidence.verify import verify_case

STARTS = START_PATHS


def spreadtrace(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spreadtrace", "--home", str(home), *args],
        capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})},
    )  # fmt: skip


def register_sites(home: Path, world: SimulatedWorld) -> None:
    for name, server in world.sites.items():
        added = spreadtrace(home, "site", "add", name, server.url(STARTS[name]), "--allow-domain", server.host,
                            "--delay", "0", "--allow-private")  # fmt: skip
        assert added.returncode == 0, added.stderr


def add_case(home: Path, world: SimulatedWorld, folder: Path) -> subprocess.CompletedProcess[str]:
    folder.mkdir(exist_ok=True)
    for name, data in world.reference_files().items():
        (folder / name).write_bytes(data)
    return spreadtrace(home, "case", "add", "victim-1", str(folder))


def report(home: Path) -> dict:
    result = spreadtrace(home, "report", "victim-1", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "spreadtrace.db")


@pytest.fixture(scope="module")
def crawled(world, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "home"
    assert add_case(home, world, home.parent / "reported").returncode == 0
    register_sites(home, world)
    tsa = LocalTSA("e2e-tsa").start()  # the visit's captures are timestamped when it ends
    try:
        root = home.parent / "tsa-root.pem"
        root.write_bytes(tsa.root.public_bytes(Encoding.PEM))
        assert spreadtrace(home, "evidence", "tsa", "e2e-tsa", tsa.url, "--root", str(root)).returncode == 0
        crawl = spreadtrace(home, "crawl", "--no-progress")
    finally:
        tsa.stop()
    assert crawl.returncode == 0, crawl.stderr
    return home, crawl, report(home)


def found_and_planted(data: dict, world: SimulatedWorld) -> tuple[set, set, set]:
    """(page, media, reference label) of every sighting, of every plant, and of the plants that must be found."""
    labels = {ref["id"]: ref["label"] for ref in data["references"]}
    found = {(s["page_url"], s["media_url"], labels[s["reference_id"]]) for s in data["sightings"]}
    planted = {(p.page_url, p.media_url, f"{p.reference}.png"): p.required for p in world.planted}
    return found, set(planted), {key for key, required in planted.items() if required}


def test_every_planted_copy_is_found_and_nothing_else(crawled, world):
    _, _, data = crawled
    found, planted, required = found_and_planted(data, world)
    assert required <= found <= planted  # every re-upload, and no sighting among the unrelated images
    assert len(data["sightings"]) == len(found)  # one sighting per copy
    for s in data["sightings"]:
        plant = next(p for p in world.planted if (p.page_url, p.media_url) == (s["page_url"], s["media_url"]))
        assert (s["site"], s["status"], s["verdict"]) == (plant.site, "online", "match")
        assert s["claimed_at"] == plant.claimed_at and s["confidence"] >= 0.7
        assert s["signals"] and all({"kind", "distance", "threshold", "agreed"} <= set(x) for x in s["signals"])


def test_first_appearance_is_the_earliest_planted_copy(crawled, world):
    _, _, data = crawled
    earliest = min((p for p in world.planted if p.claimed_at is not None), key=lambda p: p.claimed_at or "")
    first = data["first_appearance"]
    assert (first["media_url"], first["page_url"]) == (earliest.media_url, earliest.page_url)
    assert (first["time"], first["basis"], first["claimed_source"]) == (earliest.claimed_at, "claimed", "html:time")


def test_spread_orders_hosts_by_first_appearance(crawled, world):
    _, _, data = crawled
    first_by_site: dict[str, str] = {}
    for p in world.planted:  # the wiki states no upload times: it comes last, at the time we saw it
        claimed = p.claimed_at or "9999"
        first_by_site[p.site] = min(first_by_site.get(p.site, claimed), claimed)
    expected = [world.sites[site].url("").removeprefix("http://") for site in sorted(first_by_site, key=first_by_site.get)]
    assert [h["host"] for h in data["spread"]] == expected
    count = len(data["sightings"])
    assert data["summary"] == {"sightings": count, "confirmed": count, "needs_review": 0, "hosts": 4, "online": count}


def test_broken_media_is_recorded_and_skipped_with_one_line_each(crawled, world):
    home, crawl, _ = crawled
    with db(home) as conn:
        errors = dict(conn.execute("SELECT media_url, error FROM observations WHERE error IS NOT NULL"))
    assert set(errors) == set(world.broken)
    assert errors[world.board.url("/media/broken-bomb.png")].startswith("image too large")
    assert errors[world.forum.url("/media/broken-missing.jpg")] == "HTTP 404"
    for url in world.broken:
        if not url.endswith("missing.jpg"):
            assert sum(1 for line in crawl.stderr.splitlines() if f"skipped {url}: " in line) == 1


def test_every_page_and_media_pair_is_observed(crawled, world):
    home, _, _ = crawled
    with db(home) as conn:
        pairs = conn.execute("SELECT count(*), count(DISTINCT page_url || ' ' || media_url) FROM observations").fetchone()
        hashed = conn.execute("SELECT count(*) FROM media").fetchone()[0]
        videos = conn.execute("SELECT count(*) FROM media WHERE kind = 'video'").fetchone()[0]
        observed = {url for (url,) in conn.execute("SELECT DISTINCT media_url FROM observations")}
        distinct = conn.execute("SELECT count(DISTINCT sha256) FROM observations WHERE sha256 IS NOT NULL").fetchone()[0]
    assert pairs[0] == pairs[1]  # one observation per pair in a visit
    served = [s.url(path) for s in world.sites.values() for path in s.resources if path.startswith(("/media/", "/stream/"))]
    assert set(served) <= observed  # every file the board, tube site and forum serve was met
    assert videos == sum(1 for url in served if "/stream/" in url) == 10  # spooled to disk, hashed as video
    assert hashed == distinct  # every distinct file hashed once (the 404 has no bytes; html-as-jpg does)


def test_a_second_visit_adds_observations_but_no_duplicate_sightings(crawled):
    home, _, before = crawled
    with db(home) as conn:
        observations, media = conn.execute("SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM media)").fetchone()
    again = spreadtrace(home, "crawl", "--progress")
    assert again.returncode == 0, again.stderr
    for site in ("board", "tube", "forum", "wiki"):  # the progress display's final state, one line per site
        count = sum(1 for s in before["sightings"] if s["site"] == site)
        assert re.search(rf"{site}\s+\d+ pages, \d+ media, {count} sightings — finished", again.stderr), again.stderr
    after = report(home)
    assert [s["id"] for s in after["sightings"]] == [s["id"] for s in before["sightings"]]
    for old, new in zip(before["sightings"], after["sightings"], strict=True):
        assert new["first_seen"] == old["first_seen"] and new["last_seen"] >= old["last_seen"]
    with db(home) as conn:
        assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] == 2 * observations
        assert conn.execute("SELECT count(*) FROM media").fetchone()[0] == media  # nothing hashed twice


def test_media_over_the_size_cap_is_skipped_with_one_line_and_recorded(world, tmp_path):
    home = tmp_path / "home"
    register_sites(home, world)
    result = spreadtrace(home, "-s", "SPREADTRACE_IMAGE_MAX_BYTES=40000", "crawl", "--site", "tube", "--no-progress")
    assert result.returncode == 0, result.stderr
    with db(home) as conn:
        capped = [url for (url,) in conn.execute("SELECT media_url FROM observations WHERE error LIKE 'larger than%'")]
    sizes = {world.tube.url(path): len(r.body) for path, r in world.tube.resources.items() if path.startswith("/media/")}
    assert sorted(capped) == sorted(url for url, size in sizes.items() if size > 40000)
    assert capped  # the cap really cut something
    for url in capped:
        assert [line for line in result.stderr.splitlines() if url in line] == [
            f"WARNING: skipped {url}: larger than the 40,000-byte media cap ({sizes[url]:,} bytes)"
        ]


def test_a_case_opened_after_the_crawl_finds_what_was_seen_before(world, tmp_path):
    home = tmp_path / "home"
    register_sites(home, world)
    assert spreadtrace(home, "crawl", "--no-progress").returncode == 0
    added = add_case(home, world, tmp_path / "reported")
    assert added.returncode == 0, added.stderr
    data = report(home)
    found, planted, required = found_and_planted(data, world)
    assert required <= found <= planted
    assert f"{len(found)} sighting(s) found among media seen before" in added.stdout


def test_the_scrapy_project_runs_on_its_own_from_the_repository_root(world, tmp_path):
    home = tmp_path / "home"
    register_sites(home, world)
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "site", "-a", "site=tube",
         "-s", f"SPREADTRACE_SITES_FILE={home / 'sites.toml'}", "-s", f"SPREADTRACE_STORE_URI=sqlite:///{home / 'st.db'}"],
        capture_output=True, text=True, timeout=240, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(home / "st.db") as conn:
        urls = {row[0] for row in conn.execute("SELECT media_url FROM observations")}
    assert {p.media_url for p in world.planted if p.site == "tube"} <= urls


def test_demo_runs_the_main_job_in_a_fresh_home(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "spreadtrace", "demo", "--no-progress"], capture_output=True, text=True, timeout=240,
        env={**os.environ, "SPREADTRACE_HOME": str(tmp_path / "demo")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = re.search(r"Case demo: 3 reference\(s\), (\d+) sighting\(s\) on 4 host\(s\), (\d+) online", result.stdout)
    assert summary is not None and summary.group(1) == summary.group(2) and int(summary.group(1)) >= 10, result.stdout
    assert "First appearance: 2026-01-05T22:14:00Z" in result.stdout
    assert (tmp_path / "demo" / "spreadtrace.db").exists()


# -- the wiki: pages behind ".jpg" URLs, robots.txt, fragments, cache-busting query strings -------------


def test_a_copy_shown_only_in_a_gallery_is_found_through_its_file_page(crawled, world):
    _, _, data = crawled
    [gallery_only] = [p for p in world.planted if p.transform == "wiki-original" and p.reference == "rocket"]
    assert "/wiki/File:" in gallery_only.page_url and gallery_only.page_url.endswith(".jpg")
    on_file_page = [s for s in data["sightings"] if s["page_url"] == gallery_only.page_url]
    assert gallery_only.media_url in {s["media_url"] for s in on_file_page}
    assert all(s["verdict"] == "match" for s in on_file_page)


def test_one_sighting_per_page_and_bytes(crawled, world):
    home, _, _ = crawled
    with db(home) as conn:
        repeated = conn.execute(
            "SELECT page_url, sha256, reference_id, count(*) FROM sightings GROUP BY 1, 2, 3 HAVING count(*) > 1"
        ).fetchall()
        original = next(p for p in world.planted if p.transform == "wiki-original")
        urls = {url for (url,) in conn.execute("SELECT media_url FROM observations WHERE page_url = ?", (original.page_url,))}
    assert repeated == []
    plain = original.media_url.split("?")[0]
    assert {plain, original.media_url} <= urls  # the file page showed the same bytes under both URLs


def test_a_finished_visit_leaves_nothing_queued_and_robots_pages_are_skipped(crawled, world):
    home, _, _ = crawled
    with db(home) as conn:
        queued = conn.execute(
            "SELECT p.url FROM visit_pages p JOIN visits v ON v.id = p.visit_id WHERE v.finished_at IS NOT NULL"
            " AND p.state = 'queued'"
        ).fetchall()
        pages = {url: (outcome, reason) for url, outcome, reason in conn.execute(
            "SELECT url, outcome, reason FROM visit_pages WHERE url LIKE ?", (world.wiki.url("/") + "%",))}  # fmt: skip
    assert queued == []
    assert not [url for url in pages if "#" in url]  # links that differ only by fragment are one page
    special = [url for url in pages if "/wiki/Special:" in url or "/w/index.php" in url]
    assert special and all(pages[url] == ("skipped", "disallowed by robots.txt") for url in special)
    assert not [path for path in world.wiki.requests if path.startswith(("/wiki/Special:", "/w/"))]
    file_pages = [url for url in pages if "/wiki/File:" in url]
    assert len(file_pages) == 6 and all(pages[url][0] == "online" for url in file_pages)


def test_a_link_without_a_file_extension_that_answers_with_an_image_is_media_of_its_page(crawled, world):
    home, _, data = crawled
    [attachment] = [p for p in world.planted if p.transform == "attachment"]
    assert "." not in attachment.media_url.rsplit("/", 1)[-1]
    assert (attachment.page_url, attachment.media_url) in {(s["page_url"], s["media_url"]) for s in data["sightings"]}
    with db(home) as conn:
        outcomes = {o for (o,) in conn.execute("SELECT outcome FROM visit_pages WHERE url = ?", (attachment.media_url,))}
    assert outcomes == {"media"}  # followed as a link, found to be a file: not a failed page


def test_every_sighting_is_captured_as_sealed_evidence_that_verifies(crawled, world):
    home, _, data = crawled
    vault = open_vault(home)
    captures = [e for e in vault.custody("victim-1").entries() if e.kind == "capture"]
    assert {e.detail["sighting"] for e in captures} == {s["id"] for s in data["sightings"]}  # each, once
    assert all(e.detail["why"] == "first seen" for e in captures), [(e.detail["why"], e.detail["sighting"], e.detail["page_url"], e.detail["media_url"]) for e in captures]
    for entry in captures:
        [warc] = [a for a in entry.detail["artefacts"] if a["role"] == "warc"]
        records = {}
        with io.BytesIO(b"".join(vault.read("victim-1", warc["sha256"]))) as stream:
            for record in ArchiveIterator(stream, check_digests="raise"):  # SHA-256 digests, checked
                if record.rec_type in ("response", "revisit"):
                    records[record.rec_headers.get_header("WARC-Target-URI")] = record.rec_headers.get_header("WARC-Payload-Digest")
        media = entry.detail["media_sha256"]
        assert records[entry.detail["media_url"]] == "sha256:" + base64.b32encode(bytes.fromhex(media)).decode()
        linked = "/attachment/" in entry.detail["media_url"]  # a forum post's link to the file, not an embed
        assert (entry.detail["page_url"] in records) is entry.detail["page_in_warc"] is (not linked), entry.detail
        assert entry.detail["servers"] and entry.detail["decision"]["decided_by"]
    # Each capture's page, screenshotted in Chromium (for a linked file: the file's own URL is the page).
    shots = [e for e in vault.custody("victim-1").entries() if e.kind == "screenshot"]
    assert sorted(e.detail["capture_seq"] for e in shots) == [e.seq for e in captures]
    assert all(e.detail["http_status"] == 200 and e.detail["page_url"] == next(
        c.detail["page_url"] for c in captures if c.seq == e.detail["capture_seq"]) for e in shots)
    assert vault.owed("victim-1") == {}  # nothing owed to the next visit
    kept = {a["sha256"] for e in captures + shots for a in e.detail["artefacts"]}
    check = verify_case(vault, "victim-1", ["e2e-tsa"])
    assert check.ok and check.artefacts == len(kept)
    assert check.stamped == len(captures) + len(shots)  # stamped when the visit ended; the timestamp's own entry waits
    assert check.pending == [f"entry {len(captures) + len(shots) + 1}: not yet timestamped"]
    # Sealed at rest: no reported picture's bytes anywhere under the home.
    reported = [data for data in world.reference_files().values()]
    for path in (home / "evidence").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(picture[100:164] in content for picture in reported), path


def test_the_crawls_evidence_exports_as_a_wacz_that_validates_with_its_pages_and_screenshots(crawled, tmp_path):
    import zipfile

    home, _, _ = crawled
    bundle = tmp_path / "victim-1.wacz"
    exported = spreadtrace(home, "evidence", "export", "victim-1", "-o", str(bundle))
    assert exported.returncode == 0, exported.stderr
    validated = subprocess.run([str(Path(sys.executable).parent / "wacz"), "validate", "-f", str(bundle)], capture_output=True, text=True)
    assert validated.returncode == 0 and "Validation succeeded" in validated.stdout, validated.stdout + validated.stderr
    checked = spreadtrace(home, "evidence", "verify-wacz", str(bundle))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    vault = open_vault(home)
    entries = list(vault.custody("victim-1").entries())
    captures = [e for e in entries if e.kind == "capture"]
    with zipfile.ZipFile(bundle) as wacz:
        names = set(wacz.namelist())
        pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()[1:]]
        index = wacz.read("indexes/index.cdxj").decode()
    assert sorted(p["capture"] for p in pages) == [e.seq for e in captures]  # the pages are the captured pages
    shots = [e for e in entries if e.kind == "screenshot"]
    assert {f"archive/screenshot-{e.seq:08d}.warc.gz" for e in shots} <= names and "archive/screenshots.warc.gz" in names
    linked = [e for e in captures if not e.detail["page_in_warc"]]
    assert linked and all(e.detail["page_url"] in index for e in linked)  # the linking page, as Chromium fetched it
