"""The record's nouns: cases, references, observations (facts) and sightings (derived from facts)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from matcher import ContentKind, Signal
from matcher.hashlist import label_problem
from tracker.errors import InvalidCaseName, InvalidLabel
from tracker.states import (Basis, Channel, ClaimState, DeliveryOutcome, PageOutcome, PageRole, PageState, Review, Role,
                            Status, Verdict, VisitOutcome)  # fmt: skip

# Always used with fullmatch: `$` would let a trailing newline through.
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def validate_case_id(case_id: str) -> str:
    if not isinstance(case_id, str) or not _CASE_ID.fullmatch(case_id):
        raise InvalidCaseName(
            f"invalid case name {case_id!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return case_id


def validate_label(label: str | None) -> str | None:
    """A reference's label as given, or InvalidLabel: no control characters or line breaks, 1,000 characters
    at most."""
    if label is not None and (problem := label_problem(label)):
        raise InvalidLabel(problem)
    return label


def host_of(url: str) -> str:
    """The host a URL is published on, with its port when it has one (as browsers show it)."""
    return urlsplit(url).netloc.lower()


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    created_at: str
    reference_count: int = 0
    withdrawn_at: str | None = None  # its hashes, sightings and evidence deleted at the victim's request


@dataclass(frozen=True, slots=True)
class Reference:
    """A reported item, kept as hashes only. ``label`` is the analyst's name for it (the file name)."""

    id: int
    case_id: str
    kind: ContentKind
    sha256: str | None
    md5: str | None
    label: str | None
    added_at: str
    signals: tuple[Signal, ...] = ()


@dataclass(frozen=True, slots=True)
class Observation:
    """An append-only fact: at ``observed_at``, ``media_url`` embedded in ``page_url`` answered so.

    ``sha256`` is set when bytes arrived; ``error`` says why not, or why they could not be hashed.
    ``claimed_at`` is the upload time the page itself states, with where it was read from.
    ``page_state`` is what the page said of the media on this visit (`PageState`); ``note`` says how that
    was decided.
    An observation belongs to one visit, once: a resumed visit never records the same pair twice.
    """

    observed_at: str
    media_url: str
    page_url: str
    site: str | None = None
    http_status: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    size: int | None = None
    error: str | None = None
    claimed_at: str | None = None
    claimed_source: str | None = None
    id: int | None = None
    visit_id: str | None = None
    page_state: PageState | None = None
    note: str | None = None

    @property
    def host(self) -> str:
        return host_of(self.page_url)

    @property
    def shows(self) -> bool:
        """Whether the page showed the media (a scan or an older record says nothing: it did)."""
        return self.page_state in (None, PageState.SHOWN)


@dataclass(frozen=True, slots=True)
class Sighting:
    """One place a copy of a reference was found: a media URL shown on a page.

    Derived from observations by the rules in `tracker.rules`; ``first_seen``/``last_seen`` are our own
    observation times, ``claimed_at`` the earliest upload time a page stated for it. ``status_at`` is the
    time of the observation that decided ``status``; ``revision`` counts the sighting's writes, so a store
    can refuse a write made from a stale read (two workers recording the same copy at once). ``review`` is
    what an analyst decided of it (`tracker.review`), None until someone does.
    """

    id: int
    case_id: str
    reference_id: int
    media_url: str
    page_url: str
    host: str
    site: str | None
    sha256: str | None
    first_seen: str
    last_seen: str
    status: Status
    distance: int
    decided_by: str
    signals: tuple[dict[str, object], ...] = field(default=())
    claimed_at: str | None = None
    claimed_source: str | None = None
    verdict: Verdict = Verdict.MATCH
    confidence: float | None = None
    status_at: str | None = None
    revision: int = 0
    review: Review | None = None

    @property
    def confirmed(self) -> bool:
        """A match, by the matcher or by an analyst who confirmed a candidate. Never a rejected sighting:
        only a needs-review candidate can be rejected, and it keeps that verdict."""
        return self.verdict is Verdict.MATCH

    @property
    def rejected(self) -> bool:
        """An analyst said it is not a copy: out of reports and notices, kept in the record for the audit."""
        return self.review is Review.REJECTED

    @property
    def awaiting_review(self) -> bool:
        """In the review queue: a needs-review candidate no analyst has decided."""
        return self.verdict is Verdict.NEEDS_REVIEW and self.review is None

    @property
    def actionable(self) -> bool:
        """May go in a takedown notice: a confirmed match that no analyst rejected."""
        return self.confirmed and not self.rejected

    @property
    def appeared(self) -> tuple[str, Basis]:
        """The earliest known time of this copy, and whether the page claimed it or we observed it."""
        if self.claimed_at is not None and self.claimed_at < self.first_seen:
            return self.claimed_at, Basis.CLAIMED
        return self.first_seen, Basis.OBSERVED


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Who took what out of the record, or looked at what: exports of hashes, reveals of previews."""

    at: str
    actor: str
    action: str
    case_id: str | None
    detail: dict[str, object]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """An analyst's decision on a sighting: confirmed as a copy, or rejected, by whom, when and why."""

    sighting_id: int
    case_id: str
    reference_id: int
    decision: Review
    actor: str
    at: str
    why: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """Media an analyst rejected as a copy of one reference, so it is never a candidate of it again: its
    SHA-256 (``kind`` "sha256"), or one of its PDQ hashes (``kind`` "pdq", 64 hex digits; near duplicates
    count, `tracker.allowlist`). Per reference, not per case: a picture that is not one reference may be a
    true copy of another."""

    reference_id: int
    kind: str
    value: str
    review_id: int | None = None


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A change of a sighting's status, and the observation that showed it."""

    sighting_id: int
    at: str
    status: Status
    reason: str | None
    observation_id: int | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit of a site: the pages it claimed, and how it ended (``finished_at`` None: unfinished)."""

    id: str
    site: str
    started_at: str
    finished_at: str | None = None
    outcome: VisitOutcome | None = None
    pages: int = 0
    detail: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PageVisit:
    """A page as one visit found it; ``metadata`` maps a field (title, uploader, uploaded) to its value and
    where it was read from."""

    visit_id: str
    url: str
    role: PageRole
    state: ClaimState
    http_status: int | None = None
    final_url: str | None = None
    outcome: PageOutcome | None = None
    reason: str | None = None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Link:
    """A page linking to another page: how a forum post pointed to a tube-site copy."""

    from_url: str
    to_url: str
    from_host: str
    to_host: str
    to_site: str | None
    first_seen: str
    last_seen: str


@dataclass(frozen=True, slots=True)
class Validators:
    """What a URL last answered, for a conditional request next visit (RFC 9110 section 13)."""

    url: str
    etag: str | None
    last_modified: str | None
    sha256: str | None
    http_status: int | None
    content_type: str | None
    checked_at: str


class PendingPage(NamedTuple):
    """A page claimed in a visit and not finished. ``position`` orders the visit's claims: pages are
    handed out in that order, and a frontier reads on from the last position it handed out."""

    position: int
    url: str
    role: PageRole


@dataclass(frozen=True, slots=True)
class PageReading:
    """What a page showed when last read, kept with its validators: when the site answers the next visit's
    conditional request with 304, the visit acts on this instead of a body it did not download.
    ``content`` is the crawler's to interpret (JSON-able: media found, links, metadata)."""

    url: str
    etag: str | None
    last_modified: str | None
    read_at: str
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One HTTP request and the response to it, as fetched: what a capture keeps as a WARC.

    ``body`` is the response body as the crawler has it: bytes (a page), a file (a media body spooled to
    disk, streamed from there), or None when it is not at hand; then ``payload_sha256`` names the bytes
    (a 304 for a known file, a file another page's capture holds) and the capture says so with a WARC
    revisit record. ``certificate`` is the TLS certificate (DER) of an https host.
    """

    url: str
    fetched_at: str
    status: int
    response_headers: tuple[tuple[str, str], ...] = ()
    body: bytes | Path | None = None
    request_headers: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    ip: str | None = None
    certificate: bytes | None = field(default=None, repr=False)
    payload_sha256: str | None = None
    redirects: tuple[HttpExchange, ...] = ()  # the redirects that led here, first first: kept before it


@dataclass(frozen=True, slots=True)
class Contact:
    """Who hears of a case's alerts: an e-mail address, or a webhook URL with the secret its POSTs are signed
    with (HMAC-SHA256; shown once, when the webhook is added)."""

    case_id: str
    channel: Channel
    target: str  # the address, or the URL
    added_at: str
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver one alert to one contact: a run claims it (``SENDING``), then says how it went.

    ``alert`` is the alert as its JSON object (`tracker.alerts.Alert.as_dict`): links, hashes, times and
    statuses, never the media; kept so a failed delivery is retried as it was first sent, whoever built it.
    ``attempt`` counts the runs that tried this alert on this contact, this one included.
    """

    alert_key: str
    case_id: str
    channel: Channel
    target: str
    at: str
    outcome: DeliveryOutcome = DeliveryOutcome.SENDING
    reason: str | None = None
    alert: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    attempt: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class User:
    """A dashboard account. ``password_hash`` is argon2's encoded string (parameters and salt included), so
    a hash made under older parameters still verifies and can be upgraded at the next login."""

    name: str
    role: Role
    password_hash: str = field(repr=False)
    created_at: str
    blur: int = 12  # the radius previews are blurred with for this account (a 320-pixel preview's)
    daily_reveals: int | None = None  # at most this many reveals a UTC day; None: no limit
    sessions_from: str | None = None  # a session begun before this (a logout's time) no longer counts

