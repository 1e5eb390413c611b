"""What the spider reads off an HTML page, apart from what it then does with it.

A page read once is kept with its validators (`tracker.models.PageReading`); when the next visit's
conditional request is answered 304, the spider acts on that reading exactly as on a fresh one: the same
media are fetched (conditionally: unchanged files cost a 304 too), the same links followed and recorded.
An unchanged site then costs headers, not bodies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from crawler.discovery import MediaRef

# Bump when the content's shape changes: an older reading is then ignored and the page fetched in full.
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Reading:
    """Media the page shows (its own markup and the site's selectors), its links (fragments dropped, in
    page order, at most the page's link budget), and the metadata the site's selectors found."""

    media: tuple[MediaRef, ...]
    links: tuple[str, ...]
    metadata: dict[str, dict[str, str]]

    def to_content(self) -> dict[str, Any]:
        return {"format": FORMAT, "media": [asdict(ref) for ref in self.media], "links": list(self.links),
                "metadata": self.metadata}  # fmt: skip

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> Reading | None:
        """The reading kept in ``content``, or None when it is in another format (written by another
        version): the page is then fetched in full."""
        if content.get("format") != FORMAT:
            return None
        return cls(tuple(MediaRef(**ref) for ref in content["media"]), tuple(content["links"]), content["metadata"])
