"""The pages a crawl has claimed and not fetched yet, kept in the journal rather than in Scrapy's memory.

Scrapy's scheduler holds every request it is given in memory, a few KB each with its headers and meta. A
site found faster than it is fetched (every page links a few pages not seen yet) has most of its pages
claimed long before they are fetched: at 100,000 pages the queue alone was ~170 MB, twice the crawl's
memory at 1,000 pages. Yet the journal already holds each claimed page until it is done (a killed run
resumes from it), so the queue need not hold them too.

A `Frontier` hands Scrapy at most ``high`` pages at a time. Past that, pages are claimed in the journal
and no more: the frontier *spills*, remembering the position of the last page it handed out. When fewer
than ``low`` handed-out pages remain unfetched, it reads the next pages after that position, in claim
order, and hands them out; once it has caught up, claims go straight to Scrapy again. Every page of the
journal after the position is thus one nobody was handed, so none is fetched twice, and none is left.

A resumed visit starts spilled from position 0: what the killed run left is fed the same way. Distributed
workers have no frontier of their own: their queue is on Redis, not in memory.
"""

from __future__ import annotations

from tracker import Tracker
from tracker.models import PendingPage

# Pages handed to Scrapy and not yet fetched, at most: enough to keep every download slot busy.
DEFAULT_IN_MEMORY = 1000


class Frontier:
    def __init__(self, tracker: Tracker, visit_id: str, high: int = DEFAULT_IN_MEMORY) -> None:
        self.tracker = tracker
        self.visit_id = visit_id
        self.high = max(1, high)
        self.low = max(1, high // 2)
        self.outstanding = 0  # handed out, their responses not in yet
        self.peak = 0
        self._last = 0  # the position of the last page handed out
        self._spilled = False  # pages claimed after _last wait in the journal

    def admit(self, position: int) -> bool:
        """A page was just claimed at ``position``: whether to hand it to Scrapy now (else it waits in the
        journal, and `refill` hands it out later)."""
        if self._spilled or self.outstanding >= self.high:
            self._spilled = True
            return False
        self._hand_out(position)
        return True

    def resume(self) -> None:
        """Start spilled from the first position: the pages a killed run left are read from the journal."""
        self._spilled, self._last = True, 0

    def fetched(self) -> None:
        """A handed-out page's response (or failure) is in."""
        self.outstanding = max(0, self.outstanding - 1)

    def refill(self, *, idle: bool = False) -> list[PendingPage]:
        """Pages to hand to Scrapy now: the next ones in the journal, when few are left in memory. ``idle``:
        Scrapy holds nothing (a request dropped without a callback would otherwise be counted forever)."""
        if idle:
            self.outstanding = 0
        if not self._spilled or self.outstanding >= self.low:
            return []
        wanted = self.high - self.outstanding
        pages = self.tracker.visits.pending(self.visit_id, after=self._last, limit=wanted)
        for page in pages:
            self._hand_out(page.position)
        if len(pages) < wanted:  # caught up: nothing waits in the journal
            self._spilled = False
        return pages

    def _hand_out(self, position: int) -> None:
        self.outstanding += 1
        self.peak = max(self.peak, self.outstanding)
        self._last = max(self._last, position)
