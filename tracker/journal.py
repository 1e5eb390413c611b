"""The visit journal, as a crawl asks for it: which visit, which pages, what to re-check, and what each
media URL answered last time.

The journal, not Scrapy's dupefilter or JOBDIR, decides what a visit fetches: a page is claimed once per
visit (the page budget counts claims, re-checks aside) and done once its observations are recorded, so a
killed run leaves exactly its gap claimed-but-not-done, and distributed workers share one journal.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from tracker.clock import utc_now
from tracker.models import PageReading, PageVisit, PendingPage, Validators, Visit
from tracker.states import PageOutcome, PageRole, VisitOutcome
from tracker.store import SightingStore, VisitStore

# page URL -> {media URL: the SHA-256 last recorded there}: the copies a visit re-checks
Rechecks = dict[str, dict[str, str | None]]


class JournalStore(VisitStore, SightingStore, Protocol):
    """The parts of a Store the journal reads and writes."""


class VisitJournal:
    def __init__(self, store: JournalStore) -> None:
        self.store = store

    def begin(self, site: str, *, visit_id: str | None = None, resume: bool = True) -> Visit:
        """The visit to work on: ``visit_id`` (joined, as distributed workers do), else `propose`'s."""
        return self.store.open_visit(visit_id or self.propose(site, resume=resume), site)

    def propose(self, site: str, *, resume: bool) -> str:
        """With ``resume`` the site's unfinished visit (a killed or timed-out run), else a new visit's id."""
        return (self.unfinished(site) if resume else None) or f"{site}-{uuid.uuid4().hex[:12]}"

    def unfinished(self, site: str) -> str | None:
        """The site's newest visit that never ended, if any."""
        return next((v.id for v in self.store.visits(site, 50) if v.finished_at is None), None)

    def claim(self, visit_id: str, url: str, role: PageRole, *, budget: int | None) -> int | None:
        """Once per visit and URL, within ``budget`` pages (None: outside the budget), the page's position
        among the visit's claims: fetch it. None: not this time."""
        return self.store.claim_page(visit_id, url, role, budget)

    def claimed(self, visit: Visit) -> int:
        """Pages the visit has counted against its budget, all workers together."""
        return self.store.open_visit(visit.id, visit.site).pages

    def pending(self, visit_id: str, after: int = 0, limit: int = 1000) -> list[PendingPage]:
        """Pages claimed and not done, in claim order from position ``after``, at most ``limit``: what a
        killed run of this visit left, or what a crawl keeps claimed out of its memory."""
        return self.store.pending_pages(visit_id, after, limit)

    def rechecks(self, site: str) -> Rechecks:
        """Every page of the site that carries a sighting, with the media URLs and bytes recorded there; a
        rejected sighting is not a copy, and its page is not re-checked for it."""
        known: Rechecks = {}
        for sighting in self.store.sightings_of_site(site):
            if not sighting.rejected:
                known.setdefault(sighting.page_url, {})[sighting.media_url] = sighting.sha256
        return known

    def finish_page(self, page: PageVisit, links: Sequence[tuple[str, str | None]] = (), reading: PageReading | None = None) -> None:
        """A page is done: its outcome and metadata, the pages on other hosts it links to (spread), and what
        it showed (``reading``), for the next visit's conditional request.

        A page skipped on purpose (robots.txt) was never fetched, so it gives its place in the page budget
        back: a wiki links a dozen disallowed special pages from every page, and they must not use it up.
        """
        self.store.record_links(page.url, links, utc_now())
        if reading is not None:  # before the page is done: a killed run re-reads the page rather than lose it
            self.store.put_page_reading(reading)
        self.store.finish_page(page)
        if page.outcome is PageOutcome.SKIPPED and page.role is not PageRole.RECHECK:
            self.store.release_page(page.visit_id)

    def finish(self, visit_id: str, detail: dict[str, object]) -> None:
        self.store.finish_visit(visit_id, VisitOutcome.FINISHED, detail)

    def validators(self, url: str) -> Validators | None:
        """What ``url`` answered last (ETag, Last-Modified, SHA-256), for a conditional request."""
        return self.store.validators(url)

    def remember(self, validators: Validators) -> None:
        self.store.put_validators(validators)

    def reading(self, url: str) -> PageReading | None:
        """What the page showed when last read, if it came with validators (a 304 next time replays it)."""
        return self.store.page_reading(url)
