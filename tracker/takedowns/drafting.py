"""Drafting notices: one per host and case, from the copies still online that no open notice names yet,
filled into the organisation's templates with what proves each copy (its captures' custody entries).

Templates are Jinja2 files (`templates/`), found first in ``HOME/templates/takedowns/`` so an
organisation edits its own copies; each sets ``subject`` and ``deadline_hours`` besides its text. A
template that does not parse, or names a variable that does not exist, is an error naming its file and
line: a notice is a legal document, and a blank where a URL should be is not a notice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from tracker.clock import utc_now
from tracker.errors import TrackerError
from tracker.evidence.custody import CustodyEntry
from tracker.evidence.vault import artefacts_of
from tracker.models import Sighting
from tracker.takedowns.models import Notice, NoticeEvent, NoticeItem, NoticeStatus

TEMPLATES = ("dsa", "takeitdown", "dmca", "abuse")
_NAMED = (NoticeStatus.DRAFT, NoticeStatus.SENDING, NoticeStatus.SENT, NoticeStatus.OVERDUE, NoticeStatus.REOPENED)


class NoticeTemplateError(TrackerError):
    """A template that cannot be used; the message names its file and line."""


@dataclass(frozen=True, slots=True)
class Organisation:
    """Who sends the notices (SPREADTRACE_NOTICE_*): the law asks for the notifier's name and e-mail."""

    name: str
    notifier: str
    email: str
    signature: str = ""

    @classmethod
    def from_settings(cls, settings: Any, actor: str) -> Organisation:
        """SPREADTRACE_NOTICE_*; with no notifier set, ``actor`` signs (who drafts or sends: a login, an account)."""
        return cls(settings.get("SPREADTRACE_NOTICE_ORGANISATION") or "", settings.get("SPREADTRACE_NOTICE_NOTIFIER") or actor,
                   settings.get("SPREADTRACE_NOTICE_EMAIL") or "", settings.get("SPREADTRACE_NOTICE_SIGNATURE") or "")  # fmt: skip


def template_environment(home: Path) -> jinja2.Environment:
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(home / "templates" / "takedowns"),
                                  jinja2.PackageLoader("tracker.takedowns", "templates")])  # fmt: skip
    return jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html.j2"]), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=False)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str
    deadline_hours: float


def render(environment: jinja2.Environment, template: str, context: Mapping[str, Any]) -> Rendered:
    """The notice ``template`` (``NAME.txt.j2``) filled with ``context``. Raises NoticeTemplateError."""
    name = f"{template}.txt.j2"
    try:
        module = environment.get_template(name).make_module(dict(context))
        subject = " ".join(str(getattr(module, "subject", "")).split())  # one line: it becomes a header
        deadline = float(getattr(module, "deadline_hours", 48))
        body = str(module).strip() + "\n"
    except jinja2.TemplateNotFound as exc:
        raise NoticeTemplateError(f"no notice template {exc.name!r} (built in: {', '.join(TEMPLATES)}; or put one in "
                                  f"HOME/templates/takedowns/)") from None  # fmt: skip
    except jinja2.TemplateSyntaxError as exc:
        raise NoticeTemplateError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise NoticeTemplateError(f"{_where(environment, name)}: {exc.message}") from None
    except (TypeError, ValueError) as exc:
        raise NoticeTemplateError(f"{_where(environment, name)}: {exc}") from None
    if not subject:
        raise NoticeTemplateError(f"{_where(environment, name)}: sets no subject ({{% set subject %}}...{{% endset %}})")
    return Rendered(subject, body, deadline)


def _where(environment: jinja2.Environment, name: str) -> str:
    try:
        source = environment.loader.get_source(environment, name) if environment.loader else None
        return str(source[1]) if source and source[1] else name
    except jinja2.TemplateNotFound:
        return name


def evidence_by_sighting(entries: Iterable[CustodyEntry]) -> dict[int, list[dict[str, Any]]]:
    """Each sighting's captures, oldest first: the custody entry (number, hash, time, why) that proves it,
    its WARC's SHA-256 and its screenshot's, if one was taken."""
    shots: dict[int, str] = {}
    captures: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        named = {a.role: a.sha256 for a in artefacts_of(entry)}
        if entry.kind == "screenshot" and "screenshot" in named:
            shots[int(entry.detail.get("capture_seq") or 0)] = named["screenshot"]
        elif entry.kind == "capture" and "sighting" in entry.detail:
            captures[int(entry.detail["sighting"])].append({"seq": entry.seq, "at": entry.at, "why": str(entry.detail.get("why", "")),
                                                            "hash": entry.hash, "warc_sha256": named.get("warc")})  # fmt: skip
    for found in captures.values():
        for capture in found:
            capture["screenshot_sha256"] = shots.get(capture["seq"])
    return captures


def notice_item(sighting: Sighting, evidence: Mapping[int, Sequence[dict[str, Any]]]) -> NoticeItem:
    return NoticeItem(sighting.id, sighting.page_url, sighting.media_url, sighting.sha256, sighting.first_seen,
                      sighting.appeared[0], tuple(evidence.get(sighting.id, ())))  # fmt: skip


def draft(case_id: str, sightings: Sequence[Sighting], existing: Sequence[Notice], *, template: str, organisation: Organisation,
          contacts: Mapping[str, str | None], evidence: Mapping[int, Sequence[dict[str, Any]]],
          environment: jinja2.Environment, hosts: Sequence[str] = ()) -> list[Notice]:  # fmt: skip
    """New notices, one per host, for ``sightings`` (the case's actionable copies, still online) that no
    open or draft notice of ``existing`` names. ``contacts`` maps a site name to its abuse contact."""
    named = {sid for notice in existing if notice.status in _NAMED for sid in notice.sighting_ids}
    by_host: dict[str, list[Sighting]] = defaultdict(list)
    for sighting in sorted(sightings, key=lambda s: (s.appeared[0], s.id)):
        if sighting.actionable and sighting.id not in named and sighting.status.still_online and (not hosts or sighting.host in hosts):
            by_host[sighting.host].append(sighting)
    now = utc_now()
    notices = []
    for host, found in by_host.items():
        site = found[0].site
        recipient = contacts.get(site or "") if site else None
        items = tuple(notice_item(s, evidence) for s in found)
        notices.append(compose(case_id, host, site, recipient, items, template=template, organisation=organisation,
                               environment=environment, now=now))  # fmt: skip
    return notices


def compose(case_id: str, host: str, site: str | None, recipient: str | None, items: tuple[NoticeItem, ...], *, template: str,
            organisation: Organisation, environment: jinja2.Environment, now: str, follows: Notice | None = None,
            still_online_at: str | None = None) -> Notice:  # fmt: skip
    """One notice, rendered and flagged if it cannot be sent as it is."""
    context = {"org": organisation, "host": host, "recipient": recipient, "case": case_id, "items": items, "now": now,
               "follows": follows, "still_online_at": still_online_at}  # fmt: skip
    rendered = render(environment, template, {**context, "deadline_hours": 48})  # a template's own set wins
    flag = None
    if not recipient:
        flag = (f"no abuse contact for {host}: set one in the site registry (spreadtrace site add {site or 'NAME'} ... "
                f"--abuse-contact ADDRESS --replace), or send it through the host's web form and use --mark-sent")  # fmt: skip
    elif not organisation.email:
        flag = "no notifier e-mail (set SPREADTRACE_NOTICE_EMAIL): the law asks for one"
    return Notice(None, case_id, host, site, template, recipient, NoticeStatus.DRAFT, now, items, rendered.deadline_hours,
                  rendered.subject, rendered.body, flag=flag, follows=follows.id if follows else None)  # fmt: skip


def drafted_event(notice: Notice, actor: str) -> NoticeEvent:
    assert notice.id is not None
    detail: dict[str, Any] = {"template": notice.template, "urls": [i.page_url for i in notice.items]}
    if notice.flag:
        detail["flag"] = notice.flag
    if notice.follows:
        detail["follows"] = notice.follows
    return NoticeEvent(notice.id, notice.created_at, actor, "drafted", detail)
