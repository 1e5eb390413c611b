"""The registry of known hosting sites: a TOML file that `spreadtrace site add` edits and people can too.

    [sites.board]
    start_urls = ["https://board.example/b/"]
    allowed_domains = ["board.example", "i.board-cdn.example"]
    every = "6h"                      # or: cron = "0 */6 * * *"
    delay = 1.0                       # seconds between requests
    concurrency = 2                   # requests at once to each of its hosts
    follow = ['/b/page/\\d+', '/b/thread/']   # listing, pagination and post pages to follow (regex)
    deny = ['/b/catalog']
    media = ["div.post img.full"]     # extra CSS selectors for media, beside the usual places
    removed_text = ["This thread was pruned"]
    max_pages = 2000
    abuse_contact = "abuse@board.example"
    [sites.board.metadata]            # page fields: CSS or XPath selectors
    title = "h1.subject::text"
    uploader = "span.name::text"
    uploaded = "time::attr(datetime)"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from crawler.errors import SiteConfigError, UnknownSite

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_INTERVAL = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = MappingProxyType({"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800})
METADATA_FIELDS = ("title", "uploader", "uploaded")


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


def validate_cron(expression: str, where: str = "cron") -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise SiteConfigError(f"{where}: {expression!r} is not a crontab expression (minute hour day month weekday): {exc}") from None
    return expression


def _patterns(values: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value, re.IGNORECASE))
        except re.error as exc:
            raise SiteConfigError(f"{where}: {value!r} is not a regular expression: {exc}") from None
    return tuple(compiled)


@dataclass(frozen=True, slots=True)
class Site:
    """A hosting site to visit. ``allowed_domains`` bounds which pages are followed (media may be
    fetched from any host a page embeds: that is where the copy is).

    ``every`` or ``cron`` is the revisit schedule (``cron`` wins). ``follow``/``deny`` are regular
    expressions over page URLs (none: follow every page in the allowed domains). ``removed_text`` are
    regular expressions that mean "removed" on a page that still answers 200. ``allow_private`` lets the
    crawler reach loopback and private addresses: only for sites on a private network (or tests).
    """

    name: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...] = ()
    every: str = "1d"
    delay: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    cron: str | None = None
    concurrency: int | None = None
    robots: bool = True
    follow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    removed_text: tuple[str, ...] = ()
    max_pages: int | None = None
    abuse_contact: str | None = None
    allow_private: bool = False

    def __post_init__(self) -> None:
        where = f"site {self.name!r}"
        if not _NAME.match(self.name):
            raise SiteConfigError(f"{where}: name must be lowercase letters, digits, '-' or '_'")
        if not self.start_urls:
            raise SiteConfigError(f"{where}: start_urls is empty")
        for url in self.start_urls:
            validate_url(url, f"{where}: start_urls")
        interval_seconds(self.every, f"{where}: every")
        if self.cron is not None:
            validate_cron(self.cron, f"{where}: cron")
        if self.delay is not None and self.delay < 0:
            raise SiteConfigError(f"{where}: delay must be >= 0 seconds")
        if self.concurrency is not None and self.concurrency < 1:
            raise SiteConfigError(f"{where}: concurrency must be >= 1")
        if self.max_pages is not None and self.max_pages < 1:
            raise SiteConfigError(f"{where}: max_pages must be >= 1")
        for name, patterns in (("follow", self.follow), ("deny", self.deny), ("removed_text", self.removed_text)):
            _patterns(patterns, f"{where}: {name}")
        unknown = set(self.metadata) - set(METADATA_FIELDS)
        if unknown:
            raise SiteConfigError(f"{where}: metadata: unknown field {sorted(unknown)[0]!r} (known: {', '.join(METADATA_FIELDS)})")
        if not self.allowed_domains:
            hosts = tuple(dict.fromkeys(urlsplit(url).hostname or "" for url in self.start_urls))
            object.__setattr__(self, "allowed_domains", hosts)

    @property
    def schedule(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.every}"

    def follow_patterns(self) -> tuple[re.Pattern[str], ...]:
        return _patterns(self.follow, "follow")

    def deny_patterns(self) -> tuple[re.Pattern[str], ...]:
        return _patterns(self.deny, "deny")

    def removed_patterns(self) -> tuple[re.Pattern[str], ...]:
        return _patterns(self.removed_text, "removed_text")

    def as_toml(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "start_urls": list(self.start_urls),
            "allowed_domains": list(self.allowed_domains),
            "every": self.every,
        }
        optional: dict[str, Any] = {
            "cron": self.cron, "delay": self.delay, "concurrency": self.concurrency, "max_pages": self.max_pages,
            "abuse_contact": self.abuse_contact, "follow": list(self.follow), "deny": list(self.deny),
            "media": list(self.media), "removed_text": list(self.removed_text), "metadata": dict(self.metadata),
        }  # fmt: skip
        entry.update({key: value for key, value in optional.items() if value not in (None, [], {})})
        if not self.robots:
            entry["robots"] = False
        if self.allow_private:
            entry["allow_private"] = True
        return {**entry, **self.extra}

    @classmethod
    def from_toml(cls, name: str, entry: Mapping[str, Any], where: str) -> Site:
        known = {
            "start_urls", "allowed_domains", "every", "delay", "cron", "concurrency", "robots", "follow", "deny",
            "media", "metadata", "removed_text", "max_pages", "abuse_contact", "allow_private",
        }  # fmt: skip
        try:
            urls = entry["start_urls"]
        except KeyError:
            raise SiteConfigError(f"{where}: [sites.{name}] has no start_urls") from None
        here = f"{where}: [sites.{name}]"

        def strings(key: str) -> tuple[str, ...]:
            value = entry.get(key, ())
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise SiteConfigError(f"{here} {key}: expected a string or a list of strings")
            return tuple(value)

        def number(key: str, kind: type[int] | type[float]) -> Any:
            value = entry.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SiteConfigError(f"{here} {key}: expected a number, not {value!r}")
            return kind(value)

        def flag(key: str, default: bool) -> bool:
            value = entry.get(key, default)
            if not isinstance(value, bool):
                raise SiteConfigError(f"{here} {key}: expected true or false, not {value!r}")
            return value

        metadata = entry.get("metadata", {})
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise SiteConfigError(f"{here} metadata: expected a table of field = \"selector\"")
        contact = entry.get("abuse_contact")
        cron = entry.get("cron")
        return cls(
            name=name,
            start_urls=strings("start_urls") if urls else (),
            allowed_domains=strings("allowed_domains"),
            every=str(entry.get("every", "1d")),
            delay=number("delay", float),
            extra={k: v for k, v in entry.items() if k not in known},
            cron=None if cron is None else str(cron),
            concurrency=number("concurrency", int),
            robots=flag("robots", True),
            follow=strings("follow"),
            deny=strings("deny"),
            media=strings("media"),
            metadata=dict(metadata),
            removed_text=strings("removed_text"),
            max_pages=number("max_pages", int),
            abuse_contact=None if contact is None else str(contact),
            allow_private=flag("allow_private", False),
        )

    def covers(self, url: str) -> bool:
        """Whether ``url``'s host is one of the allowed domains or below one."""
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


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

    def site_of(self, url: str) -> str | None:
        """The registered site whose domains hold ``url``: a link to it is a link to a known host."""
        for site in self:
            if site.covers(url):
                return site.name
        return None
