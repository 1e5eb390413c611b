"""What the spider hands to the pipeline: one item per (page, media) outcome, then one per finished page."""

from __future__ import annotations

from dataclasses import dataclass, field
from crawler.spool import Spooled
from tracker import PageOutcome, PageRole, PageState
from tracker.models import HttpExchange, PageReading


@dataclass(frozen=True, slots=True)
class PageContext:
    """A page that embeds a media URL, with the upload time the page claims for it.

    ``state`` is what the page said of the media this visit; ``note`` says how that was decided.
    """

    page_url: str
    claimed_at: str | None = None
    claimed_source: str | None = None
    state: PageState = PageState.SHOWN
    note: str | None = None
    exchange: HttpExchange | None = field(default=None, repr=False, compare=False)  # the page as fetched: evidence


@dataclass(slots=True)
class MediaItem:
    """A media URL's fetch outcome and the pages seen embedding it.

    ``payload`` holds the original response bytes (never a re-encoded copy), spooled to a nameless file,
    until the pipeline has hashed them and closed it; ``error`` says why there are none. ``etag``/``last_modified`` are kept for the next visit's conditional request.
    ``sightings`` is filled in by the pipeline.
    """

    site: str
    media_url: str
    pages: list[PageContext]
    http_status: int | None = None
    content_type: str | None = None
    sha256: str | None = None
    error: str | None = None
    sightings: int = 0
    payload: Spooled | None = field(default=None, repr=False)
    visit_id: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    size: int | None = None
    exchange: HttpExchange | None = field(default=None, repr=False)  # this fetch of the media, for a capture


@dataclass(slots=True)
class PageItem:
    """A page finished: how it answered, what it claims about itself, and where it links to.

    Yielded after the page's media items, so the journal marks the page done only once they are recorded
    (and keeps its reading only then: a page cut short is read again in full).
    """

    site: str
    visit_id: str
    url: str
    role: PageRole
    outcome: PageOutcome
    http_status: int | None = None
    final_url: str | None = None
    reason: str | None = None
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    links: list[tuple[str, str | None]] = field(default_factory=list)
    reading: PageReading | None = None  # what it showed, kept for the next visit's conditional request
