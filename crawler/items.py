"""What the spider hands to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class PageContext:
    """A page that embeds a media URL, with the upload time the page claims for it."""

    page_url: str
    claimed_at: str | None = None
    claimed_source: str | None = None


@dataclass(slots=True)
class MediaItem:
    """A media URL's fetch outcome and every page seen embedding it.

    ``body`` holds the original response bytes (never a re-encoded copy) until the pipeline has hashed
    them; a video's bytes are on disk at ``spool_path`` instead (the pipeline deletes the file); ``error``
    says why there are none. ``sightings`` is filled in by the pipeline.
    """

    site: str
    media_url: str
    pages: list[PageContext]
    http_status: int | None = None
    content_type: str | None = None
    body: bytes | None = field(default=None, repr=False)
    sha256: str | None = None
    error: str | None = None
    sightings: int = 0
    spool_path: Path | None = None
