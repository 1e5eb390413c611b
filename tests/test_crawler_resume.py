"""A crawl killed with SIGKILL and started again loses no observation and records none twice; two workers
sharing one visit on a real Redis split the pages, each page visited once, each sighting recorded once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from simsites import SimulatedWorld
from tests.test_end_to_end import STARTS, add_case, spreadtrace


def register(home: Path, world: SimulatedWorld, names, delay: str) -> None:
    for name in names:
        server = world.sites[name]
        added = spreadtrace(home, "site", "add", name, server.url(STARTS[name]), "--allow-domain", server.host,
                            "--delay", delay, "--allow-private")  # fmt: skip
        assert added.returncode == 0, added.stderr


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "spreadtrace", "--home", str(home), *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def distributed_workers(home: Path, redis_url: str, count: int = 2) -> list[tuple[str, str]]:
    """Run ``count`` `crawl --distributed` workers on one home and Redis to their end: (stdout, stderr) of
    each; each must exit 0."""
    workers = [start(home, "-s", f"SPREADTRACE_REDIS_URL={redis_url}", "crawl", "--distributed", "--no-progress")
               for _ in range(count)]  # fmt: skip
    try:
        outputs = [w.communicate(timeout=240) for w in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    assert [w.returncode for w in workers] == [0] * count, [err for _, err in outputs]
    return outputs


def query(home: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(home / "spreadtrace.db", timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def observed_pairs(home: Path) -> list[tuple[str, str]]:
    return sorted(query(home, "SELECT page_url, media_url FROM observations"))


@pytest.fixture(scope="module")
def clean_crawl(world, tmp_path_factory):
    """What one uninterrupted visit of the board observes: the yardstick for the others."""
    home = tmp_path_factory.mktemp("clean") / "home"
    assert add_case(home, world, home.parent / "reported").returncode == 0
    register(home, world, ["board", "forum"], "0")
    assert spreadtrace(home, "crawl", "--no-progress").returncode == 0
    return home


def test_a_killed_crawl_resumes_without_gaps_or_duplicates(world, tmp_path, clean_crawl):
    home = tmp_path / "home"
    assert add_case(home, world, tmp_path / "reported").returncode == 0
    register(home, world, ["board", "forum"], "0.15")
    crawl = start(home, "crawl", "--no-progress")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill once some pages are done and some are not
        time.sleep(0.2)
        if (home / "spreadtrace.db").exists() and query(home, "SELECT count(*) FROM visit_pages WHERE state = 'done'")[0][0] >= 4:
            break
    crawl.send_signal(signal.SIGKILL)
    crawl.wait()
    left = query(home, "SELECT count(*) FROM visit_pages WHERE state = 'queued'")[0][0]
    assert left > 0, "the crawl finished before it could be killed"
    assert query(home, "SELECT count(*) FROM visits WHERE finished_at IS NULL")[0][0] == 2

    resumed = spreadtrace(home, "crawl", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming visit" in resumed.stderr
    assert query(home, "SELECT count(*), count(finished_at) FROM visits") == [(2, 2)]  # the same two visits, ended
    assert observed_pairs(home) == observed_pairs(clean_crawl)  # nothing lost, nothing twice
    sightings = query(home, "SELECT reference_id, page_url, media_url FROM sightings ORDER BY 1, 2, 3")
    assert sightings == query(clean_crawl, "SELECT reference_id, page_url, media_url FROM sightings ORDER BY 1, 2, 3")


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (.ci/run installs it: apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


def test_two_redis_workers_split_one_crawl_without_duplicates(world, tmp_path, redis_url, clean_crawl):
    home = tmp_path / "home"
    assert add_case(home, world, tmp_path / "reported").returncode == 0
    # Slow enough that both workers are up before the seeder could finish alone (an idle Scrapy engine
    # looks for work every 5 s).
    register(home, world, ["board", "forum"], "0.3")
    for server in world.sites.values():
        server.reset_counts()
    outputs = distributed_workers(home, redis_url)

    files = {urlsplit(p.media_url).path for p in world.planted}  # an attachment link is asked for as a page, then as media
    pages = {name: [p for p in world.sites[name].requests if not p.startswith(("/media/", "/stream/", "/robots")) and p not in files]
             for name in ("board", "forum")}  # fmt: skip
    for name, paths in pages.items():
        assert paths and all(world.sites[name].requests[p] == 1 for p in paths), (name, world.sites[name].requests)
    assert observed_pairs(home) == observed_pairs(clean_crawl)  # every pair once, none missing
    assert query(home, "SELECT count(*), count(DISTINCT reference_id || page_url || media_url) FROM sightings")[0] == (
        len([p for p in world.planted if p.site in ("board", "forum")]),) * 2
    assert query(home, "SELECT count(*), count(finished_at) FROM visits") == [(2, 2)]
    per_worker = [sum(int(line.split("│")[2]) for line in out.splitlines() if line.startswith("│")) for out, _ in outputs]
    assert all(count > 0 for count in per_worker), per_worker  # both did part of the work
