"""A site found faster than it is fetched: Scrapy holds at most SPREADTRACE_FRONTIER_IN_MEMORY pages, the
rest wait in the journal, and every page is still fetched once (crawler/frontier.py)."""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simsites.server import Resource, SiteServer
from tests.test_crawler_resume import start
from tests.test_end_to_end import spreadtrace

PAGES = 400
IN_MEMORY = 20


@pytest.fixture
def wide_site() -> Iterator[SiteServer]:
    """Each page links the next two and one far ahead: pages are found about twice as fast as fetched."""
    server = SiteServer("wide", "127.0.0.12")
    for n in range(PAGES):
        links = "".join(f'<a href="/p/{m}">{m}</a>' for m in (n + 1, n + 2, n * 7 % PAGES) if m < PAGES)
        server.resources[f"/p/{n}"] = Resource(f"<html><body>{links}</body></html>".encode())
    server.resources["/robots.txt"] = Resource(b"User-agent: *\nAllow: /\n", "text/plain")
    server.start()
    yield server
    server.stop()


def register(home: Path, server: SiteServer, delay: str) -> None:
    added = spreadtrace(home, "site", "add", "wide", server.url("/p/0"), "--allow-domain", server.host, "--delay", delay,
                        "--allow-private", "--max-pages", str(PAGES * 2))  # fmt: skip
    assert added.returncode == 0, added.stderr


def fetched(server: SiteServer) -> dict[str, int]:
    return {path: count for path, count in server.requests.items() if path.startswith("/p/")}


def test_a_large_frontier_waits_in_the_journal_and_every_page_is_fetched_once(tmp_path, wide_site):
    home = tmp_path / "home"
    register(home, wide_site, "0")
    done = spreadtrace(home, "-s", f"SPREADTRACE_FRONTIER_IN_MEMORY={IN_MEMORY}", "-s", "LOG_LEVEL=INFO", "crawl", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert fetched(wide_site) == {f"/p/{n}": 1 for n in range(PAGES)}
    # Left alone, Scrapy's queue held more than a third of the site at once (1,129 of 3,000 pages).
    peak = re.search(r"'spreadtrace/frontier/peak_in_memory': (\d+)", done.stderr)
    assert peak is not None and int(peak.group(1)) == IN_MEMORY, done.stderr[-3000:]
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        assert conn.execute("SELECT count(*), count(finished_at) FROM visits").fetchone() == (1, 1)
        assert conn.execute("SELECT state, count(*) FROM visit_pages GROUP BY state").fetchall() == [("done", PAGES)]


def test_a_killed_crawl_with_pages_waiting_in_the_journal_resumes_them_all(tmp_path, wide_site):
    home = tmp_path / "home"
    register(home, wide_site, "0.01")
    crawl = start(home, "-s", f"SPREADTRACE_FRONTIER_IN_MEMORY={IN_MEMORY}", "crawl", "--no-progress")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(fetched(wide_site)) < PAGES // 4:
        time.sleep(0.1)
    crawl.send_signal(signal.SIGKILL)
    crawl.wait()
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        waiting = conn.execute("SELECT count(*) FROM visit_pages WHERE state = 'queued'").fetchone()[0]
    assert waiting > IN_MEMORY, "killed before the frontier spilled into the journal"
    before = fetched(wide_site)

    resumed = spreadtrace(home, "-s", f"SPREADTRACE_FRONTIER_IN_MEMORY={IN_MEMORY}", "crawl", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming visit" in resumed.stderr
    after = fetched(wide_site)
    assert set(after) == {f"/p/{n}" for n in range(PAGES)}  # no gap
    again = [path for path, count in after.items() if count > 1]
    assert all(after[path] == 2 for path in again)
    # Fetched twice only when the kill came between its fetch and its record.
    assert all(path in before for path in again) and len(again) < len(before), again
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        assert conn.execute("SELECT count(*), count(finished_at) FROM visits").fetchone() == (1, 1)
        assert conn.execute("SELECT state, count(*) FROM visit_pages GROUP BY state").fetchall() == [("done", PAGES)]
