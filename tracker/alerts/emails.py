"""A case's alerts of one run as one plain-text e-mail to one contact: links and hashes, never the material.

Plain text only, no HTML and no attachment: nothing in it can load or show a picture, and a mail client's
preview shows the URL, not what is behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from tracker.alerts.alert import Alert
from tracker.states import AlertKind

_NAMES = {
    AlertKind.NEW_SIGHTING: ("new sighting", "new sightings"),
    AlertKind.REAPPEARED: ("reappearance", "reappearances"),
    AlertKind.OVERDUE_NOTICE: ("overdue notice", "overdue notices"),
}


def subject(case_id: str, alerts: Sequence[Alert]) -> str:
    counts = Counter(a.kind for a in alerts)
    parts = [f"{counts[kind]} {_NAMES[kind][counts[kind] != 1]}" for kind in AlertKind if counts[kind]]
    return f"spreadtrace, case {case_id}: {', '.join(parts)}"


def alert_message(case_id: str, alerts: Sequence[Alert], recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = recipient
    message["Subject"] = subject(case_id, alerts)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid("alerts")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a machine
    message["X-Spreadtrace-Case"] = case_id
    message.set_content(body(case_id, alerts))
    return message


def body(case_id: str, alerts: Sequence[Alert]) -> str:
    lines = [
        f"spreadtrace has {len(alerts)} alert(s) for case {case_id}.",
        "This message holds links and hashes only, never the material itself; opening a link shows it.",
        "",
    ]
    for number, alert in enumerate(alerts, 1):
        lines += [f"{number}. {_headline(alert)}", *(f"   {line}" for line in _details(alert)), ""]
    lines.append(f"The whole case: spreadtrace report {case_id}")
    return "\n".join(lines) + "\n"


def _headline(alert: Alert) -> str:
    if alert.kind is AlertKind.NEW_SIGHTING:
        return f"New sighting #{alert.sighting_id} on {alert.host}, first seen {alert.at}"
    if alert.kind is AlertKind.REAPPEARED:
        return f"Sighting #{alert.sighting_id} on {alert.host} is online again since {alert.at}"
    return f"Notice {alert.notice_id} is overdue (deadline {alert.deadline}); still online at {alert.at}"


def _details(alert: Alert) -> list[str]:
    details = []
    for label, value in (("page:", alert.page_url), ("media:", alert.media_url), ("SHA-256:", alert.media_sha256),
                         ("status:", alert.status), ("host:", alert.host if alert.sighting_id is None else None)):  # fmt: skip
        if value is not None:
            details.append(f"{label:<9}{value}")
    details += [f"online:  {url}" for url in alert.urls_online]
    return details
