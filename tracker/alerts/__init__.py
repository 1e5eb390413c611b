"""Alerts: a case's contacts hear of its new sightings, reappearances and overdue notices, by e-mail and
webhook, batched per run, with links and hashes only. See docs/architecture.md ("Alerts") and
docs/alerts.md (the webhook's JSON and signature)."""

from tracker.alerts.alert import Alert, UnsafeAlert
from tracker.alerts.collect import alerts_since
from tracker.alerts.contacts import InvalidContact, new_secret, validate_email, validate_webhook
from tracker.alerts.delivery import AlertSettings, DeliveryReport, deliver

__all__ = [
    "Alert",
    "AlertSettings",
    "DeliveryReport",
    "InvalidContact",
    "UnsafeAlert",
    "alerts_since",
    "deliver",
    "new_secret",
    "validate_email",
    "validate_webhook",
]
