"""The Store: narrow protocols, combined. Functions take only the part they need.

A store persists; it does not decide. What a sighting becomes is decided by `tracker.rules` and written
with a compare-and-set on its revision, so a backend needs no domain logic of its own, only atomic writes.
Every backend passes the same contract tests (tests/test_tracker_store_contract.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple, Protocol

from matcher import ContentKind, MediaHashes, Signal
from matcher.hashers.vpdq import frames_from_text
from tracker.models import (AllowEntry, AuditEvent, Case, Contact, Delivery, Link, Observation, PageReading, PageVisit,
                            PendingPage, Reference, ReviewDecision, Sighting, StatusEvent, User, Validators, Visit)  # fmt: skip
from tracker.states import Channel, DeliveryOutcome, PageRole, Status, VisitOutcome
from tracker.takedowns.models import Notice, NoticeEvent


class HashReference(NamedTuple):
    """A reference known only by a hash (a partner's list): no file, no SHA-256."""

    kind: ContentKind
    label: str | None
    signal: Signal


class MediaCodes(NamedTuple):
    """A stored media as retroactive matching streams it (`MediaStore.iter_media_codes`): its hashes that
    an index proposes candidates by, as hex, and whether it has keypoints. ``number`` is its place in the
    stream (the order media were hashed); `MediaStore.media_sha256` names the media behind numbers."""

    number: int
    pdq: str  # every PDQ hash and every video frame's PDQ, 64 hex digits each, concatenated
    phash: str  # every pHash, 16 hex digits each
    # 1: it has a signal the matcher compares with references one by one, not through an index (ORB
    # keypoints, a periodic picture's spectrum signature). SQLite has no booleans; truth is all that is asked.
    keypoints: int


def media_codes(signals: Sequence[Signal]) -> tuple[str, str, int]:
    """The ``pdq``, ``phash`` and ``keypoints`` fields of `MediaCodes` for a media's signals."""
    pdq = "".join(s.value for s in signals if s.kind == "pdq")
    frames = "".join(frame.pdq for s in signals if s.kind == "vpdq" for frame in frames_from_text(s.value))
    phash = "".join(s.value for s in signals if s.kind == "phash")
    return pdq + frames, phash, int(any(s.kind in ("orb", "spectrum") for s in signals))


class CaseStore(Protocol):
    def ensure_case(self, case_id: str) -> Case: ...
    def get_case(self, case_id: str) -> Case:
        """Raises UnknownCase."""
        ...

    def list_cases(self) -> list[Case]: ...
    def add_reference(
        self, case_id: str, kind: ContentKind, sha256: str | None, md5: str | None, label: str | None,
        signals: Sequence[Signal],
    ) -> Reference | None:
        """The new reference, or None when the case already holds these bytes."""  # fmt: skip
        ...

    def import_references(self, case_id: str, references: Iterable[HashReference]) -> tuple[list[Reference], int]:
        """Add hash-only references to ``case_id`` (created if new) in ONE transaction, consuming
        ``references`` as it goes: all of them, or none, and no new case, when the iterable raises (a bad
        line, an interrupted import) or the process dies. A reference whose signal the case already holds,
        or that came earlier in the same iterable, is skipped. Returns the references added and the number
        skipped. Raises InvalidCaseName, InvalidLabel."""
        ...

    def references(self, case_id: str | None = None) -> list[Reference]: ...
    def withdraw_case(self, case_id: str, at: str) -> tuple[int, int]:
        """Delete the case's references (hashes) and its sightings with their history, review decisions
        and allowlist, in one transaction, and mark the case withdrawn at ``at``; the numbers of references and sightings deleted. Adding to
        the case raises CaseWithdrawn from then on. Raises UnknownCase."""
        ...


class MediaStore(Protocol):
    """Hashes of every media file met, keyed by SHA-256, so bytes are hashed once and matched forever."""

    def put_media(self, hashes: MediaHashes) -> None: ...
    def put_unhashable(self, sha256: str, size: int, reason: str) -> None: ...
    def media_signals(self, sha256: str) -> tuple[Signal, ...] | str | None:
        """Signals of known media; the reason text for known-unhashable bytes; None for unknown."""
        ...

    def iter_media_signals(self) -> Iterator[tuple[str, tuple[Signal, ...]]]: ...
    def media_count(self) -> int:
        """Media with signals (what `iter_media_codes` streams)."""
        ...

    def iter_media_codes(self, budget: int) -> Iterator[list[MediaCodes]]:
        """Every media with signals, in the order they were hashed, in batches of about ``budget`` characters
        of codes (at least one media each): memory stays flat however many media there are, and whether they
        are pictures (80 characters) or long videos (64 a frame). The stream reads a snapshot of its own:
        callers may write meanwhile."""
        ...

    def media_sha256(self, numbers: Iterable[int]) -> Iterator[str]:
        """The SHA-256 of each media `iter_media_codes` numbered so, each once, in SHA-256 order; streamed,
        however many there are."""
        ...


class ObservationStore(Protocol):
    def append_observation(self, observation: Observation) -> Observation:
        """Append; an observation of a (visit, page, media) already held returns the stored one unchanged."""
        ...

    def observations_of(self, sha256: str) -> list[Observation]: ...
    def observations_at(self, page_url: str, media_url: str) -> list[Observation]:
        """Every observation of one media URL on one page, oldest first."""
        ...

    def observation_count(self) -> int: ...


class SightingStore(Protocol):
    def save_sighting(
        self, sighting: Sighting, events: Sequence[StatusEvent], *, expected_revision: int | None
    ) -> Sighting | None:
        """Write a sighting as `tracker.rules` decided it, with its status events, atomically.

        ``expected_revision`` None inserts a new sighting; otherwise the stored one is replaced only if its
        revision is still that. Returns the stored sighting (revision advanced, ids filled in), or None when
        another writer got there first: the caller reads again and re-applies the rules.
        """
        ...

    def sightings(self, case_id: str) -> list[Sighting]: ...
    def get_sighting(self, sighting_id: int) -> Sighting:
        """Raises UnknownSighting."""
        ...

    def sightings_on_page(self, page_url: str) -> list[Sighting]: ...
    def sightings_of_site(self, site: str) -> list[Sighting]: ...
    def status_history(self, sighting_id: int) -> list[StatusEvent]: ...
    def sightings_since(self, since: str) -> list[Sighting]:
        """Every case's sightings first seen at or after ``since``, oldest first (what a visit found)."""
        ...

    def status_changes_since(self, since: str, status: Status) -> list[tuple[StatusEvent, Sighting]]:
        """Every move of a sighting to ``status`` at or after ``since``, oldest first, each with its sighting."""
        ...


class VisitStore(Protocol):
    """Visits and their page journal: what makes a killed crawl resumable and lets workers share one."""

    def open_visit(self, visit_id: str, site: str) -> Visit:
        """The visit ``visit_id``, created if new (several workers may open the same one)."""
        ...

    def finish_visit(self, visit_id: str, outcome: VisitOutcome, detail: dict[str, object]) -> None: ...
    def visits(self, site: str | None = None, limit: int = 20) -> list[Visit]:
        """Newest first."""
        ...

    def claim_page(self, visit_id: str, url: str, role: PageRole, cap: int | None) -> int | None:
        """Once per (visit, url), the page's position among the visit's claims (positive, growing): the
        caller fetches it. None if claimed before, or ``cap`` pages are."""
        ...

    def finish_page(self, page: PageVisit) -> None: ...
    def release_page(self, visit_id: str) -> None:
        """Give one page back to the visit's budget (a claimed page that was not fetched)."""
        ...

    def pending_pages(self, visit_id: str, after: int = 0, limit: int = 1000) -> list[PendingPage]:
        """Pages claimed but not finished, in claim order, from position ``after`` on, at most ``limit``: a
        killed visit's gap, and the pages a crawl keeps claimed out of its memory (`crawler.frontier`)."""
        ...

    def page_visits(self, visit_id: str) -> list[PageVisit]: ...
    def record_links(self, from_url: str, targets: Sequence[tuple[str, str | None]], at: str) -> None: ...
    def links(self, to_urls: Sequence[str] | None = None) -> list[Link]: ...
    def links_from(self, from_urls: Sequence[str]) -> list[Link]:
        """Every link recorded from the pages ``from_urls``: where pages carrying a copy point to."""
        ...

    def page_metadata(self, urls: Sequence[str]) -> dict[str, dict[str, dict[str, str]]]:
        """What each page said of itself (title, uploader, uploaded: value and source) when a visit last
        recorded any; pages never read with metadata are left out."""
        ...

    def validators(self, url: str) -> Validators | None: ...
    def put_validators(self, validators: Validators) -> None: ...
    def page_reading(self, url: str) -> PageReading | None:
        """What the page at ``url`` showed when last read with validators, or None."""
        ...

    def put_page_reading(self, reading: PageReading) -> None:
        """Replaces the page's previous reading."""
        ...


class ReviewStore(Protocol):
    """Analysts' decisions on needs-review candidates, and the allowlist a rejection adds to."""

    def awaiting_review(self, case_id: str | None = None) -> list[Sighting]:
        """Needs-review sightings no analyst has decided, of one case or every case, oldest first (first
        seen, then id). Raises UnknownCase."""
        ...

    def save_review(
        self, review: ReviewDecision, sighting: Sighting, events: Sequence[StatusEvent], allow: Sequence[AllowEntry], *,
        expected_revision: int,
    ) -> Sighting | None:
        """Record ``review``, write ``sighting`` as decided with its ``events``, and put ``allow`` on the
        allowlist (each entry's ``review_id`` becomes the review's; an entry held already is kept as it
        was), all in one transaction: a rejection is never stored without its allowlist. Returns the
        stored sighting, or None (and nothing written) when its revision is no longer ``expected_revision``:
        the caller reads again and decides again."""  # fmt: skip
        ...

    def reviews(self, case_id: str | None = None) -> list[ReviewDecision]:
        """Every decision, of one case or every case, in the order they were taken."""
        ...

    def allowlist(self) -> list[AllowEntry]:
        """Every allowlist entry, of every reference of a case not withdrawn (a few per rejection)."""
        ...


class AuditStore(Protocol):
    """Append-only: every export of hashes and every reveal of a preview is recorded, with who did it."""

    def log_event(self, event: AuditEvent) -> AuditEvent: ...
    def audit_events(self, case_id: str | None = None) -> list[AuditEvent]: ...
    def recent_audit_events(self, *, actor: str | None = None, action: str | None = None, case_id: str | None = None,
                            since: str | None = None, before_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
        """Newest first, at most ``limit``: the events matching every filter given, before event ``before_id``
        (the next page) and at or after ``since``."""
        ...


class AlertStore(Protocol):
    """A case's contacts, and every attempt to deliver an alert to one (`tracker.alerts`).

    Delivery is claimed before it is made, so two runs delivering at once (two sites' visits ending
    together, distributed workers) never both send an alert to the same contact.
    """

    def add_contact(self, case_id: str, channel: Channel, target: str, secret: str | None, at: str) -> Contact | None:
        """The new contact, or None when the case has it already. Raises UnknownCase, CaseWithdrawn."""
        ...

    def remove_contact(self, case_id: str, target: str) -> bool:
        """Whether the case had ``target`` (an address or a URL) as a contact."""
        ...

    def contacts(self, case_id: str | None = None) -> list[Contact]:
        """A case's contacts (every case's without one), in the order they were added."""
        ...

    def claim_deliveries(self, claims: Sequence[Delivery], stale_before: str) -> list[Delivery | None]:
        """Per claim, in one transaction: its stored attempt (``SENDING``, id and attempt number set), or None
        when its alert was delivered to that contact already, or another run claimed it at or after
        ``stale_before`` and has not said how it went."""
        ...

    def settle_deliveries(self, ids: Sequence[int], outcome: DeliveryOutcome, reason: str | None, at: str) -> None:
        """Say how claimed attempts went."""
        ...

    def undelivered(self, stale_before: str, max_attempts: int | None = None) -> list[Delivery]:
        """Per alert and contact never delivered, its latest attempt when that failed, or was claimed before
        ``stale_before`` and never settled (its run was killed); only those tried fewer than ``max_attempts``
        times, when given. Oldest first."""
        ...

    def deliveries(self, case_id: str | None = None, limit: int = 50) -> list[Delivery]:
        """The latest attempts, newest first."""
        ...


class NoticeStore(Protocol):
    """Takedown notices (`tracker.takedowns`) and their history, append-only."""

    def add_notice(self, notice: Notice) -> Notice:
        """Store a new notice; returns it with its id."""
        ...

    def save_notice(self, notice: Notice) -> Notice:
        """Replace a stored notice (raises UnknownNotice)."""
        ...

    def notice(self, notice_id: int) -> Notice:
        """Raises UnknownNotice."""
        ...

    def notices(self, case_id: str | None = None) -> list[Notice]:
        """Oldest first."""
        ...

    def add_notice_event(self, event: NoticeEvent) -> NoticeEvent: ...
    def notice_events(self, notice_id: int) -> list[NoticeEvent]: ...


class UserStore(Protocol):
    """Dashboard accounts (`dashboards.web.accounts`): names, roles and password hashes."""

    def add_user(self, user: User) -> User | None:
        """Store a new account; None when the name is taken (the stored one is left as it was)."""
        ...

    def user(self, name: str) -> User | None: ...
    def users(self) -> list[User]:
        """Every account, by name."""
        ...

    def set_password_hash(self, name: str, password_hash: str) -> bool:
        """Replace an account's hash (a new password, or argon2 parameters upgraded); whether it exists."""
        ...

    def set_user_choices(self, name: str, *, blur: int, daily_reveals: int | None) -> bool:
        """An account's own preview blur and daily reveal limit; whether it exists."""
        ...

    def end_sessions(self, name: str, at: str) -> bool:
        """Every session of the account begun before ``at`` stops counting (a logout); whether it exists."""
        ...

    def restrict_case(self, case_id: str, names: Sequence[str]) -> None:
        """Open ``case_id`` to the named accounts only (admins always see it); no names: open to everyone."""
        ...

    def case_access(self) -> dict[str, frozenset[str]]:
        """Each restricted case and the accounts it is open to; a case not here is open to everyone."""
        ...


class Store(CaseStore, MediaStore, ObservationStore, SightingStore, VisitStore, ReviewStore, AuditStore, AlertStore, NoticeStore,
            UserStore, Protocol):
    def close(self) -> None: ...
