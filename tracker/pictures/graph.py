"""The spread graph: hosts as nodes, edges from the host of an earlier copy to the host of a later one
(docs/architecture.md, "Report").

An edge says why the later copy is thought to come from the earlier one, and each kind is drawn apart:

- ``linked``: a page carrying one copy links to the page (or the file) of the other: the forum post that
  points to the tube upload. The record holds the link, so this is the strongest word.
- ``same uploader``: the two pages name the same uploader (the pages' own metadata, compared without
  case): one person posting on two sites.
- ``later``: time alone. A host nothing else explains gets one such edge, from the host that carried the
  material most recently before it appeared there, so every host is reached from the first one.

Only confirmed matches are drawn, as in the spread.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tracker.models import Link
from tracker.pictures.timeline import Timeline
from tracker.report import SightingEntry
from tracker.states import Basis, Verdict

_EXAMPLES = 3  # evidence lines kept per edge: the table under the graph lists them, the count says the rest


class EdgeKind(enum.StrEnum):
    LINKED = "linked"
    UPLOADER = "same uploader"
    LATER = "later"


@dataclass(frozen=True, slots=True)
class HostNode:
    host: str
    site: str | None
    copies: int
    online: int
    first_appeared: str
    basis: Basis
    first: bool  # where the material appeared first
    removed_everywhere: bool  # no copy of it still up


@dataclass(frozen=True, slots=True)
class SpreadEdge:
    source: str  # the earlier copy's host
    target: str  # the later copy's host
    kind: EdgeKind
    at: str  # when the (first) later copy it joins appeared
    count: int  # page pairs behind it
    examples: tuple[str, ...] = field(default=())  # "PAGE links to URL", "uploader NAME: PAGE, PAGE"


@dataclass(frozen=True, slots=True)
class SpreadGraph:
    nodes: tuple[HostNode, ...]  # in order of first appearance
    edges: tuple[SpreadEdge, ...]


@dataclass(frozen=True, slots=True)
class _Page:
    url: str
    host: str
    appeared: str


def spread_graph(sightings: Iterable[SightingEntry], links: Sequence[Link], uploaders: Mapping[str, str],
                 timeline: Timeline) -> SpreadGraph:  # fmt: skip
    """The graph of ``sightings``' confirmed copies. ``links``: those recorded from their pages;
    ``uploaders``: page URL -> the uploader name the page states; ``timeline``: `tracker.pictures.timeline`'s,
    for which hosts still carried the material at a time."""
    confirmed = sorted((s for s in sightings if s.verdict is Verdict.MATCH), key=lambda s: (s.appeared_at, s.id))
    if not confirmed:
        return SpreadGraph((), ())
    pages: dict[str, _Page] = {}
    for s in confirmed:
        pages.setdefault(s.page_url, _Page(s.page_url, s.host, s.appeared_at))
    found: dict[tuple[str, str, EdgeKind], SpreadEdge] = {}
    for earlier, later, (kind, example) in [*_linked(pages, confirmed, links), *_same_uploader(pages, uploaders)]:
        _add(found, earlier, later, kind, example)
    explained = {target for (_, target, _) in found}
    nodes = _nodes(confirmed)
    for node in nodes[1:]:
        if node.host not in explained and (carrier := _carrier(node, confirmed, timeline)) is not None:
            _add(found, carrier, _Page("", node.host, node.first_appeared), EdgeKind.LATER, "")
    return SpreadGraph(tuple(nodes), tuple(sorted(found.values(), key=lambda e: (e.at, e.source, e.target, e.kind))))


def _linked(pages: Mapping[str, _Page], confirmed: Sequence[SightingEntry],
            links: Sequence[Link]) -> Iterable[tuple[_Page, _Page, tuple[EdgeKind, str]]]:  # fmt: skip
    """Page pairs on two hosts where one links to the other's page or file, earlier copy first."""
    held = {**{s.media_url: pages[s.page_url] for s in confirmed}, **pages}
    for link in links:
        start, end = pages.get(link.from_url), held.get(link.to_url)
        if start is None or end is None or start.host == end.host:
            continue
        earlier, later = sorted((start, end), key=lambda p: (p.appeared, p.url))
        yield earlier, later, (EdgeKind.LINKED, f"{link.from_url} links to {link.to_url}")


def _same_uploader(pages: Mapping[str, _Page], uploaders: Mapping[str, str]) -> Iterable[tuple[_Page, _Page, tuple[EdgeKind, str]]]:
    """Each page joined to the latest earlier page on another host that names the same uploader."""
    by_name: dict[str, list[_Page]] = {}
    for page in sorted(pages.values(), key=lambda p: (p.appeared, p.url)):
        name = uploaders.get(page.url, "").strip()
        if name:
            by_name.setdefault(name.casefold(), []).append(page)
    for group in by_name.values():
        for n, later in enumerate(group):
            earlier = next((p for p in reversed(group[:n]) if p.host != later.host), None)
            if earlier is not None:
                name = uploaders[later.url].strip()
                yield earlier, later, (EdgeKind.UPLOADER, f"uploader {name!r}: {earlier.url} then {later.url}")


def _add(found: dict[tuple[str, str, EdgeKind], SpreadEdge], earlier: _Page, later: _Page, kind: EdgeKind,
         example: str) -> None:  # fmt: skip
    key = (earlier.host, later.host, kind)
    seen = found.get(key)
    if seen is None:
        found[key] = SpreadEdge(earlier.host, later.host, kind, later.appeared, 1, (example,) if example else ())
    else:
        examples = seen.examples + (example,) if example and len(seen.examples) < _EXAMPLES else seen.examples
        found[key] = SpreadEdge(seen.source, seen.target, kind, min(seen.at, later.appeared), seen.count + 1, examples)


def _nodes(confirmed: Sequence[SightingEntry]) -> list[HostNode]:
    nodes: dict[str, HostNode] = {}
    for s in confirmed:  # in order of appearance: the first copy of a host sets its time
        up = int(s.status.still_online)
        seen = nodes.get(s.host)
        if seen is None:
            nodes[s.host] = HostNode(s.host, s.site, 1, up, s.appeared_at, s.appeared_basis, not nodes, not up)
        else:
            nodes[s.host] = HostNode(seen.host, seen.site, seen.copies + 1, seen.online + up, seen.first_appeared,
                                     seen.basis, seen.first, seen.removed_everywhere and not up)  # fmt: skip
    return list(nodes.values())


def _carrier(node: HostNode, confirmed: Sequence[SightingEntry], timeline: Timeline) -> _Page | None:
    """The copy on another host that appeared most recently before ``node``'s first one: among hosts still
    carrying the material then, if any is."""
    before = [s for s in confirmed if s.host != node.host and s.appeared_at < node.first_appeared]
    carrying = [s for s in before if timeline.online_on(s.host, node.first_appeared) > 0]
    chosen = max(carrying or before, key=lambda s: (s.appeared_at, s.id), default=None)
    return None if chosen is None else _Page(chosen.page_url, chosen.host, chosen.appeared_at)
