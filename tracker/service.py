"""The tracker service: what the crawler and the CLI hand observations, references and visits to.

It owns the matcher built from every case's references, so the crawler never talks to a backend and the
matcher never learns about cases. One Tracker serves a whole crawl process, every site's crawler at once:
one copy of the reference indexes, one store. Its methods are safe to call from several threads.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from matcher import ContentKind, Matcher, MatchDecision, MatchPolicy, MediaHashes, Signal
from matcher.hashlist import HashEntry
from tracker.allowlist import Allowlist, pdq_distance, usable_pdq
from tracker.clock import utc_now
from tracker.errors import refused_by_disk
from tracker.evidence.capture import EvidenceRecorder
from tracker.journal import VisitJournal
from tracker.models import AllowEntry, AuditEvent, HttpExchange, Observation, Reference, Sighting
from tracker.retroactive import Progress, earlier_matches
from tracker.sightings import SightingBook
from tracker.store import HashReference, Store

logger = logging.getLogger(__name__)

# Decisions kept per SHA-256: a revisit re-observes the same bytes on every page, and matching a long
# video's frames again each time would cost more than the crawl.
_DECISION_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class MediaState:
    """What the store already knows of some bytes: their signals, or why they cannot be hashed."""

    known: bool
    error: str | None = None


class Tracker:
    def __init__(self, store: Store, policy: MatchPolicy, *, owns_store: bool = False) -> None:
        self.store = store
        self.policy = policy
        self.visits = VisitJournal(store)
        self._book = SightingBook(store)
        self._owns_store = owns_store
        self._lock = threading.RLock()
        self._case_of: dict[int, str] = {}
        self._matcher: Matcher | None = None
        self._allowlist: Allowlist | None = None
        # Per SHA-256: the matcher's decisions, and the media's PDQ hashes the allowlist compares.
        self._decisions: OrderedDict[str, tuple[list[MatchDecision], tuple[int, ...]]] = OrderedDict()
        self.evidence: EvidenceRecorder | None = None  # set by a crawl that captures evidence
        self.capture_every: str | None = None  # a targeted check captures every copy it sees, saying why

    @property
    def matcher(self) -> Matcher:
        """Every case's references, indexed when first needed: a command that only adds references (an
        import of a million hashes) or reads the record never pays for indexing them all."""
        with self._lock:
            if self._matcher is None:
                references = self.store.references()
                self._case_of.update((ref.id, ref.case_id) for ref in references)
                self._matcher = Matcher(self.policy, ((ref.id, ref.signals) for ref in references))
            return self._matcher

    @property
    def allowlist(self) -> Allowlist:
        """What analysts rejected, per reference, read once: a crawl reads it when it starts, and a review
        in this process adds to it (`reviewed`); a review in another process reaches the next crawl."""
        with self._lock:
            if self._allowlist is None:
                self._allowlist = Allowlist(self.policy, self.store.allowlist())
            return self._allowlist

    def reviewed(self, entries: Sequence[AllowEntry]) -> None:
        """A rejection added ``entries`` to the allowlist: from now on this process records none of them."""
        with self._lock:
            if self._allowlist is not None:
                self._allowlist.add(entries)

    @classmethod
    def open(cls, store_uri: str, policy: MatchPolicy) -> Tracker:
        """A tracker over the store at ``store_uri``, which it closes on `close`."""
        from tracker.stores import open_store

        return cls(open_store(store_uri), policy, owns_store=True)

    def close(self) -> None:
        if self._owns_store:
            self.store.close()

    # -- media met by a crawl ---------------------------------------------------------------------

    def media_state(self, sha256: str) -> MediaState:
        known = self.store.media_signals(sha256)
        if known is None:
            return MediaState(known=False)
        return MediaState(known=True, error=known if isinstance(known, str) else None)

    def record_media(self, hashes: MediaHashes) -> None:
        self.store.put_media(hashes)

    def record_unhashable(self, sha256: str, size: int, reason: str) -> None:
        self.store.put_unhashable(sha256, size, reason)

    def observe(self, observation: Observation, exchanges: Callable[[], Sequence[HttpExchange]] | None = None) -> list[Sighting]:
        """Append the observation; return the sightings it creates or extends.

        Sightings of the copy it concerns move to the status it shows (`tracker.rules.judge`): removed,
        changed, or online again ("reappeared"). An observation that shows nothing (a failed fetch, a
        cached answer) moves nothing: a removed copy never looks online on a failed check.

        With an `evidence` recorder, a sighting first seen or moved is captured: ``exchanges()`` gives what
        the crawler fetched (page, then media), asked only then. A capture that fails is logged, does not
        undo the observation, and is taken again when a later visit sees the copy (as is a failed screenshot).
        """
        with self._lock:
            stored = self.store.append_observation(observation)
            decisions, pdq = self._matched(stored)
            candidates = self._allowed(stored, decisions, pdq)
            before = {s.id for s in self.store.sightings_on_page(stored.page_url)} if candidates and self.evidence else set()
            recorded = [self._record(stored, d) for d in candidates] if stored.shows else []
            # A rejected sighting met again by a crawl that began before the rejection: not news.
            sightings = [s for s in recorded if not s.rejected]
            matched = {d.reference_id for d in decisions}  # the copies' statuses: the bytes still match, allowlisted or not
            events = self._book.update_statuses(stored, matched.__contains__)
        if self.evidence is not None and exchanges is not None:
            moved = {event.sighting_id: f"{event.status}: {event.reason}" if event.reason else str(event.status) for event in events}
            wanted = {s.id: (s, "first seen") for s in sightings if s.id not in before}
            for s in sightings:  # seen again, and owing a capture or a screenshot from an earlier visit
                if s.id not in wanted and (due := self.evidence.owes(s)) is not None:
                    wanted[s.id] = (s, f"retry: {due.reason}")
                if s.id not in wanted and self.capture_every:
                    wanted[s.id] = (s, self.capture_every)
            if moved:
                prefix = f"{self.capture_every}: " if self.capture_every else ""
                wanted.update((s.id, (s, prefix + moved[s.id])) for s in self.store.sightings_on_page(stored.page_url) if s.id in moved)
            for sighting, why in wanted.values():
                self._capture(self.evidence, sighting, why, stored, exchanges)
        return sightings

    def _capture(self, recorder: EvidenceRecorder, sighting: Sighting, why: str, observation: Observation,
                 exchanges: Callable[[], Sequence[HttpExchange]]) -> None:  # fmt: skip
        try:
            recorder.capture(sighting, why, observation, exchanges())
        except Exception as exc:
            if refused_by_disk(exc):
                raise  # the disk refused the write, as it would any other: the caller stops recording
            logger.error("capture of sighting %d (%s on %s) failed: %s: %s", sighting.id, sighting.media_url,
                         sighting.page_url, type(exc).__name__, exc)  # fmt: skip

    def _record(self, observation: Observation, decision: MatchDecision) -> Sighting:
        return self._book.record(observation, decision, self._case_of[decision.reference_id])

    def _match(self, observation: Observation) -> list[MatchDecision]:
        """Every reference the observed bytes match, or may match, as the matcher sees them."""
        return self._matched(observation)[0]

    def _matched(self, observation: Observation) -> tuple[list[MatchDecision], tuple[int, ...]]:
        """`_match`'s decisions, with the media's PDQ hashes the allowlist compares (`_allowed` keeps the
        decisions that make sightings: those whose reference's allowlist does not hold the bytes)."""
        if observation.sha256 is None or observation.error is not None:
            return [], ()
        return self._match_media(observation.sha256)

    def _allowed(self, observation: Observation, decisions: list[MatchDecision], pdq: Sequence[int]) -> list[MatchDecision]:
        if not decisions or not len(self.allowlist):
            return decisions
        assert observation.sha256 is not None
        allowed = []
        for decision in decisions:
            if self.allowlist.holds(decision.reference_id, observation.sha256, pdq, pdq_distance(decision)):
                logger.info("%s on %s: rejected before as a copy of reference %d, not recorded", observation.media_url,
                            observation.page_url, decision.reference_id)  # fmt: skip
            else:
                allowed.append(decision)
        return allowed

    def _match_media(self, sha256: str) -> tuple[list[MatchDecision], tuple[int, ...]]:
        cached = self._decisions.get(sha256)
        if cached is not None:
            self._decisions.move_to_end(sha256)
            return cached
        signals = self.store.media_signals(sha256)
        decisions = self.matcher.match(signals) if isinstance(signals, tuple) else []
        found = (decisions, self._pdq_codes(signals) if decisions and isinstance(signals, tuple) else ())
        self._decisions[sha256] = found
        if len(self._decisions) > _DECISION_CACHE_SIZE:
            self._decisions.popitem(last=False)
        return found

    def _pdq_codes(self, signals: Sequence[Signal]) -> tuple[int, ...]:
        return tuple(int(value, 16) for value in usable_pdq(signals, self.policy))

    # -- references -------------------------------------------------------------------------------

    def add_reference(self, case_id: str, hashes: MediaHashes, label: str | None) -> Reference | None:
        """Register a reference and match media from now on; None if the case already had these bytes.

        Media seen before is matched by `match_history`, once for a whole batch of new references.
        """
        reference = self.store.add_reference(case_id, hashes.kind, hashes.sha256, hashes.md5, label, hashes.signals)
        if reference is not None:
            self._watch([reference])
        return reference

    def _watch(self, references: Sequence[Reference]) -> None:
        """Match media against newly stored references from now on (if the matcher is not built yet, it
        will find them in the store when it is)."""
        with self._lock:
            self._decisions.clear()
            for reference in references:
                self._case_of[reference.id] = reference.case_id
                if self._matcher is not None:
                    self._matcher.add_reference(reference.id, reference.signals)

    def withdraw(self, case_id: str, *, actor: str, reason: str) -> tuple[int, int]:
        """Delete the case's hashes and sightings at the victim's request (the case's name stays, withdrawn,
        and the audit log says who withdrew it, when and why); the references and sightings deleted."""
        at = utc_now()
        with self._lock:
            references, sightings = self.store.withdraw_case(case_id, at)
            self._matcher = None  # rebuilt without the case's references when next needed
            self._decisions.clear()
            self._case_of = {ref: case for ref, case in self._case_of.items() if case != case_id}
        detail = {"reason": reason, "references": references, "sightings": sightings}
        self.store.log_event(AuditEvent(at, actor, "withdraw", case_id, detail))
        return references, sightings

    def import_hashes(self, case_id: str, entries: Iterable[HashEntry], source: str) -> tuple[list[Reference], int]:
        """Register hash-only references (no file was ever seen); returns them and the count already held.

        ``entries`` is consumed inside one store transaction: if it raises (a bad line, an interrupted
        import), nothing is imported. Labels say where each came from (``FILE:LINE`` unless the list named
        it), so a match can be traced back to the partner's list.
        """
        references = (
            HashReference(ContentKind.VIDEO if entry.signal.kind == "vpdq" else ContentKind.IMAGE,
                          entry.label or f"{source}:{entry.line}", entry.signal)
            for entry in entries
        )  # fmt: skip
        added, duplicates = self.store.import_references(case_id, references)
        self._watch(added)
        return added, duplicates

    def export_hashes(
        self, case_id: str, *, actor: str, destination: str, fmt: str, labels: bool, kind: str = "pdq",
        write: Callable[[list[HashEntry]], None],
    ) -> list[HashEntry]:  # fmt: skip
        """Each reference's ``kind`` hash as found (PDQ of pictures, vPDQ of videos; not the orientation or
        region variants), handed to ``write`` and logged as an export once ``write`` returned: an export
        that failed is not one. ``HashEntry.line`` carries the reference id."""
        entries = [
            HashEntry(ref.id, signal, ref.label)
            for ref in self.store.references(case_id)
            for signal in ref.signals
            if signal.kind == kind and signal.variant == "original"
        ]
        write(entries)
        detail: dict[str, object] = {"hashes": len(entries), "format": fmt, "destination": destination, "labels": labels}
        self.store.log_event(AuditEvent(utc_now(), actor, "export-hashes", case_id, detail))
        return entries

    def match_history(self, references: Sequence[Reference], progress: Progress | None = None) -> list[Sighting]:
        """Sightings of ``references`` among all media observed so far (retroactive matching): a case
        opened today still finds the copy crawled last month, its first appearance, and whether it was
        taken down since (its status is replayed from every observation of it).

        The stored media are compared in batches, and only those the matcher would take up (a hash near a
        reference's; keypoints, when a reference has some) are matched one by one (`tracker.retroactive`);
        ``progress(done, total)`` hears of each batch compared and each candidate judged."""
        with self._lock:
            self._case_of.update((ref.id, ref.case_id) for ref in references)
        found: dict[int, Sighting] = {}
        for sha256, decisions in earlier_matches(self.store, self.policy, references, progress):
            with self._lock:
                if any(self.allowlist.covers(d.reference_id) for d in decisions):
                    signals = self.store.media_signals(sha256)
                    pdq = self._pdq_codes(signals) if isinstance(signals, tuple) else ()
                    decisions = [d for d in decisions if not self.allowlist.holds(d.reference_id, sha256, pdq, pdq_distance(d))]
                for observation in self.store.observations_of(sha256):
                    if observation.shows and observation.error is None:
                        for decision in decisions:
                            sighting = self._record(observation, decision)
                            found[sighting.id] = sighting
        with self._lock:
            replayed = [self._replay(sighting) for sighting in found.values() if not sighting.rejected]
        if replayed:
            logger.info("retroactive matching found %d sightings", len(replayed))
        return replayed

    def _replay(self, sighting: Sighting) -> Sighting:
        history = self.store.observations_at(sighting.page_url, sighting.media_url)
        if sighting.sha256 is not None:
            history += [o for o in self.store.observations_of(sighting.sha256) if o.page_url == sighting.page_url]
        unique = {o.id: o for o in history}.values()
        return self._book.replay(sighting, unique, lambda o: any(d.reference_id == sighting.reference_id for d in self._match(o)))
