"""The registry of known hosting sites: a TOML file that `spreadtrace site add` edits and people can too.

    [sites.board]
    start_urls = ["https://board.example/b/"]
    allowed_domains = ["board.example", "i.board-cdn.example"]
    every = "6h"
    delay = 1.0
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from crawler.errors import SiteConfigError, UnknownSite

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_INTERVAL = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def validate_url(url: str, where: str = "URL") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SiteConfigError(f"{where}: {url!r} is not an http(s) URL with a host")
    return url


def interval_seconds(every: str, where: str = "every") -> int:
    match = _INTERVAL.match(every.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise SiteConfigError(f"{where}: {every!r} is not an interval such as 30m, 6h, 1d or 2w")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True, slots=True)
class Site:
    """A hosting site to visit. ``allowed_domains`` bounds which pages are followed (media may be
    fetched from any host a page embeds: that is where the copy is)."""

    name: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...] = ()
    every: str = "1d"
    delay: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        where = f"site {self.name!r}"
        if not _NAME.match(self.name):
            raise SiteConfigError(f"{where}: name must be lowercase letters, digits, '-' or '_'")
        if not self.start_urls:
            raise SiteConfigError(f"{where}: start_urls is empty")
        for url in self.start_urls:
            validate_url(url, f"{where}: start_urls")
        interval_seconds(self.every, f"{where}: every")
        if self.delay is not None and self.delay < 0:
            raise SiteConfigError(f"{where}: delay must be >= 0 seconds")
        if not self.allowed_domains:
            hosts = tuple(dict.fromkeys(urlsplit(url).hostname or "" for url in self.start_urls))
            object.__setattr__(self, "allowed_domains", hosts)

    def as_toml(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "start_urls": list(self.start_urls),
            "allowed_domains": list(self.allowed_domains),
            "every": self.every,
        }
        if self.delay is not None:
            entry["delay"] = self.delay
        return {**entry, **self.extra}

    @classmethod
    def from_toml(cls, name: str, entry: dict[str, Any], where: str) -> Site:
        known = {"start_urls", "allowed_domains", "every", "delay"}
        try:
            urls = entry["start_urls"]
        except KeyError:
            raise SiteConfigError(f"{where}: [sites.{name}] has no start_urls") from None
        if isinstance(urls, str):
            urls = [urls]
        delay = entry.get("delay")
        return cls(
            name=name,
            start_urls=tuple(urls),
            allowed_domains=tuple(entry.get("allowed_domains", ())),
            every=str(entry.get("every", "1d")),
            delay=None if delay is None else float(delay),
            extra={k: v for k, v in entry.items() if k not in known},
        )


class SiteRegistry:
    """Sites by name, backed by one TOML file. A missing file is an empty registry."""

    def __init__(self, path: Path, sites: Iterable[Site] = ()) -> None:
        self.path = path
        self._sites = {site.name: site for site in sites}

    @classmethod
    def load(cls, path: Path) -> SiteRegistry:
        if not path.exists():
            return cls(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SiteConfigError(f"{path}: cannot read site registry: {exc}") from None
        entries = document.get("sites", {})
        if not isinstance(entries, dict):
            raise SiteConfigError(f"{path}: 'sites' must be a table of [sites.NAME] entries")
        sites = []
        for name, entry in entries.items():
            try:
                sites.append(Site.from_toml(name, entry, str(path)))
            except SiteConfigError as exc:
                raise SiteConfigError(f"{path}: {exc}") from None
        return cls(path, sites)

    def save(self) -> None:
        document = {"sites": {name: site.as_toml() for name, site in sorted(self._sites.items())}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".toml.tmp")
        temporary.write_text(tomli_w.dumps(document), encoding="utf-8")
        temporary.replace(self.path)  # atomic: a crash never leaves half a registry

    def __iter__(self) -> Iterator[Site]:
        return iter(sorted(self._sites.values(), key=lambda site: site.name))

    def __len__(self) -> int:
        return len(self._sites)

    def get(self, name: str) -> Site:
        try:
            return self._sites[name]
        except KeyError:
            raise UnknownSite(name, self.path) from None

    def add(self, site: Site, *, replace: bool = False) -> None:
        if site.name in self._sites and not replace:
            raise SiteConfigError(f"site {site.name!r} already exists in {self.path} (use --replace to change it)")
        self._sites[site.name] = site
