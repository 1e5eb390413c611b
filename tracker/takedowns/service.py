"""Notices through their life: drafted, edited while a draft, sent (or marked sent), checked at their
deadline, closed, overdue and re-noticed, reopened. Every step is a notice event with who and when; an edit
is also an audit event, and sending a custody entry of the case, the sent message sealed as evidence of
what was said to whom, and an audit event."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

import jinja2

from matcher.hashlist import CONTROL_CHARACTERS
from tracker.clock import utc_now
from tracker.errors import TrackerError
from tracker.evidence.vault import Artefact, EvidenceVault
from tracker.mail import MailFailed, SmtpSettings, send
from tracker.models import AuditEvent, Sighting
from tracker.store import Store
from tracker.takedowns.deadlines import Outcome, deadline_of, due_for_check, settle
from tracker.takedowns.drafting import Organisation, compose, draft, drafted_event, evidence_by_sighting, notice_item
from tracker.takedowns.email import notice_email
from tracker.takedowns.models import Notice, NoticeEvent, NoticeStatus


class NoticeRefused(TrackerError):
    """A step a notice cannot take in its state (sending one sent before, or one without a recipient)."""


class NoticeTextRefused(TrackerError):
    """Raised by `Takedowns.edit` for a subject or text that cannot go out: empty, too long, or holding a
    control character (the subject becomes a mail header). The message names which."""


MAX_SUBJECT = 300  # one header line, well under RFC 5322's 998
MAX_BODY = 100_000  # a notice naming hundreds of URLs fits; a paste of something else does not


class Takedowns:
    def __init__(self, store: Store, vault: EvidenceVault, environment: jinja2.Environment, organisation: Organisation,
                 actor: str) -> None:  # fmt: skip
        self.store = store
        self.vault = vault
        self.environment = environment
        self.organisation = organisation
        self.actor = actor

    def draft(self, case_id: str, template: str, contacts: Mapping[str, str | None], hosts: Sequence[str] = ()) -> list[Notice]:
        """Draft a notice per host for the case's confirmed copies still online that no notice names yet."""
        sightings = [s for s in self.store.sightings(case_id) if s.actionable]  # confirmed, and no analyst rejected it
        evidence = evidence_by_sighting(self.vault.custody(case_id).entries()) if case_id in self.vault.cases() else {}
        drafts = draft(case_id, sightings, self.store.notices(case_id), template=template, organisation=self.organisation,
                       contacts=contacts, evidence=evidence, environment=self.environment, hosts=hosts)  # fmt: skip
        return [self._keep(notice) for notice in drafts]

    def _keep(self, notice: Notice) -> Notice:
        stored = self.store.add_notice(notice)
        self.store.add_notice_event(drafted_event(stored, self.actor))
        return stored

    def edit(self, notice_id: int, subject: str, body: str) -> Notice:
        """Replace a draft's subject and text: an analyst's wording, before it goes out. Only a draft: a sent
        notice stays what was said. The items and their evidence are not text, and stay as drafted. Raises
        NoticeRefused (not a draft) or NoticeTextRefused."""
        notice = self.store.notice(notice_id)
        if notice.status is not NoticeStatus.DRAFT:
            raise NoticeRefused(f"notice {notice_id} is {notice.status}: only a draft can be edited")
        subject, body = _checked_text(subject, body)
        edited = self.store.save_notice(replace(notice, subject=subject, body=body))
        detail = {"notice": notice_id, "host": notice.host, "subject": subject, "body_sha256": _sha256(body),
                  "was": {"subject": notice.subject, "body_sha256": _sha256(notice.body)}}  # fmt: skip
        self.store.add_notice_event(NoticeEvent(notice_id, utc_now(), self.actor, "edited", detail))
        self.store.log_event(AuditEvent(utc_now(), self.actor, "edit-notice", notice.case_id, detail))
        return edited

    def send(self, notice_id: int, smtp: SmtpSettings, *, again: bool = False) -> Notice:
        """Send by SMTP. Raises NoticeRefused (state, recipient) or MailFailed (the notice stays a draft,
        with the reason). Nothing goes out twice: a notice sent, or whose send was cut off, is refused
        unless ``again``."""
        notice = self.store.notice(notice_id)
        self._may_send(notice, again)
        if not notice.recipient:
            raise NoticeRefused(f"notice {notice_id} has no recipient: {notice.flag}")
        at = utc_now()
        message = notice_email(notice, self.organisation, self.environment, at=at)
        sending = self.store.save_notice(replace(notice, status=NoticeStatus.SENDING, message_id=message["Message-ID"], last_error=None))
        try:
            send(message, smtp)
        except MailFailed as exc:
            self.store.save_notice(replace(sending, status=NoticeStatus.DRAFT, last_error=str(exc)))
            self.store.add_notice_event(NoticeEvent(notice_id, utc_now(), self.actor, "send failed", {"reason": str(exc)}))
            raise
        return self._sent(sending, at, "smtp", message.as_bytes())

    def mark_sent(self, notice_id: int, at: str | None, via: str, *, again: bool = False) -> Notice:
        """Record a notice sent outside spreadtrace (a platform's web form) at ``at`` (default: now)."""
        notice = self.store.notice(notice_id)
        self._may_send(notice, again)
        return self._sent(notice, at or utc_now(), via, notice_email(notice, self.organisation, self.environment, at=at).as_bytes())

    def _may_send(self, notice: Notice, again: bool) -> None:
        if again:
            return
        if notice.status is NoticeStatus.SENDING:
            raise NoticeRefused(f"notice {notice.id}: a send was cut off at an unknown point (it may have gone out): check the "
                                f"mailbox, then use --mark-sent, or --again to send it once more")  # fmt: skip
        if notice.status is not NoticeStatus.DRAFT:
            raise NoticeRefused(f"notice {notice.id} is {notice.status} (sent {notice.sent_at}); --again sends it once more")

    def _sent(self, notice: Notice, at: str, via: str, message: bytes) -> Notice:
        assert notice.id is not None
        deadline = deadline_of(at, notice.deadline_hours)
        sent = self.store.save_notice(replace(notice, status=NoticeStatus.SENT, sent_at=at, sent_via=via, deadline_at=deadline))
        detail = {"notice": notice.id, "host": notice.host, "recipient": notice.recipient, "subject": notice.subject, "via": via,
                  "sent_at": at, "deadline_at": deadline, "sightings": notice.sighting_ids}  # fmt: skip
        self.store.add_notice_event(NoticeEvent(notice.id, utc_now(), self.actor, "sent", {"via": via, "at": at, "deadline_at": deadline}))
        self.store.log_event(AuditEvent(utc_now(), self.actor, "send-notice", notice.case_id, detail))
        self.vault.record(notice.case_id, "notice", self.actor, detail, [Artefact("notice", "message/rfc822", message)])
        return sent

    def due_for_check(self, now: str) -> list[Notice]:
        return due_for_check(self.store.notices(), now, self.last_checks())

    def last_checks(self) -> dict[int, str]:
        checks: dict[int, str] = {}
        for notice in self.store.notices():
            assert notice.id is not None
            for event in self.store.notice_events(notice.id):
                if event.what == "checked":
                    checks[notice.id] = max(checks.get(notice.id, ""), event.at)
        return checks

    def checked(self, notices: Sequence[Notice], at: str) -> None:
        for notice in notices:
            assert notice.id is not None
            self.store.add_notice_event(NoticeEvent(notice.id, at, self.actor, "checked", {"urls": [i.page_url for i in notice.items]}))

    def settle_all(self, now: str | None = None) -> list[Outcome]:
        """Move every notice to where its copies say it stands; draft the re-notices that calls for."""
        now = now or utc_now()
        checks = self.last_checks()
        outcomes = []
        for case_id in sorted({n.case_id for n in self.store.notices()}):
            sightings = {s.id: s for s in self.store.sightings(case_id)}
            for notice in self.store.notices(case_id):
                outcome = settle(notice, sightings, self.store.status_history, now, checks.get(notice.id or 0), self.actor)
                if outcome.event is None:
                    continue
                self.store.save_notice(outcome.notice)
                self.store.add_notice_event(outcome.event)
                if outcome.renotice_for:
                    self._renotice(outcome.notice, [sightings[sid] for sid in outcome.renotice_for], now)
                outcomes.append(outcome)
        return outcomes

    def _renotice(self, notice: Notice, online: Sequence[Sighting], now: str) -> Notice:
        """A re-notice of the copies still (or again) online, citing the first and the new captures."""
        evidence = evidence_by_sighting(self.vault.custody(notice.case_id).entries()) if notice.case_id in self.vault.cases() else {}
        items = tuple(notice_item(s, evidence) for s in online)
        seen_at = str(notice.detail.get("still_online_at") or notice.detail.get("reappeared_at") or now)
        renotice = compose(notice.case_id, notice.host, notice.site, notice.recipient, items, template=notice.template,
                           organisation=self.organisation, environment=self.environment, now=now, follows=notice,
                           still_online_at=seen_at)  # fmt: skip
        return self._keep(renotice)


def _checked_text(subject: str, body: str) -> tuple[str, str]:
    subject = " ".join(subject.split())  # one line: a line break in a header would start another header
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"
    for what, value, most in (("subject", subject, MAX_SUBJECT), ("text", body.strip(), MAX_BODY)):
        if not value:
            raise NoticeTextRefused(f"{what}: empty")
        if len(value) > most:
            raise NoticeTextRefused(f"{what}: {len(value):,} characters (at most {most:,})")
        if CONTROL_CHARACTERS.search(value.replace("\n", "").replace("\t", "")):
            raise NoticeTextRefused(f"{what}: holds a control character")
    return subject, body


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
