"""`spreadtrace takedown draft|list|show|send|check`: notices per host, sent, and followed to their deadline."""

from __future__ import annotations

import getpass
import json
import subprocess
from collections import defaultdict
from pathlib import Path

import click
from rich.table import Table

from crawler.watcher import spreadtrace_command
from spreadtrace.app import App
from spreadtrace.commands.alerts import deliver_alerts
from spreadtrace.errors import ReturnCode, UserError
from spreadtrace.output import refuse_existing, staged
from spreadtrace.render import print_error
from tracker.alerts import Alert
from tracker.states import AlertKind
from tracker.clock import parse_claimed_time, utc_now
from tracker.mail import MailFailed, MailNotConfigured, SmtpSettings
from tracker.takedowns.deadlines import host_figures
from tracker.takedowns.drafting import Organisation, template_environment
from tracker.takedowns.email import notice_email
from tracker.takedowns.models import Notice
from tracker.takedowns.service import Takedowns


def takedowns(app: App) -> Takedowns:
    actor = getpass.getuser()
    return Takedowns(app.store, app.vault, template_environment(app.home), Organisation.from_settings(app.settings, actor), actor)


def utc_option(value: str | None) -> str | None:
    if value is None:
        return None
    if (at := parse_claimed_time(value)) is None:
        raise UserError(f"--at/--now: {value!r} is not an ISO 8601 time (2026-11-22T10:00:00Z)")
    return at


@click.group()
def takedown() -> None:
    """Takedown notices: drafted per host from a case's copies and evidence, sent, followed to their deadline."""


@takedown.command("draft")
@click.argument("case_id", metavar="CASE")
@click.option("--template", default=None, help="dsa, takeitdown, dmca, abuse, or one of HOME/templates/takedowns/ (default: SPREADTRACE_NOTICE_TEMPLATE).")
@click.option("--host", "hosts", multiple=True, help="Only this host (repeatable).")
@click.pass_obj
def draft(app: App, case_id: str, template: str | None, hosts: tuple[str, ...]) -> None:
    """Draft one notice per host for CASE's confirmed copies still online that no notice names yet."""
    contacts = {site.name: site.abuse_contact for site in app.sites()}
    drafted = takedowns(app).draft(case_id, template or app.settings["SPREADTRACE_NOTICE_TEMPLATE"], contacts, hosts)
    for notice in drafted:
        where = notice.recipient or "no recipient"
        app.out.print(f"notice {notice.id}: {notice.host}, {len(notice.items)} URL(s), to {where}", markup=False, highlight=False)
        if notice.flag:
            print_error(app.err, f"notice {notice.id} flagged: {notice.flag}")
    if not drafted:
        app.out.print(f"nothing to draft: every copy of {case_id} still online is in a notice already")


@takedown.command("list")
@click.argument("case_id", metavar="[CASE]", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def list_notices(app: App, case_id: str | None, fmt: str) -> None:
    """Open, overdue and closed notices, and per host: notices sent, removed in time, median time to removal."""
    notices = app.store.notices(case_id)
    figures = host_figures(notices)
    if fmt == "json":
        from dataclasses import asdict

        click.echo(json.dumps({"notices": [asdict(n) for n in notices], "hosts": [asdict(f) for f in figures]}, indent=2))
        return
    table = Table(title="Takedown notices")
    for column in ("id", "case", "host", "template", "status", "sent", "deadline", "closed", "note"):
        table.add_column(column)
    for n in notices:
        table.add_row(str(n.id), n.case_id, n.host, n.template, str(n.status), n.sent_at or "", n.deadline_at or "", n.closed_at or "",
                      _note(n))  # fmt: skip
    app.out.print(table)
    hosts = Table(title="Per host")
    for column in ("host", "sent", "removed", "in time", "overdue", "median hours to removal"):
        hosts.add_column(column, justify="left" if column == "host" else "right")
    for f in figures:
        share = f"{f.within_deadline} ({f.share_in_time:.0%})" if f.share_in_time is not None else ""
        hosts.add_row(f.host, str(f.sent), str(f.closed), share, str(f.overdue), "" if f.median_hours is None else f"{f.median_hours:.1f}")
    app.out.print(hosts)


def _note(notice: Notice) -> str:
    if notice.last_error:
        return f"unsent: {notice.last_error}"
    if notice.flag:
        return f"flagged: {notice.flag}"
    if "hours_to_removal" in notice.detail:
        return f"removed after {notice.detail['hours_to_removal']} h" + ("" if notice.detail.get("within_deadline") else " (late)")
    if notice.follows:
        return f"re-notice of {notice.follows}"
    return ""


@takedown.command("show")
@click.argument("notice_id", metavar="NOTICE", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "eml"]), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write it to a file.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.pass_obj
def show(app: App, notice_id: int, fmt: str, output: Path | None, force: bool) -> None:
    """A notice as text, or as the e-mail (.eml, RFC 5322) with its evidence summary attached."""
    service = takedowns(app)
    notice = app.store.notice(notice_id)
    if fmt == "eml":
        text = notice_email(notice, service.organisation, service.environment, message_id=notice.message_id, at=notice.sent_at).as_string()
    else:
        text = f"To: {notice.recipient or '(no recipient: ' + (notice.flag or '') + ')'}\nSubject: {notice.subject}\n\n{notice.body}"
    if output is None:
        click.echo(text, nl=False)
        return
    refuse_existing([output], force)
    with staged(output) as stream:
        stream.write(text)


@takedown.command("send")
@click.argument("notice_id", metavar="NOTICE", type=int)
@click.option("--mark-sent", is_flag=True, help="It went through the host's web form: record it as sent, send nothing.")
@click.option("--at", "at", default=None, metavar="TIME", help="With --mark-sent: when it was sent (UTC, ISO 8601; default now).")
@click.option("--via", default="web form", show_default=True, help="With --mark-sent: how it was sent.")
@click.option("--again", is_flag=True, help="Send a notice sent before (or whose send was cut off) once more.")
@click.pass_obj
def send(app: App, notice_id: int, mark_sent: bool, at: str | None, via: str, again: bool) -> None:
    """Send NOTICE by e-mail (SMTP as configured), or record it sent; its deadline starts now."""
    service = takedowns(app)
    if mark_sent:
        notice = service.mark_sent(notice_id, utc_option(at), via, again=again)
    else:
        if at is not None:
            raise UserError("--at goes with --mark-sent (an e-mail is sent now)")
        try:
            notice = service.send(notice_id, SmtpSettings.from_settings(app.settings), again=again)
        except MailNotConfigured as exc:
            raise UserError(f"{exc}; or use --mark-sent") from None
        except MailFailed as exc:
            print_error(app.err, f"notice {notice_id} not sent: {exc}; it stays a draft (send again when the server is back)")
            raise click.exceptions.Exit(ReturnCode.UNAVAILABLE) from None
    app.out.print(f"notice {notice.id} sent to {notice.recipient or notice.host} ({notice.sent_via}) at {notice.sent_at}; "
                  f"deadline {notice.deadline_at}", markup=False, highlight=False)  # fmt: skip


@takedown.command("check")
@click.option("--now", "now", default=None, metavar="TIME", help="Check as if it were TIME (UTC, ISO 8601): for drills and tests.")
@click.pass_obj
def check(app: App, now: str | None) -> None:
    """Re-check the URLs of every notice whose deadline has passed (exactly those pages, captured again),
    then close what is gone, mark overdue what is not (drafting the re-notice), reopen what came back."""
    service = takedowns(app)
    moment = utc_option(now) or utc_now()
    due = service.due_for_check(moment)
    pages: dict[str, set[str]] = defaultdict(set)
    for notice in due:
        pages[notice.site or ""].update(item.page_url for item in notice.items)
    for site, urls in sorted(pages.items()):
        if not site:
            print_error(app.err, f"cannot re-check {', '.join(sorted(urls))}: not on a registered site")
            continue
        _recheck(app, site, sorted(urls), f"deadline check of notice(s) {', '.join(str(n.id) for n in due if n.site == site)}")
    service.checked(due, moment)  # as of the time the check stands for (--now moves it forward in drills)
    overdue = []
    for outcome in service.settle_all(moment):
        event = outcome.event
        assert event is not None
        app.out.print(f"notice {outcome.notice.id} ({outcome.notice.host}): {event.what} {json.dumps(event.detail)}",
                      markup=False, highlight=False)  # fmt: skip
        if event.what == "overdue":
            notice = outcome.notice
            overdue.append(Alert(AlertKind.OVERDUE_NOTICE, notice.case_id, event.at, host=notice.host, notice_id=str(notice.id),
                                 deadline=notice.deadline_at, urls_online=tuple(notice.detail.get("still_online", ()))))  # fmt: skip
    if overdue:
        deliver_alerts(app, overdue)
    drafted = [n for n in app.store.notices() if n.status == "draft" and n.follows]
    for notice in drafted:
        app.out.print(f"re-notice {notice.id} drafted for notice {notice.follows} (send it: spreadtrace takedown send {notice.id})",
                      markup=False, highlight=False)  # fmt: skip


def _recheck(app: App, site: str, urls: list[str], why: str) -> None:
    """A visit of exactly ``urls`` of ``site``, capturing every copy it sees (a crawl process of its own:
    a Twisted reactor runs once per process)."""
    settings = {**app.overrides, "SPREADTRACE_ONLY_PAGES": json.dumps(urls), "SPREADTRACE_CAPTURE_WHY": why}
    command = spreadtrace_command(str(app.home), settings, "crawl", "--site", site, "--fresh", "--no-progress")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print_error(app.err, f"re-check of {site} failed (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:] or ''}")
