"""Manners and safety: Retry-After, slow and broken pages, redirect loops, huge files, robots.txt,
the User-Agent, and no requests to private addresses unless a site entry allows them."""

from __future__ import annotations

import sqlite3

import pytest

from crawler.middlewares import refused_address, retry_after_seconds
from simsites import SimulatedWorld
from tests.test_end_to_end import add_case, spreadtrace


@pytest.fixture(scope="module")
def troubled(tmp_path_factory):
    world = SimulatedWorld(seed=5)
    urls = world.add_trouble()
    world.start()
    home = tmp_path_factory.mktemp("politeness") / "home"
    assert add_case(home, world, home.parent / "reported").returncode == 0
    forum = world.forum
    added = spreadtrace(home, "site", "add", "forum", forum.url("/forum/"), "--allow-domain", forum.host, "--delay", "0",
                        "--allow-private")  # fmt: skip
    assert added.returncode == 0, added.stderr
    crawl = spreadtrace(home, "-s", "SPREADTRACE_CONTACT=abuse-desk@support.example", "crawl", "--no-progress")
    assert crawl.returncode == 0, crawl.stderr
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        pages = {url: (outcome, reason) for url, outcome, reason in conn.execute("SELECT url, outcome, reason FROM visit_pages")}
        observations = {m: e for m, e in conn.execute("SELECT media_url, error FROM observations")}
        sightings = {p for (p,) in conn.execute("SELECT page_url FROM sightings")}
    yield world, urls, crawl, pages, observations, sightings
    world.stop()


def test_a_429_with_retry_after_is_waited_out_and_retried(troubled):
    world, urls, _, pages, _, sightings = troubled
    times = [t for t, path, agent in world.forum.log if path == "/forum/topic/limited" and "(screenshot)" not in agent]
    assert len(times) == 2 and times[1] - times[0] >= 1.9  # asked to wait 2 s
    assert pages[urls["limited"]][0] == "online" and urls["limited"] in sightings


def test_slow_broken_looping_and_huge_are_each_recorded_and_the_crawl_goes_on(troubled):
    world, urls, _, pages, observations, sightings = troubled
    assert pages[urls["slow"]][0] == "online"
    assert pages[urls["broken"]][0] == "failed"
    assert pages[urls["loop"]][0] == "failed" and "redirect" in pages[urls["loop"]][1].lower()
    huge = world.forum.url("/media/huge.jpg")
    assert "cap" in observations[huge] and world.forum.bytes_sent["/media/huge.jpg"] < 300 * 1024 * 1024
    assert {p.page_url for p in world.planted if p.site == "forum"} <= sightings  # the crawl went on past them all


def test_robots_txt_is_obeyed_and_the_user_agent_names_the_contact(troubled):
    world, urls, _, pages, _, _ = troubled
    assert world.forum.requests["/admin/secret"] == 0
    assert "robots" in pages[urls["forbidden"]][1].lower()
    agents = {agent for _, _, agent in world.forum.log}
    assert agents and all("spreadtrace/" in a and "abuse-desk@support.example" in a for a in agents)


@pytest.mark.parametrize(
    ("address", "refused"),
    [("127.0.0.2", True), ("10.1.2.3", True), ("192.168.0.1", True), ("172.16.5.4", True), ("169.254.169.254", True),
     ("100.64.0.1", True), ("::1", True), ("fe80::1", True), ("fd00::1", True), ("::ffff:127.0.0.1", True),
     ("0.0.0.0", True), ("224.0.0.1", True), ("93.184.215.14", False), ("2606:4700::1111", False)],
)  # fmt: skip
def test_private_loopback_and_link_local_addresses_are_refused(address, refused):
    assert refused_address(address) is refused


def test_a_site_without_allow_private_never_reaches_a_private_address(world, home):
    board = world.board
    before = len(board.log)
    assert spreadtrace(home, "site", "add", "board", board.url("/b/"), "--delay", "0").returncode == 0
    crawl = spreadtrace(home, "crawl", "--no-progress")
    assert crawl.returncode != 0
    assert f"refused {board.url('/b/')}: {board.host} is a private address" in crawl.stderr
    assert len(board.log) == before  # not even robots.txt was asked for


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds(b"120") == 120
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past: go now
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None
