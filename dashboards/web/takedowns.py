"""Takedown notices of the cases a user may see, grouped by where they stand, and the analyst's steps on
them: draft (per host, from a case's confirmed copies still online), edit a draft's wording, read the
notice as it will go out, send it over SMTP or record it sent elsewhere. Every step is the CLI's own
(`tracker.takedowns.service.Takedowns`): the same drafting, the same e-mail, the same records. Sending and
editing are audited there; drafting, which the service leaves to its caller, is audited here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from crawler.errors import SiteConfigError
from crawler.sites import SiteRegistry
from dashboards.web.context import current_user, dashboard, render, require, visible_case, visible_cases
from dashboards.web.flash import flash, flashed
from matcher.hashlist import CONTROL_CHARACTERS
from tracker.clock import parse_claimed_time, utc_now
from tracker.errors import UnknownNotice
from tracker.mail import MailFailed, MailNotConfigured, SmtpSettings
from tracker.models import AuditEvent, User
from tracker.states import Role
from tracker.takedowns.drafting import TEMPLATES, NoticeTemplateError, Organisation, template_environment
from tracker.takedowns.deadlines import overdue
from tracker.takedowns.models import Notice, NoticeStatus
from tracker.takedowns.service import NoticeRefused, NoticeTextRefused, Takedowns

router = APIRouter()
Account = Annotated[User, Depends(current_user)]
GROUPS = (("drafts", "Drafts"), ("sent", "Sent, awaiting removal"), ("overdue", "Overdue or reopened"), ("closed", "Closed"))
_MAX_HOSTS = 2000  # the hosts field: a few hundred names at most
_MAX_VIA = 200


def group_of(notice: Notice, now: str) -> str:
    """Where a notice stands on the page. A reopened one (closed, then a copy came back) waits on the host
    as an overdue one does; one whose send was cut off is the analyst's to settle, as a draft is."""
    if notice.status in (NoticeStatus.DRAFT, NoticeStatus.SENDING):
        return "drafts"
    if notice.status is NoticeStatus.REMOVED:
        return "closed"
    if notice.status is NoticeStatus.REOPENED or overdue(notice, now):
        return "overdue"
    return "sent"


@router.get("/takedowns")
def takedowns_page(request: Request, user: Account) -> Response:
    board = dashboard(request)
    now = utc_now()
    cases = visible_cases(request, user)
    grouped: dict[str, list[Notice]] = {key: [] for key, _ in GROUPS}
    for case in cases:
        for notice in board.store.notices(case.id):
            grouped[group_of(notice, now)].append(notice)
    for notices in grouped.values():
        notices.sort(key=lambda n: n.id or 0, reverse=True)
    return render(request, "takedowns.html.j2", user=user, cases=cases, groups=GROUPS, grouped=grouped,
                  templates=_templates(request), default_template=board.settings["SPREADTRACE_NOTICE_TEMPLATE"],
                  may_act=user.role is not Role.VIEWER, flash=flashed(request))  # fmt: skip


@router.post("/takedowns/draft")
def draft_notices(request: Request, user: Account, case: Annotated[str, Form()] = "", template: Annotated[str, Form()] = "",
                  hosts: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    """Draft a notice per host, as `spreadtrace takedown draft CASE --template T [--host H]...` does."""
    require(user, Role.ANALYST)
    if not case:
        raise HTTPException(400, "case: choose one")
    case_id = visible_case(request, user, case).id
    if template not in _templates(request):
        raise HTTPException(400, f"template: {template[:40]!r} is not one of {', '.join(_templates(request))}")
    if len(hosts) > _MAX_HOSTS or CONTROL_CHARACTERS.search(hosts.replace("\n", " ").replace("\r", " ").replace("\t", " ")):
        raise HTTPException(400, f"hosts: at most {_MAX_HOSTS:,} characters of host names, separated by spaces or commas")
    only = [host.lower() for host in hosts.replace(",", " ").split()]
    board = dashboard(request)
    try:
        drafted = _service(request, user).draft(case_id, template, _contacts(request), only)
    except NoticeTemplateError as exc:
        raise HTTPException(400, f"template: {exc}") from None
    if not drafted:
        flash(request, f"nothing to draft: every confirmed copy of {case_id} still online"
                       f"{' on ' + ', '.join(only) if only else ''} is in a notice already")  # fmt: skip
        return RedirectResponse("/takedowns", status_code=303)
    board.store.log_event(AuditEvent(utc_now(), user.name, "draft-notice", case_id, {
        "notices": [n.id for n in drafted], "template": template, "hosts": [n.host for n in drafted], "via": "dashboard",
    }))  # fmt: skip
    flagged = [n for n in drafted if n.flag]
    flash(request, f"drafted {len(drafted)} notice(s): " + ", ".join(f"{n.id} ({n.host})" for n in drafted)
          + (f"; {len(flagged)} flagged, see each" if flagged else ""))  # fmt: skip
    where = f"/takedowns/{drafted[0].id}" if len(drafted) == 1 else "/takedowns"
    return RedirectResponse(where, status_code=303)


@router.get("/takedowns/{notice_id}")
def notice_page(request: Request, notice_id: int, user: Account) -> Response:
    board = dashboard(request)
    notice = _notice(request, user, notice_id)
    return render(request, "notice.html.j2", user=user, notice=notice, events=board.store.notice_events(notice_id),
                  smtp_configured=bool(board.settings.get("SPREADTRACE_SMTP_HOST")), may_act=user.role is not Role.VIEWER,
                  flash=flashed(request))  # fmt: skip


@router.post("/takedowns/{notice_id}/edit")
def edit_notice(request: Request, notice_id: int, user: Account, subject: Annotated[str, Form()] = "",
                body: Annotated[str, Form()] = "") -> Response:  # fmt: skip
    require(user, Role.ANALYST)
    _notice(request, user, notice_id)
    try:
        _service(request, user).edit(notice_id, subject, body)
    except NoticeTextRefused as exc:
        raise HTTPException(400, str(exc)) from None
    except NoticeRefused as exc:
        raise HTTPException(409, str(exc)) from None
    flash(request, f"notice {notice_id} edited")
    return RedirectResponse(f"/takedowns/{notice_id}", status_code=303)


@router.post("/takedowns/{notice_id}/send")
def send_notice(request: Request, notice_id: int, user: Account) -> Response:
    """Send by SMTP now, as `spreadtrace takedown send N` does (the request waits for the server)."""
    require(user, Role.ANALYST)
    _notice(request, user, notice_id)
    try:
        smtp = SmtpSettings.from_settings(dashboard(request).settings)
    except MailNotConfigured as exc:
        raise HTTPException(400, f"{exc}; or record it sent through the host's web form (mark sent)") from None
    try:
        sent = _service(request, user).send(notice_id, smtp)
    except NoticeRefused as exc:
        raise HTTPException(409, str(exc)) from None
    except MailFailed as exc:
        raise HTTPException(502, f"notice {notice_id} not sent: {exc}; it stays a draft (send again when the server is back)") from None
    flash(request, f"notice {sent.id} sent to {sent.recipient}; deadline {sent.deadline_at}")
    return RedirectResponse(f"/takedowns/{notice_id}", status_code=303)


@router.post("/takedowns/{notice_id}/mark-sent")
def mark_notice_sent(request: Request, notice_id: int, user: Account, at: Annotated[str, Form()] = "",
                     via: Annotated[str, Form()] = "web form") -> Response:  # fmt: skip
    """Record a notice sent outside spreadtrace, as `spreadtrace takedown send N --mark-sent --at T --via V`."""
    require(user, Role.ANALYST)
    _notice(request, user, notice_id)
    when = None
    if at.strip():
        when = parse_claimed_time(at) if len(at) <= 64 else None
        if when is None:
            raise HTTPException(400, f"sent at: {at[:64]!r} is not an ISO 8601 time (2026-11-22T10:00:00Z); empty means now")
        if when > utc_now():
            raise HTTPException(400, f"sent at: {when} is in the future")
    via = " ".join(via.split())
    if not via or len(via) > _MAX_VIA or CONTROL_CHARACTERS.search(via):
        raise HTTPException(400, f"via: how it was sent, one line of at most {_MAX_VIA} characters (e.g. web form)")
    try:
        sent = _service(request, user).mark_sent(notice_id, when, via)
    except NoticeRefused as exc:
        raise HTTPException(409, str(exc)) from None
    flash(request, f"notice {sent.id} recorded as sent ({sent.sent_via}) at {sent.sent_at}; deadline {sent.deadline_at}")
    return RedirectResponse(f"/takedowns/{notice_id}", status_code=303)


def _service(request: Request, user: User) -> Takedowns:
    """The CLI's service, made per request: its actor is the account acting (it signs the notice events,
    the audit entries and, with no SPREADTRACE_NOTICE_NOTIFIER, the notice), and it costs a Jinja
    environment and four settings."""
    board = dashboard(request)
    return Takedowns(board.store, board.vault, template_environment(board.home), Organisation.from_settings(board.settings, user.name),
                     user.name)  # fmt: skip


def _contacts(request: Request) -> dict[str, str | None]:
    """Each site's abuse contact, from the registry the CLI reads; a broken registry is the admin's to mend."""
    try:
        sites = SiteRegistry.load(dashboard(request).sites_file)
    except SiteConfigError as exc:
        raise HTTPException(503, f"site registry: {exc}") from None
    return {site.name: site.abuse_contact for site in sites}


def _templates(request: Request) -> list[str]:
    """The built-in laws, and the home's default when it is an organisation's own template."""
    default = str(dashboard(request).settings["SPREADTRACE_NOTICE_TEMPLATE"])
    return list(dict.fromkeys([*TEMPLATES, default]))


def _notice(request: Request, user: User, notice_id: int) -> Notice:
    """The notice, or 404 when it is unknown or of a case ``user`` may not see."""
    try:
        notice = dashboard(request).store.notice(notice_id)
    except UnknownNotice:
        raise HTTPException(404, "no such notice") from None
    visible_case(request, user, notice.case_id)
    return notice
