"""`spreadtrace case contacts CASE`: who hears of the case's alerts (e-mail addresses, webhooks)."""

from __future__ import annotations

import getpass

import click

from spreadtrace.app import App
from spreadtrace.errors import UserError
from tracker import AuditEvent
from tracker.alerts import AlertSettings, new_secret, validate_email, validate_webhook
from tracker.clock import utc_now
from tracker.states import Channel


@click.command("contacts")
@click.argument("case_id", metavar="CASE")
@click.option("--email", "emails", multiple=True, metavar="ADDRESS", help="Add an e-mail address (repeatable).")
@click.option("--webhook", "webhooks", multiple=True, metavar="URL",
              help="Add a webhook (https): alerts are POSTed there as signed JSON (repeatable).")
@click.option("--remove", "removals", multiple=True, metavar="ADDRESS_OR_URL", help="Remove a contact (repeatable).")
@click.pass_obj
def contacts(app: App, case_id: str, emails: tuple[str, ...], webhooks: tuple[str, ...], removals: tuple[str, ...]) -> None:
    """Show CASE's contacts, or add and remove them. Each hears of the case's new sightings, reappearances
    and overdue notices: one e-mail, or one webhook POST, per visit, with links and hashes only.

    A new webhook's secret is printed once: the receiver checks each POST's X-Spreadtrace-Signature with it
    (docs/alerts.md). To change a secret, remove the webhook and add it again."""
    case = app.store.get_case(case_id)
    if (emails or webhooks) and case.withdrawn_at is not None:
        raise UserError(f"case {case_id!r} was withdrawn at {case.withdrawn_at}: it has nothing to alert of")
    allow_http = AlertSettings.from_settings(app.settings).allow_http
    # Every one checked before any is kept: a typo in the third leaves the first two unadded too.
    wanted: list[tuple[Channel, str, str | None]] = [(Channel.EMAIL, validate_email(address), None) for address in emails]
    wanted += [(Channel.WEBHOOK, validate_webhook(url, allow_http=allow_http), new_secret()) for url in webhooks]
    held = {contact.target for contact in app.store.contacts(case_id)}
    for target in removals:
        if target not in held:
            raise UserError(f"{target!r} is not a contact of case {case_id} (see: spreadtrace case contacts {case_id})")
    at = utc_now()
    added, removed = [], [target for target in dict.fromkeys(removals) if app.store.remove_contact(case_id, target)]
    for channel, target, secret in wanted:
        contact = app.store.add_contact(case_id, channel, target, secret, at)
        if contact is None:
            app.out.print(f"{target}: already a contact of case {case_id}")
            continue
        added.append(target)
        if contact.secret is not None:
            app.out.print(f"webhook {target}: secret {contact.secret}")
            app.out.print("  (shown once: the receiver checks each POST's X-Spreadtrace-Signature with it)")
        else:
            app.out.print(f"{target}: added")
    for target in removed:
        app.out.print(f"{target}: removed")
    if added or removed:
        detail: dict[str, object] = {"added": added, "removed": removed}
        app.store.log_event(AuditEvent(at, getpass.getuser(), "contacts", case_id, detail))
        return
    _show(app, case_id)


def _show(app: App, case_id: str) -> None:
    held = app.store.contacts(case_id)
    if not held:
        app.out.print(f"case {case_id} has no contacts (add one: spreadtrace case contacts {case_id} --email ADDRESS)")
        return
    for contact in held:  # a line each: a table cut to the terminal's width would cut the URLs
        app.out.print(f"{contact.channel:<8} {contact.target}  (added {contact.added_at})")

