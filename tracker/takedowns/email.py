"""A notice as an e-mail (RFC 5322): the text, and the evidence summary attached (an HTML page listing each
capture's custody entry and hashes; no picture: a notice leaves the organisation)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import jinja2

from tracker.clock import parse_utc

from tracker.takedowns.drafting import Organisation
from tracker.takedowns.models import Notice


def notice_email(notice: Notice, organisation: Organisation, environment: jinja2.Environment, *, message_id: str | None = None,
                 at: str | None = None) -> EmailMessage:  # fmt: skip
    message = EmailMessage()
    message["From"] = f"{organisation.notifier} <{organisation.email}>" if organisation.notifier else organisation.email
    if notice.recipient:
        message["To"] = notice.recipient
    message["Subject"] = notice.subject
    when = parse_utc(at) if at else datetime.now(UTC)
    message["Date"] = format_datetime(when)
    domain = organisation.email.rpartition("@")[2] or None
    message["Message-ID"] = message_id or make_msgid(f"notice-{notice.id}", domain=domain)
    message["X-Spreadtrace-Notice"] = f"{notice.case_id}/{notice.id}"
    message.set_content(notice.body)
    summary = environment.get_template("evidence.html.j2").render(org=organisation, host=notice.host, items=notice.items, now=when)
    message.add_attachment(summary.encode(), maintype="text", subtype="html", filename=f"evidence-{notice.host}-notice-{notice.id}.html")
    return message
