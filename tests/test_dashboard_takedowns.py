"""The dashboard's takedown notices: grouped by where they stand; drafted, edited, read, marked sent and sent
over HTTP through the CLI's own service (one sent through a real SMTP server on loopback, found there);
the service's edit of a draft; and in real headless Chromium an analyst drafting a notice, reading it and
marking it sent, while a viewer sees no forms and is refused. Each test works on a home of its own
(`tests.dashboard_homes`). Screenshots: /tmp/shots/dash-takedowns.png, /tmp/shots/dash-notice.png."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from dashboards.web import create_app
from spreadtrace.app import App
from tests.dashboard_homes import copy_home, record_home, serving
from tests.local_smtp import LocalSMTP
from tests.report_case import CASE
from tests.test_dashboard import SHOTS, browser_login, logged_in, token
from tracker.chromium import chromium, find_chromium
from tracker.evidence.vault import open_vault
from tracker.models import AuditEvent
from tracker.takedowns.drafting import Organisation, template_environment
from tracker.takedowns.models import NoticeStatus
from tracker.takedowns.service import MAX_SUBJECT, NoticeRefused, NoticeTextRefused, Takedowns

NOTICE_SETTINGS = {"SPREADTRACE_NOTICE_ORGANISATION": "Helpline", "SPREADTRACE_NOTICE_EMAIL": "takedowns@helpline.example"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, hash_options, policy):
    return record_home(tmp_path_factory.mktemp("takedowns") / "home", hash_options, policy)


@pytest.fixture(scope="module")
def smtp():
    server = LocalSMTP().start()
    yield server
    server.stop()


def started(home: Path, overrides: dict[str, str]) -> tuple[App, Any]:
    spreadtrace = App(home, overrides)
    return spreadtrace, create_app(spreadtrace.home, spreadtrace.settings)


@pytest.fixture
def app(recorded, tmp_path):
    running = started(copy_home(recorded, tmp_path), NOTICE_SETTINGS)  # no SMTP server configured
    yield running
    running[0].end()


@pytest.fixture
def mailing_app(recorded, tmp_path, smtp):
    running = started(copy_home(recorded, tmp_path), {**NOTICE_SETTINGS, **smtp.settings()})
    yield running
    running[0].end()


def audited(app: tuple[App, Any], action: str) -> list[AuditEvent]:
    return [e for e in app[0].store.audit_events() if e.action == action]


def draft(c: TestClient, host: str = "tube.example", template: str = "dsa") -> httpx.Response:
    csrf = token(c.get("/takedowns").text)
    answer: httpx.Response = c.post("/takedowns/draft", data={"csrftoken": csrf, "case": CASE, "template": template, "hosts": host})
    return answer


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def section(page: str, key: str) -> str:
    found = re.search(rf'<section class="notices" id="{key}">(.*?)</section>', page, re.S)
    assert found is not None, key
    return found.group(1)


# -- the service -----------------------------------------------------------------------------------------

def test_the_service_edits_a_draft_only_records_who_and_refuses_text_that_cannot_go_out(app):
    spreadtrace = app[0]
    service = Takedowns(spreadtrace.store, open_vault(spreadtrace.home), template_environment(spreadtrace.home),
                        Organisation("Helpline", "Ana", "takedowns@helpline.example"), "ana")  # fmt: skip
    [notice] = service.draft(CASE, "dsa", {"tube": "abuse@tube.example"}, ["tube.example"])
    assert notice.id is not None
    edited = service.edit(notice.id, "  Notice:\n  two copies ", "Dear host,\r\n\r\nplease remove them.\n\n")
    assert (edited.subject, edited.body, edited.items) == ("Notice: two copies", "Dear host,\n\nplease remove them.\n", notice.items)
    assert spreadtrace.store.notice(notice.id).body == edited.body
    assert [e.what for e in spreadtrace.store.notice_events(notice.id)] == ["drafted", "edited"]
    [event] = audited(app, "edit-notice")
    assert (event.actor, event.case_id, event.detail["notice"], event.detail["body_sha256"]) == ("ana", CASE, notice.id, sha256(edited.body))
    assert event.detail["was"] == {"subject": notice.subject, "body_sha256": sha256(notice.body)}
    for subject, body, words in (("", "text", "subject: empty"), ("s", " \n ", "text: empty"), ("s" * (MAX_SUBJECT + 1), "t", "subject: 301"),
                                 ("s", "a\x00b", "text: holds a control character"), ("s\x07", "t", "subject: holds a control")):  # fmt: skip
        with pytest.raises(NoticeTextRefused, match=words):
            service.edit(notice.id, subject, body)
    service.mark_sent(notice.id, None, "web form")
    with pytest.raises(NoticeRefused, match="only a draft can be edited"):
        service.edit(notice.id, "later", "changed after it went out")
    assert spreadtrace.store.notice(notice.id).body == edited.body and len(audited(app, "edit-notice")) == 1


# -- HTTP ------------------------------------------------------------------------------------------------

def test_an_analyst_drafts_through_the_clis_service_and_the_draft_is_audited(app):
    c = logged_in(app, "ana")
    answer = draft(c, "TUBE.example")
    [notice] = app[0].store.notices(CASE)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/takedowns/{notice.id}")
    assert (notice.host, notice.recipient, notice.template, notice.status) == ("tube.example", "abuse@tube.example", "dsa", NoticeStatus.DRAFT)
    assert {i.page_url for i in notice.items} == {"https://tube.example/watch/3", "https://tube.example/watch/7"}
    [event] = audited(app, "draft-notice")
    assert (event.actor, event.case_id, event.detail["notices"], event.detail["template"]) == ("ana", CASE, [notice.id], "dsa")
    assert [e.what for e in app[0].store.notice_events(notice.id)] == ["drafted"]
    again = draft(c, "tube.example")  # its copies are in a notice already
    assert again.headers["location"] == "/takedowns" and len(app[0].store.notices(CASE)) == 1
    assert "nothing to draft" in c.get("/takedowns").text and len(audited(app, "draft-notice")) == 1


def test_drafting_without_hosts_drafts_one_notice_per_host_with_copies_online(app):
    c = logged_in(app, "ana")
    assert draft(c, "").headers["location"] == "/takedowns"
    notices = {n.host: n for n in app[0].store.notices(CASE)}
    assert set(notices) == {"board.example", "tube.example", "forum.example", "mirror.example"}  # the wiki's copy is gone
    page = c.get("/takedowns").text
    assert all(f'id="notice-{n.id}"' in section(page, "drafts") for n in notices.values())
    assert "drafted 4 notice(s)" in page


def test_the_notice_page_shows_its_text_escaped_and_an_edit_changes_it(app):
    c = logged_in(app, "ana")
    draft(c)
    [notice] = app[0].store.notices(CASE)
    page = c.get(f"/takedowns/{notice.id}").text
    pre = re.search(r'<pre class="notice-text" id="notice-text">(.*?)</pre>', page, re.S)
    assert pre is not None
    shown = pre.group(1)
    assert shown.startswith(f"To: abuse@tube.example\nSubject: {notice.subject}\n\n") and "https://tube.example/watch/7" in shown
    answer = c.post(f"/takedowns/{notice.id}/edit", data={"csrftoken": token(page), "subject": "Removal request <urgent>",
                                                          "body": "Dear host,\n<script>alert(1)</script> & please remove it."})  # fmt: skip
    assert answer.status_code == 303
    page = c.get(f"/takedowns/{notice.id}").text
    assert "Subject: Removal request &lt;urgent&gt;" in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; please" in page
    assert "<script>alert" not in page and f"notice {notice.id} edited" in page
    assert app[0].store.notice(notice.id).subject == "Removal request <urgent>"
    assert [e.actor for e in audited(app, "edit-notice")] == ["ana"]


def test_malformed_input_is_answered_with_a_line_naming_the_field(app):
    c = logged_in(app, "ana")
    csrf = token(c.get("/takedowns").text)
    for fields, status, words in (({"case": CASE, "template": "nosuch"}, 400, "template: &#39;nosuch&#39; is not one of dsa"),
                                  ({"case": "", "template": "dsa"}, 400, "case: choose one"),
                                  ({"case": "no-such-case", "template": "dsa"}, 404, "no such case"),
                                  ({"case": CASE, "template": "dsa", "hosts": "a\x00b"}, 400, "hosts:")):  # fmt: skip
        answer = c.post("/takedowns/draft", data={"csrftoken": csrf, **fields})
        assert answer.status_code == status and words in answer.text and answer.headers["content-type"].startswith("text/html"), fields
    assert app[0].store.notices(CASE) == []
    draft(c)
    [notice] = app[0].store.notices(CASE)
    for path, fields, status, words in (
        ("edit", {"subject": "", "body": "text"}, 400, "subject: empty"),
        ("mark-sent", {"at": "last tuesday", "via": "web form"}, 400, "sent at: &#39;last tuesday&#39; is not an ISO 8601 time"),
        ("mark-sent", {"at": "2999-01-01T00:00:00Z", "via": "web form"}, 400, "is in the future"),
        ("mark-sent", {"at": "", "via": " "}, 400, "via: how it was sent"),
        ("send", {}, 400, "no SMTP server configured"),
    ):  # fmt: skip
        answer = c.post(f"/takedowns/{notice.id}/{path}", data={"csrftoken": csrf, **fields})
        assert answer.status_code == status and words in answer.text, (path, fields)
    assert app[0].store.notice(notice.id) == notice
    assert c.post("/takedowns/999999/mark-sent", data={"csrftoken": csrf}).status_code == 404
    assert c.get("/takedowns/999999").status_code == 404


def test_marked_sent_with_a_time_and_way_and_not_twice(app):
    c = logged_in(app, "ana")
    draft(c)
    [notice] = app[0].store.notices(CASE)
    csrf = token(c.get(f"/takedowns/{notice.id}").text)
    answer = c.post(f"/takedowns/{notice.id}/mark-sent", data={"csrftoken": csrf, "at": "2026-04-10T09:00:00Z", "via": "tube's web form"})
    assert answer.status_code == 303
    sent = app[0].store.notice(notice.id)
    assert (sent.status, sent.sent_at, sent.sent_via, sent.deadline_at) == (NoticeStatus.SENT, "2026-04-10T09:00:00Z", "tube's web form",
                                                                             "2026-04-12T09:00:00Z")  # fmt: skip
    [event] = audited(app, "send-notice")  # the service's own entry; the dashboard adds none
    assert (event.actor, event.detail["via"], event.detail["notice"]) == ("ana", "tube's web form", notice.id)
    twice = c.post(f"/takedowns/{notice.id}/mark-sent", data={"csrftoken": csrf, "via": "web form"})
    assert twice.status_code == 409 and "is sent" in twice.text and len(audited(app, "send-notice")) == 1
    page = c.get("/takedowns").text
    assert f'id="notice-{notice.id}"' in section(page, "overdue")  # 48 hours after 10 April have passed
    assert f'action="/takedowns/{notice.id}/' not in c.get(f"/takedowns/{notice.id}").text  # sent: nothing left to do here


def test_the_groups_follow_each_notices_state(app):
    c = logged_in(app, "ana")
    draft(c, "")
    store = app[0].store
    board, tube, forum, mirror = (next(n for n in store.notices(CASE) if n.host == f"{h}.example") for h in ("board", "tube", "forum", "mirror"))
    csrf = token(c.get("/takedowns").text)
    c.post(f"/takedowns/{tube.id}/mark-sent", data={"csrftoken": csrf, "via": "web form"})  # now: its deadline is ahead
    c.post(f"/takedowns/{forum.id}/mark-sent", data={"csrftoken": csrf, "at": "2026-01-01T00:00:00Z", "via": "web form"})
    store.save_notice(replace(store.notice(mirror.id), status=NoticeStatus.REMOVED, sent_at="2026-04-01T00:00:00Z",
                              closed_at="2026-04-02T00:00:00Z", detail={"hours_to_removal": 24.0, "within_deadline": True}))  # fmt: skip
    page = c.get("/takedowns").text
    where = {key: re.findall(r'id="notice-(\d+)"', section(page, key)) for key in ("drafts", "sent", "overdue", "closed")}
    assert where == {"drafts": [str(board.id)], "sent": [str(tube.id)], "overdue": [str(forum.id)], "closed": [str(mirror.id)]}
    assert "removed after 24.0 h" in section(page, "closed")


def test_a_notice_sent_through_a_real_smtp_server_arrives_there(mailing_app, smtp):
    c = logged_in(mailing_app, "ana")
    draft(c, "board.example", "takeitdown")
    [notice] = mailing_app[0].store.notices(CASE)
    page = c.get(f"/takedowns/{notice.id}").text
    assert "Send by e-mail to abuse@board.example" in page
    before = len(smtp.received)
    answer = c.post(f"/takedowns/{notice.id}/send", data={"csrftoken": token(page)})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/takedowns/{notice.id}")
    [mail] = smtp.received[before:]
    assert mail.recipients == ["abuse@board.example"] and mail.message["Subject"] == notice.subject
    assert mail.message["X-Spreadtrace-Notice"] == f"{CASE}/{notice.id}" and "takedowns@helpline.example" in mail.message["From"]
    assert "https://board.example/b/thread/2" in mail.message.get_body(("plain",)).get_content()
    sent = mailing_app[0].store.notice(notice.id)
    assert (sent.status, sent.sent_via, sent.message_id) == (NoticeStatus.SENT, "smtp", mail.message["Message-ID"].strip())
    assert [(e.actor, e.detail["via"]) for e in audited(mailing_app, "send-notice")] == [("ana", "smtp")]
    assert f"notice {notice.id} sent to abuse@board.example" in c.get(f"/takedowns/{notice.id}").text


def test_a_refusing_smtp_server_leaves_the_notice_a_draft_with_the_reason(mailing_app, smtp):
    c = logged_in(mailing_app, "ana")
    draft(c)
    [notice] = mailing_app[0].store.notices(CASE)
    smtp.mode = "refuse"
    try:
        answer = c.post(f"/takedowns/{notice.id}/send", data={"csrftoken": token(c.get(f"/takedowns/{notice.id}").text)})
    finally:
        smtp.mode = "ok"
    assert answer.status_code == 502 and "not sent" in answer.text and "550" in answer.text
    kept = mailing_app[0].store.notice(notice.id)
    assert kept.status is NoticeStatus.DRAFT and kept.last_error and "550" in kept.last_error
    assert audited(mailing_app, "send-notice") == []


def test_a_viewer_sees_no_forms_and_each_post_is_refused(app):
    analyst = logged_in(app, "ana")
    draft(analyst)
    [notice] = app[0].store.notices(CASE)
    c = logged_in(app, "vic")
    page = c.get("/takedowns").text
    assert f'id="notice-{notice.id}"' in page and 'action="/takedowns/draft"' not in page
    shown = c.get(f"/takedowns/{notice.id}").text
    assert 'id="notice-text"' in shown and "<form" not in shown.split("</header>", 1)[1]
    csrf = token(page)
    for path, fields in (("/takedowns/draft", {"case": CASE, "template": "dsa"}),
                         (f"/takedowns/{notice.id}/edit", {"subject": "s", "body": "b"}),
                         (f"/takedowns/{notice.id}/send", {}), (f"/takedowns/{notice.id}/mark-sent", {"via": "web form"})):  # fmt: skip
        assert c.post(path, data={"csrftoken": csrf, **fields}).status_code == 403, path
    assert app[0].store.notices(CASE) == [notice]
    assert audited(app, "edit-notice") == [] and audited(app, "send-notice") == [] and len(audited(app, "draft-notice")) == 1


# -- the browser -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with chromium(find_chromium()) as running:
        yield running


def test_in_chromium_an_analyst_drafts_reads_and_marks_a_notice_sent(app, browser):
    store = app[0].store
    with serving(app[1]) as server:
        page = browser_login(browser, server, "ana")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.click("nav a[href='/takedowns']")
        page.select_option("form.draft select[name=case]", CASE)
        page.select_option("form.draft select[name=template]", "dmca")
        page.fill("form.draft input[name=hosts]", "board.example")
        page.click("form.draft button[type=submit]")
        page.wait_for_selector("#notice-text")
        [notice] = store.notices(CASE)
        assert page.url == f"{server}/takedowns/{notice.id}"
        text = page.locator("#notice-text").inner_text()
        assert text.startswith("To: abuse@board.example\nSubject: ") and "512(c)(3)" in text and "https://board.example/b/thread/2" in text
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "dash-notice.png"), full_page=True)

        page.fill("form.mark-sent input[name=via]", "board's abuse form")
        page.click("button.mark-sent")
        page.wait_for_selector("p.flash")
        assert "recorded as sent (board's abuse form)" in page.locator("p.flash").inner_text()
        page.click("a[href='/takedowns']")
        page.wait_for_selector("section#sent")
        assert page.locator(f"section#sent #notice-{notice.id}").count() == 1
        assert page.locator(f"section#drafts #notice-{notice.id}").count() == 0
        draft_more = page.locator("form.draft")
        draft_more.locator("input[name=hosts]").fill("tube.example")
        draft_more.locator("button[type=submit]").click()  # a second draft, so the drafts group shows one too
        page.wait_for_selector("#notice-text")
        page.goto(f"{server}/takedowns")
        page.screenshot(path=str(SHOTS / "dash-takedowns.png"), full_page=True)
        assert errors == []
    sent = store.notice(notice.id)
    assert (sent.status, sent.sent_via, sent.template) == (NoticeStatus.SENT, "board's abuse form", "dmca")
    assert [e.what for e in store.notice_events(notice.id)] == ["drafted", "sent"]
    assert [(e.actor, e.action) for e in store.audit_events(CASE) if e.action.endswith("-notice")] == [
        ("ana", "draft-notice"), ("ana", "send-notice"), ("ana", "draft-notice")]


def test_in_chromium_a_viewer_has_no_forms_and_forged_posts_are_refused(app, browser):
    logged = logged_in(app, "ana")
    draft(logged)
    [notice] = app[0].store.notices(CASE)
    with serving(app[1]) as server:
        page = browser_login(browser, server, "vic")
        page.goto(f"{server}/takedowns/{notice.id}")
        assert page.locator("main form").count() == 0 and page.locator("#notice-text").count() == 1
        page.goto(f"{server}/takedowns")
        assert page.locator("main form").count() == 0
        statuses = page.evaluate(f"""async () => {{
            const token = document.querySelector('input[name=csrftoken]').value;
            const post = (path, fields) => fetch(path, {{method: 'POST', redirect: 'manual',
                headers: {{'content-type': 'application/x-www-form-urlencoded'}},
                body: new URLSearchParams({{csrftoken: token, ...fields}}).toString()}}).then((a) => a.status);
            return [await post('/takedowns/draft', {{case: '{CASE}', template: 'dsa'}}),
                    await post('/takedowns/{notice.id}/edit', {{subject: 'forged', body: 'forged'}}),
                    await post('/takedowns/{notice.id}/send', {{}}),
                    await post('/takedowns/{notice.id}/mark-sent', {{via: 'forged'}})]; }}""")
        assert statuses == [403, 403, 403, 403]
    assert app[0].store.notices(CASE) == [notice]
