"""Notices in parts: templates an organisation edits (errors name the file and line), SMTP that refuses,
drops or stalls (a real server on loopback), and where a notice stands by what its copies show."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.local_smtp import LocalSMTP
from tracker.mail import MailFailed, SmtpSettings, send
from tracker.models import Sighting, StatusEvent
from tracker.states import Status
from tracker.takedowns.deadlines import deadline_of, due_for_check, host_figures, settle
from tracker.takedowns.drafting import NoticeTemplateError, Organisation, compose, template_environment
from tracker.takedowns.models import Notice, NoticeItem, NoticeStatus

ORG = Organisation("Helpline", "Ana Analyst", "takedowns@helpline.example")
ITEM = NoticeItem(7, "https://tube.example/watch/7", "https://cdn.tube.example/7.jpg", "ab" * 32, "2026-03-02T09:00:00Z",
                  "2026-02-01T19:30:00Z")  # fmt: skip


def notice(status: NoticeStatus = NoticeStatus.SENT, sent: str = "2026-03-03T10:00:00Z") -> Notice:
    return Notice(1, "c1", "tube.example", "tube", "dsa", "abuse@tube.example", status, "2026-03-03T09:00:00Z", (ITEM,), 48.0,
                  "subject", "body", sent_at=sent, deadline_at=deadline_of(sent, 48))  # fmt: skip


def sighting(status: Status) -> Sighting:
    return Sighting(7, "c1", 1, ITEM.media_url, ITEM.page_url, "tube.example", "tube", ITEM.media_sha256, ITEM.first_seen,
                    ITEM.first_seen, status, 0, "pdq")  # fmt: skip


def test_each_law_fills_its_template_with_the_items_and_its_deadline(tmp_path):
    environment = template_environment(tmp_path)
    for template, hours, words in [("dsa", 48, "Article 16"), ("takeitdown", 48, "48 hours"), ("dmca", 72, "512(c)(3)"),
                                   ("abuse", 48, "abuse")]:  # fmt: skip
        drafted = compose("c1", "tube.example", "tube", "abuse@tube.example", (ITEM,), template=template, organisation=ORG,
                          environment=environment, now="2026-03-03T09:00:00Z")  # fmt: skip
        assert drafted.deadline_hours == hours and words in drafted.body and ITEM.page_url in drafted.body
        assert "\n" not in drafted.subject and drafted.flag is None and ORG.email in drafted.body


def test_an_organisations_own_template_wins_and_its_errors_name_file_and_line(tmp_path):
    folder = tmp_path / "templates" / "takedowns"
    folder.mkdir(parents=True)
    (folder / "dsa.txt.j2").write_text('{% set subject %}Our own notice{% endset %}{% set deadline_hours = 24 %}Dear {{ host }}\n')
    environment = template_environment(tmp_path)
    ours = compose("c1", "tube.example", "tube", None, (ITEM,), template="dsa", organisation=ORG, environment=environment, now="x")
    assert (ours.subject, ours.deadline_hours, ours.body) == ("Our own notice", 24.0, "Dear tube.example\n")
    assert ours.flag is not None and ours.flag.startswith("no abuse contact for tube.example")
    (folder / "broken.txt.j2").write_text("line one\nline two {% if %}\n")
    with pytest.raises(NoticeTemplateError, match=r"broken\.txt\.j2:2: "):
        compose("c1", "h", "s", "a@b.example", (ITEM,), template="broken", organisation=ORG, environment=template_environment(tmp_path), now="x")
    (folder / "typo.txt.j2").write_text("{% set subject %}x{% endset %}{{ itemz }}\n")
    with pytest.raises(NoticeTemplateError, match=r"typo\.txt\.j2: 'itemz' is undefined"):
        compose("c1", "h", "s", "a@b.example", (ITEM,), template="typo", organisation=ORG, environment=template_environment(tmp_path), now="x")
    with pytest.raises(NoticeTemplateError, match=r"no notice template 'nosuch\.txt\.j2'"):
        compose("c1", "h", "s", "a@b.example", (ITEM,), template="nosuch", organisation=ORG, environment=environment, now="x")


@pytest.fixture(scope="module")
def smtp():
    server = LocalSMTP().start()
    yield server
    server.stop()


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["To"] = "abuse@tube.example"
    mail["Subject"] = "notice"
    mail.set_content("text")
    return mail


@pytest.mark.parametrize("mode, reason", [
    ("refuse", r"^SMTP 127\.0\.0\.1:\d+ refused: 550 5\.7\.1 Message rejected by policy$"),
    ("drop", r"^SMTP 127\.0\.0\.1:\d+ dropped the connection"),
    ("slow", r"^SMTP 127\.0\.0\.1:\d+ timed out after 1 s$"),
])  # fmt: skip
def test_a_server_that_refuses_drops_or_stalls_fails_in_one_line_and_keeps_nothing(smtp, mode, reason):
    smtp.mode = mode
    try:
        with pytest.raises(MailFailed, match=reason):
            send(message(), SmtpSettings.from_settings({**smtp.settings(), "SPREADTRACE_SMTP_TIMEOUT": "1"}))
    finally:
        smtp.mode = "ok"
    assert not any(r.message["Subject"] == "notice" for r in smtp.received)


def test_starttls_is_required_unless_turned_off():
    plain = LocalSMTP(starttls=False).start()
    try:
        with pytest.raises(MailFailed, match="does not offer STARTTLS"):
            send(message(), SmtpSettings.from_settings({**plain.settings(), "SPREADTRACE_SMTP_STARTTLS": "required"}))
        send(message(), SmtpSettings.from_settings(plain.settings()))  # "off": a relay on loopback
        assert len(plain.received) == 1
    finally:
        plain.stop()


def test_a_notice_closes_when_its_copies_go_and_says_whether_in_time():
    sent = notice()
    removed_in_time = [StatusEvent(7, "2026-03-04T10:00:00Z", Status.REMOVED, "page removed: HTTP 404")]
    outcome = settle(sent, {7: sighting(Status.REMOVED)}, lambda _: removed_in_time, "2026-03-06T00:00:00Z", None, "ana")
    assert outcome.notice.status is NoticeStatus.REMOVED and outcome.notice.closed_at == "2026-03-04T10:00:00Z"
    assert outcome.notice.detail["hours_to_removal"] == 24.0 and outcome.notice.detail["within_deadline"] is True
    [figures] = host_figures([outcome.notice])
    assert (figures.sent, figures.within_deadline, figures.median_hours) == (1, 1, 24.0)


def test_a_notice_is_overdue_only_once_checked_after_its_deadline_and_reopens_when_a_copy_returns():
    sent = notice()
    online = {7: sighting(Status.ONLINE)}
    assert settle(sent, online, lambda _: [], "2026-03-06T00:00:00Z", None, "ana").event is None  # not re-checked yet
    assert due_for_check([sent], "2026-03-06T00:00:00Z", {}) == [sent]
    assert due_for_check([sent], "2026-03-04T00:00:00Z", {}) == []  # its clock still runs
    overdue = settle(sent, online, lambda _: [], "2026-03-06T00:00:00Z", "2026-03-05T11:00:00Z", "ana")
    assert overdue.notice.status is NoticeStatus.OVERDUE and overdue.renotice_for == (7,)
    assert overdue.notice.detail["still_online"] == [ITEM.page_url]
    closed = notice(NoticeStatus.REMOVED)
    back = settle(closed, {7: sighting(Status.REAPPEARED)}, lambda _: [], "2026-04-01T00:00:00Z", None, "ana")
    assert back.notice.status is NoticeStatus.REOPENED and back.renotice_for == (7,)
