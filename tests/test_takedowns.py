"""Takedown notices end to end: drafted from a real crawl of the simulated sites, sent to a real SMTP server
on loopback (headers and attachment parsed), and followed through the deadline loop with time moved
forward: one host removes its copies in time, one ignores the notice (overdue, re-notice drafted), one
removes and then restores a copy (closed, then reopened)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from simsites import SimulatedWorld
from tests.local_smtp import LocalSMTP
from tests.test_end_to_end import STARTS, add_case, spreadtrace
from tracker.evidence import open_vault
from tracker.evidence.verify import verify_case


def at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def smtp():
    server = LocalSMTP().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, smtp):
    world = SimulatedWorld(seed=16)
    world.start()
    home = tmp_path_factory.mktemp("takedowns") / "home"
    assert add_case(home, world, home.parent / "reported").returncode == 0
    for name, server in world.sites.items():
        contact = [] if name == "wiki" else ["--abuse-contact", f"abuse@{name}.example"]
        added = spreadtrace(home, "site", "add", name, server.url(STARTS[name]), "--allow-domain", server.host, "--delay", "0",
                            "--allow-private", "--removed-text", "has been removed", *contact)  # fmt: skip
        assert added.returncode == 0, added.stderr
    settings = [arg for name, value in {**smtp.settings(), "SPREADTRACE_NOTICE_ORGANISATION": "Helpline",
                                        "SPREADTRACE_NOTICE_NOTIFIER": "Ana Analyst",
                                        "SPREADTRACE_NOTICE_EMAIL": "takedowns@helpline.example"}.items()
                for arg in ("-s", f"{name}={value}")]  # fmt: skip
    assert cli(home, settings, "crawl", "--no-progress").returncode == 0
    yield world, home, settings
    world.stop()


def cli(home, settings, *args):
    return spreadtrace(home, *settings, *args)


def by_site(world, home) -> dict[str, list[dict]]:
    listed = json.loads(spreadtrace(home, "takedown", "list", "--format", "json").stdout)["notices"]
    sites = {server.host + ":" + str(server.port): name for name, server in world.sites.items()}
    found: dict[str, list[dict]] = {}
    for notice in listed:
        found.setdefault(sites[notice["host"]], []).append(notice)
    return found


def test_notices_go_out_and_the_deadline_loop_closes_marks_overdue_and_reopens(crawled, smtp):
    world, home, settings = crawled
    drafted = cli(home, settings, "takedown", "draft", "victim-1", "--template", "takeitdown")
    assert drafted.returncode == 0, drafted.stderr
    first = by_site(world, home)
    assert set(first) == {"board", "tube", "forum", "wiki"}  # one notice per host with copies
    assert all(len(v) == 1 and v[0]["status"] == "draft" for v in first.values())
    assert first["wiki"][0]["recipient"] is None and "no abuse contact" in first["wiki"][0]["flag"]
    assert "notice" in drafted.stderr and "flagged: no abuse contact" in drafted.stderr
    board, tube, forum = first["board"][0], first["tube"][0], first["forum"][0]
    planted = {site: {p.page_url for p in world.planted if p.site == site} for site in ("board", "tube", "forum")}
    assert {i["page_url"] for i in board["items"]} <= planted["board"]
    assert all(i["captures"] and i["captures"][0]["warc_sha256"] for i in board["items"])  # cited from the evidence

    # A refusing SMTP server: unsent, with the reason; nothing received; sent once when it is back.
    smtp.mode = "refuse"
    refused = cli(home, settings, "takedown", "send", str(tube["id"]))
    assert refused.returncode == 3 and "550 5.7.1 Message rejected by policy" in refused.stderr
    assert not smtp.received and by_site(world, home)["tube"][0]["last_error"].startswith("SMTP 127.0.0.1:")
    smtp.mode = "ok"
    for notice in (board, tube):
        sent = cli(home, settings, "takedown", "send", str(notice["id"]))
        assert sent.returncode == 0, sent.stderr
    again = cli(home, settings, "takedown", "send", str(board["id"]))
    assert again.returncode != 0 and "is sent" in again.stderr  # never twice unless asked
    assert len(smtp.received) == 2
    mail = next(r.message for r in smtp.received if r.recipients == ["abuse@board.example"])
    assert mail["Subject"].startswith("TAKE IT DOWN Act removal request") and mail["From"] == "Ana Analyst <takedowns@helpline.example>"
    assert mail["X-Spreadtrace-Notice"] == f"victim-1/{board['id']}" and mail["Message-ID"]
    body = mail.get_body(("plain",)).get_content()
    assert all(i["page_url"] in body for i in board["items"]) and "within 48 hours" in body and "good faith" in body
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/html" and attachment.get_filename().startswith("evidence-")
    summary = attachment.get_content()
    assert all(c["hash"] in summary for i in board["items"] for c in i["captures"]) and "<img" not in summary

    # The forum's notice went through its web form two days ago: its clock has run out.
    marked = cli(home, settings, "takedown", "send", str(forum["id"]), "--mark-sent", "--at", at(-49))
    assert marked.returncode == 0, marked.stderr
    # The tube ignores its notice; the board removes its copies in time; the forum removes its copy late.
    for plant in world.planted:
        if plant.site == "board" and plant.page_url in {i["page_url"] for i in board["items"]}:
            world.take_down(plant, "404")
        if plant.site == "forum" and plant.page_url in {i["page_url"] for i in forum["items"]}:
            world.take_down(plant, "notice")
    checked = cli(home, settings, "takedown", "check", "--now", at(49))  # two days on: every deadline has passed
    assert checked.returncode == 0, checked.stderr
    after = by_site(world, home)
    assert after["board"][0]["status"] == "removed" and after["board"][0]["detail"]["within_deadline"] is True
    assert after["forum"][0]["status"] == "removed" and after["forum"][0]["detail"]["within_deadline"] is False
    tube_now, renotice = after["tube"]
    assert tube_now["status"] == "overdue" and renotice["follows"] == tube["id"] and renotice["status"] == "draft"
    assert "still online at" in renotice["body"] and set(tube_now["detail"]["still_online"]) == {i["page_url"] for i in tube["items"]}
    # The re-check captured exactly the notices' pages again, and the re-notice cites that new capture.
    vault = open_vault(home)
    rechecks = [e for e in vault.custody("victim-1").entries() if e.kind == "capture" and e.detail["why"].startswith("deadline check")]
    assert {e.detail["page_url"] for e in rechecks} == {i["page_url"] for n in (board, tube, forum) for i in n["items"]}
    assert all(len(i["captures"]) >= 2 and i["captures"][-1]["why"].startswith("deadline check") for i in renotice["items"])
    with sqlite3.connect(home / "spreadtrace.db") as conn:
        visited = {url for (url,) in conn.execute("SELECT url FROM visit_pages WHERE visit_id = (SELECT id FROM visits WHERE site = 'tube' ORDER BY started_at DESC LIMIT 1)")}
    assert visited <= {i["page_url"] for i in tube["items"]} | {i["media_url"] for i in tube["items"]}  # not the whole site

    # The forum restores its copy: the next visit sees it back, and the closed notice reopens.
    for plant in world.planted:
        if plant.site == "forum" and plant.page_url in {i["page_url"] for i in forum["items"]}:
            world.restore(plant)
    assert cli(home, settings, "crawl", "--no-progress", "--site", "forum").returncode == 0
    assert cli(home, settings, "takedown", "check").returncode == 0
    forum_now = by_site(world, home)["forum"]
    assert forum_now[0]["status"] == "reopened" and forum_now[-1]["follows"] == forum["id"]

    figures = {f["host"]: f for f in json.loads(spreadtrace(home, "takedown", "list", "--format", "json").stdout)["hosts"]}
    board_host = board["host"]
    assert (figures[board_host]["sent"], figures[board_host]["closed"], figures[board_host]["within_deadline"]) == (1, 1, 1)
    assert figures[tube["host"]]["overdue"] == 1 and figures[board_host]["median_hours"] is not None
    assert "Per host" in spreadtrace(home, "takedown", "list").stdout
    assert verify_case(vault, "victim-1").ok  # the sent notices are custody entries that chain
    assert [e.detail["notice"] for e in vault.custody("victim-1").entries() if e.kind == "notice"] == [board["id"], tube["id"], forum["id"]]
