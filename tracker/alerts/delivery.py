"""Delivering alerts: per case and contact, ONE e-mail or ONE webhook POST a run, holding all its alerts.

Every attempt is recorded (`AlertStore`): an alert is claimed for a contact before it is sent, and said
delivered or failed after, so

- an alert reaches each contact once: a second run, or a run beside it, finds it claimed or delivered;
- one that failed is tried again by the next run (not in a loop within this one), up to
  SPREADTRACE_ALERT_ATTEMPTS runs; `spreadtrace alerts send` tries again whatever the count;
- a run killed between sending and recording leaves its claim; an hour on, the next run takes it as
  failed and sends again (a receiver may get it twice, never not at all; each alert's ``key`` names it).

No contact, nothing to do. E-mail contacts with no SMTP server configured: their alerts are not claimed
(they go out once one is, by `alerts send --since`), and the run says so in one warning.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tracker import mail
from tracker.alerts.alert import Alert
from tracker.alerts.contacts import InvalidContact, validate_webhook
from tracker.alerts.emails import alert_message
from tracker.alerts.webhook import PostPolicy, WebhookFailed, new_delivery_id, payload, post
from tracker.clock import format_utc, parse_utc, utc_now
from tracker.models import Contact, Delivery
from tracker.states import Channel, DeliveryOutcome
from tracker.store import AlertStore

logger = logging.getLogger(__name__)
# How long a claim stands for a run still at it: far longer than an SMTP exchange or a webhook's tries.
CLAIM_STANDS = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """SPREADTRACE_ALERT_* and SPREADTRACE_WEBHOOK_*, with crawler/settings.py's defaults when unset."""

    attempts: int = 5
    post: PostPolicy = PostPolicy()
    allow_http: bool = False
    user_agent: str = "spreadtrace"

    @classmethod
    def from_settings(cls, settings: Any) -> AlertSettings:
        def get(name: str, default: Any) -> Any:
            value = settings.get(name)
            return default if value is None or value == "" else value

        policy = PostPolicy(int(get("SPREADTRACE_WEBHOOK_RETRIES", 3)), float(get("SPREADTRACE_WEBHOOK_BACKOFF", 2.0)),
                            float(get("SPREADTRACE_WEBHOOK_TIMEOUT", 10.0)))  # fmt: skip
        allow_http = get("SPREADTRACE_WEBHOOK_ALLOW_HTTP", False)
        if isinstance(allow_http, str):
            allow_http = allow_http.strip().lower() in ("1", "true", "yes", "on")
        return cls(int(get("SPREADTRACE_ALERT_ATTEMPTS", 5)), policy, bool(allow_http), str(get("USER_AGENT", "spreadtrace")))


@dataclass
class DeliveryReport:
    """What one run delivered and what failed (one attempt per alert and contact), and its warnings."""

    delivered: list[Delivery] = field(default_factory=list)
    failed: list[Delivery] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def failures(self) -> list[tuple[str, Channel, str, str]]:
        """Each contact that failed once per reason: (case, channel, target, reason)."""
        return list(dict.fromkeys((d.case_id, d.channel, d.target, d.reason or "") for d in self.failed))


def deliver(alerts: Iterable[Alert], store: AlertStore, settings: Any, *, retry_all: bool = False,
            sleep: Callable[[float], None] | None = None) -> DeliveryReport:  # fmt: skip
    """Deliver ``alerts`` (any kind, any case) to their cases' contacts, with every earlier delivery that
    failed and may be tried again (every one, with ``retry_all``). Failures are recorded, never raised."""
    config = AlertSettings.from_settings(settings)
    now = utc_now()
    stale_before = format_utc(parse_utc(now) - CLAIM_STANDS)
    fresh: dict[str, list[Alert]] = defaultdict(list)
    for alert in {a.key: a for a in alerts}.values():
        fresh[alert.case_id].append(alert)
    owed: dict[tuple[str, str], list[Alert]] = defaultdict(list)  # (case, target) -> alerts to try again
    for failed in store.undelivered(stale_before, None if retry_all else config.attempts):
        owed[(failed.case_id, failed.target)].append(Alert.from_dict(failed.alert))
    report = DeliveryReport()
    smtp: mail.SmtpSettings | None = None
    no_smtp, unsent = "", 0
    try:
        smtp = mail.SmtpSettings.from_settings(settings)
    except mail.MailNotConfigured as exc:
        no_smtp = str(exc)
    for case_id in dict.fromkeys([*fresh, *(case for case, _ in owed)]):
        for contact in store.contacts(case_id):
            wanted = list({a.key: a for a in [*fresh.get(case_id, ()), *owed.get((case_id, contact.target), ())]}.values())
            if not wanted:
                continue
            if contact.channel is Channel.EMAIL and smtp is None:
                unsent += len(wanted)
                continue
            _deliver_to(contact, wanted, store, now, stale_before, config, smtp, report, sleep)
    if unsent:
        report.warnings.append(f"{unsent} alert(s) not e-mailed: {no_smtp}; "
                               "send them once it is: spreadtrace alerts send --since TIME")  # fmt: skip
    return report


def _deliver_to(contact: Contact, alerts: Sequence[Alert], store: AlertStore, now: str, stale_before: str,
                config: AlertSettings, smtp: mail.SmtpSettings | None, report: DeliveryReport,
                sleep: Callable[[float], None] | None) -> None:  # fmt: skip
    claims = [Delivery(a.key, contact.case_id, contact.channel, contact.target, now, alert=a.as_dict()) for a in alerts]
    claimed = [(alert, got) for alert, got in zip(alerts, store.claim_deliveries(claims, stale_before)) if got is not None]
    if not claimed:
        return
    ids = [got.id for _, got in claimed if got.id is not None]
    try:
        _send(contact, [alert for alert, _ in claimed], config, smtp, sleep)
    except (mail.MailFailed, WebhookFailed, InvalidContact) as exc:
        reason = " ".join(str(exc).split())
        store.settle_deliveries(ids, DeliveryOutcome.FAILED, reason, utc_now())
        report.failed += [_settled(got, DeliveryOutcome.FAILED, reason) for _, got in claimed]
        logger.warning("alerts for case %s to %s failed: %s", contact.case_id, contact.target, reason,
                       extra={"case_id": contact.case_id})  # fmt: skip
        return
    except BaseException as exc:  # a bug, or an interrupt: the claims must not stand an hour
        store.settle_deliveries(ids, DeliveryOutcome.FAILED, f"{type(exc).__name__}: {exc}", utc_now())
        raise
    store.settle_deliveries(ids, DeliveryOutcome.DELIVERED, None, utc_now())
    report.delivered += [_settled(got, DeliveryOutcome.DELIVERED, None) for _, got in claimed]


def _send(contact: Contact, alerts: Sequence[Alert], config: AlertSettings, smtp: mail.SmtpSettings | None,
          sleep: Callable[[float], None] | None) -> None:  # fmt: skip
    if contact.channel is Channel.EMAIL:
        assert smtp is not None
        mail.send(alert_message(contact.case_id, alerts, contact.target), smtp)
        return
    # Checked again as sent: SPREADTRACE_WEBHOOK_ALLOW_HTTP may have been turned off since it was added.
    validate_webhook(contact.target, allow_http=config.allow_http)
    delivery = new_delivery_id()
    body = payload(contact.case_id, alerts, utc_now(), delivery)
    extra = {"sleep": sleep} if sleep is not None else {}
    post(contact.target, body, contact.secret or "", delivery, config.post, user_agent=config.user_agent, **extra)


def _settled(claim: Delivery, outcome: DeliveryOutcome, reason: str | None) -> Delivery:
    return Delivery(claim.alert_key, claim.case_id, claim.channel, claim.target, claim.at, outcome, reason, claim.alert,
                    claim.attempt, claim.id)  # fmt: skip
