"""The whole path on images: register a case, crawl the simulated sites, recognise, record, report.

Crawls run as real `spreadtrace` processes (a Twisted reactor runs once per process) against the
simulated sites this test process serves on loopback.
"""

from __future__ import annotations

import json
import re
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from simsites import SimulatedWorld

STARTS = {"board": "/b/", "tube": "/videos/1", "forum": "/forum/"}


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
    crawl = spreadtrace(home, "crawl", "--no-progress")
    assert crawl.returncode == 0, crawl.stderr
    return home, crawl, report(home)


def test_every_planted_copy_is_found_and_nothing_else(crawled, world):
    _, _, data = crawled
    labels = {ref["id"]: ref["label"] for ref in data["references"]}
    found = {(s["media_url"], labels[s["reference_id"]]) for s in data["sightings"]}
    planted = {(p.media_url, f"{p.reference}.png") for p in world.planted}
    assert found == planted  # every re-upload, and no sighting among the unrelated images
    assert len(data["sightings"]) == len(world.planted)
    for s in data["sightings"]:
        plant = next(p for p in world.planted if p.media_url == s["media_url"])
        assert (s["page_url"], s["site"], s["status"]) == (plant.page_url, plant.site, "online")
        assert s["claimed_at"] == plant.claimed_at
        assert s["signals"] and all({"kind", "distance", "threshold", "agreed"} <= set(x) for x in s["signals"])


def test_first_appearance_is_the_earliest_planted_copy(crawled, world):
    _, _, data = crawled
    earliest = min(world.planted, key=lambda p: p.claimed_at)
    first = data["first_appearance"]
    assert (first["media_url"], first["page_url"]) == (earliest.media_url, earliest.page_url)
    assert (first["time"], first["basis"], first["claimed_source"]) == (earliest.claimed_at, "claimed", "html:time")


def test_spread_orders_hosts_by_first_appearance(crawled, world):
    _, _, data = crawled
    first_by_site: dict[str, str] = {}
    for p in world.planted:
        first_by_site[p.site] = min(first_by_site.get(p.site, p.claimed_at), p.claimed_at)
    expected = [world.sites[site].url("").removeprefix("http://") for site in sorted(first_by_site, key=first_by_site.get)]
    assert [h["host"] for h in data["spread"]] == expected
    assert data["summary"] == {"sightings": 6, "hosts": 3, "online": 6}


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
    assert pairs[0] == pairs[1]  # one observation per pair in a visit
    served = [path for s in world.sites.values() for path in s.resources if path.startswith(("/media/", "/stream/"))]
    assert videos == sum(1 for path in served if path.startswith("/stream/")) == 10  # spooled to disk, hashed as video
    assert hashed == len(served)  # every distinct file hashed once (the 404 has no bytes; html-as-jpg does)


def test_a_second_visit_adds_observations_but_no_duplicate_sightings(crawled):
    home, _, before = crawled
    with db(home) as conn:
        observations, media = conn.execute("SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM media)").fetchone()
    again = spreadtrace(home, "crawl", "--progress")
    assert again.returncode == 0, again.stderr
    for site in ("board", "tube", "forum"):  # the progress display's final state, one line per site
        assert re.search(rf"{site}\s+\d+ pages, \d+ media, 2 sightings — finished", again.stderr), again.stderr
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
            f"WARNING: skipped {url}: larger than the 40,000-byte media cap"
        ]


def test_a_case_opened_after_the_crawl_finds_what_was_seen_before(world, tmp_path):
    home = tmp_path / "home"
    register_sites(home, world)
    assert spreadtrace(home, "crawl", "--no-progress").returncode == 0
    added = add_case(home, world, tmp_path / "reported")
    assert added.returncode == 0, added.stderr
    assert "6 sighting(s) found among media seen before" in added.stdout
    data = report(home)
    assert {s["media_url"] for s in data["sightings"]} == {p.media_url for p in world.planted}


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
    assert "Case demo: 3 reference(s), 6 sighting(s) on 3 host(s), 6 online" in result.stdout
    assert "First appearance: 2026-01-05T22:14:00Z" in result.stdout
    assert (tmp_path / "demo" / "spreadtrace.db").exists()
