"""The report's pictures as data: the timeline, the spread graph and the hosts to watch, built from a
`Report` so the pictures draw exactly what the JSON says (`Pictures.to_json` is both the JSON report's
``timeline``, ``graph`` and ``hosts_to_watch`` keys and what the HTML report's scripts draw).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from tracker.pictures.graph import SpreadGraph, spread_graph
from tracker.pictures.timeline import Timeline, timeline
from tracker.pictures.watch import WatchedHost, hosts_to_watch
from tracker.report import Report
from tracker.store import SightingStore, VisitStore


class PicturesStore(SightingStore, VisitStore, Protocol):
    """The parts of a Store the pictures read: status histories, links and page metadata."""


@dataclass(frozen=True, slots=True)
class Pictures:
    timeline: Timeline
    graph: SpreadGraph
    hosts_to_watch: tuple[WatchedHost, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_pictures(store: PicturesStore, report: Report, known_site: Callable[[str], str | None] | None = None) -> Pictures:
    """``known_site``: the site registry's `site_of`, so a host added since the crawl is no longer one to watch."""
    pages = list(dict.fromkeys(s.page_url for s in report.sightings))
    links = store.links_from(pages)
    metadata = store.page_metadata(pages)
    uploaders = {url: fields["uploader"].get("value", "") for url, fields in metadata.items() if "uploader" in fields}
    steps = timeline(report.sightings, store.status_history)
    graph = spread_graph(report.sightings, links, uploaders, steps)
    watched = hosts_to_watch(links, set(pages), {s.host for s in report.sightings}, known_site)
    return Pictures(steps, graph, watched)
