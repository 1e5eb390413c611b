"""Hosts to watch: where pages carrying a copy link to, on hosts the site registry does not know yet
(docs/architecture.md, "Report"). The spread reaches places nobody crawls; a team adds the ones that
matter with `spreadtrace site add`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from tracker.models import Link


@dataclass(frozen=True, slots=True)
class WatchedHost:
    host: str
    links: int  # links to it from pages carrying a copy
    pages: int  # those pages
    example_url: str  # the first link to it that was seen
    first_seen: str
    last_seen: str


def hosts_to_watch(links: Iterable[Link], carriers: Collection[str], carried_hosts: Collection[str],
                   known_site: Callable[[str], str | None] | None = None) -> tuple[WatchedHost, ...]:  # fmt: skip
    """Hosts that ``links`` from the pages ``carriers`` (pages with a sighting) point to, that no site of
    the registry covers: not when the link was recorded (`Link.to_site`), nor now (``known_site``, the
    registry's `site_of`, as sites are added after a crawl), and that carry no sighting themselves. The
    most linked first."""
    found: dict[str, list[Link]] = {}
    for link in links:
        if link.from_url not in carriers or link.to_site is not None or link.to_host == link.from_host:
            continue
        if link.to_host in carried_hosts or not link.to_host or (known_site is not None and known_site(link.to_url)):
            continue
        found.setdefault(link.to_host, []).append(link)
    watched = []
    for host, pointing in found.items():
        example = min(pointing, key=lambda link: (link.first_seen, link.to_url))
        watched.append(WatchedHost(host, len(pointing), len({link.from_url for link in pointing}), example.to_url,
                                   example.first_seen, max(link.last_seen for link in pointing)))  # fmt: skip
    return tuple(sorted(watched, key=lambda w: (-w.links, -w.pages, w.host)))
