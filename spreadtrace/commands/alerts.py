"""`spreadtrace alerts list|send`: what was delivered to a case's contacts, and delivering what is owed by
hand; `visit_alerts`, what `crawl` (and so each visit `watch` starts) calls when its visits are done."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

import click

from crawler.errors import CrawlerError
from crawler.site_checks import interval_seconds
from spreadtrace.app import App
from spreadtrace.errors import UserError
from spreadtrace.render import print_error, print_warning
from tracker.alerts import Alert, DeliveryReport, alerts_since, deliver
from tracker.clock import format_utc, parse_claimed_time


def deliver_alerts(app: App, alerts: Sequence[Alert], *, retry_all: bool = False) -> DeliveryReport:
    """Deliver, then say in a line per failed contact and per warning what did not go out; quiet when there
    was nothing to deliver."""
    report = deliver(alerts, app.store, app.settings, retry_all=retry_all)
    for case_id, channel, target, reason in report.failures():
        print_error(app.err, f"alerts of case {case_id} to {channel} {target} failed: {reason}; tried again next run")
    for warning in report.warnings:
        print_warning(app.err, f"alerts: {warning}")
    if report.delivered:
        contacts = len({(d.case_id, d.target) for d in report.delivered})
        app.err.print(f"alerts: {len(report.delivered)} delivered to {contacts} contact(s)")
    return report


def visit_alerts(app: App, since: str, sites: Collection[str]) -> DeliveryReport:
    """The alerts of visits of ``sites`` that began at ``since``, with earlier failed deliveries."""
    return deliver_alerts(app, alerts_since(app.store, since, sites))


def parse_since(text: str) -> str:
    """A time as the record writes it, from ISO 8601 (a date is its midnight, UTC) or an age (6h, 2d)."""
    if (at := parse_claimed_time(text)) is not None:
        return at
    try:
        seconds = interval_seconds(text, "--since")
    except CrawlerError:
        raise UserError(f"--since {text!r}: expected a time (2026-03-01T10:00:00Z, 2026-03-01) or an age (30m, 6h, 2d)") from None
    return format_utc(datetime.now(UTC) - timedelta(seconds=seconds))


@click.group()
def alerts() -> None:
    """Alerts to each case's contacts (see: spreadtrace case contacts)."""


@alerts.command("list")
@click.argument("case_id", metavar="[CASE]", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Deliveries shown, newest first.")
@click.pass_obj
def list_deliveries(app: App, case_id: str | None, limit: int) -> None:
    """Recent deliveries of alerts (CASE's, or every case's), failures with their reason."""
    if case_id is not None:
        app.store.get_case(case_id)
    found = app.store.deliveries(case_id, limit)
    if not found:
        app.out.print("no alerts delivered yet" + (f" for case {case_id}" if case_id else ""))
        return
    # A line each, not a table: URLs and reasons are long, and a table cut to the terminal's width cuts them.
    for d in found:
        why = f": {d.reason}" if d.reason else ""
        app.out.print(f"{d.at}  {d.case_id}  {d.alert_key}  {d.channel} {d.target}  {d.outcome} (try {d.attempt}){why}")


@alerts.command("send")
@click.option("--since", "since_text", metavar="TIME",
              help="Also deliver every new-sighting and reappearance alert from TIME on (2026-03-01T10:00:00Z, or an "
                   "age: 6h, 2d) that a contact has not had.")  # fmt: skip
@click.pass_obj
def send(app: App, since_text: str | None) -> None:
    """Deliver what is owed now: every delivery that failed (however often), and with --since, the alerts
    of that time on. Nothing already delivered to a contact is sent again. Exit 1 if any failed."""
    found = alerts_since(app.store, parse_since(since_text)) if since_text is not None else []
    report = deliver_alerts(app, found, retry_all=True)
    if not (report.delivered or report.failed or report.warnings):
        app.out.print("nothing to deliver")
    if report.failed:
        raise click.exceptions.Exit(1)

