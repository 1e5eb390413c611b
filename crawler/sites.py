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
    max_links = 5000                  # links recorded per page, at most
    abuse_contact = "abuse@board.example"
    [sites.board.metadata]            # page fields: CSS or XPath selectors
    title = "h1.subject::text"
    uploader = "span.name::text"
    uploaded = "time::attr(datetime)"
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from crawler.errors import SiteConfigError, UnknownSite
from crawler.site_checks import (
    CONCURRENCY_RANGE, DELAY_RANGE, MAX_LINKS_RANGE, MAX_PAGES_RANGE, check_integer, check_seconds, check_strings,
    check_type, compile_patterns, interval_seconds, shown, type_name, unknown_key, validate_cron, validate_selector,
    validate_url,
)  # fmt: skip

__all__ = ["METADATA_FIELDS", "Site", "SiteRegistry", "add_site", "interval_seconds", "validate_cron", "validate_url"]

# Always used with fullmatch: `$` would let a trailing newline through.
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
METADATA_FIELDS = ("title", "uploader", "uploaded")
# Keys holding a list of strings; in the file a single string stands for a list of one.
_LIST_KEYS = ("start_urls", "allowed_domains", "follow", "deny", "media", "removed_text")


@dataclass(frozen=True, slots=True)
class Site:
    """A hosting site to visit. ``allowed_domains`` bounds which pages are followed (media may be
    fetched from any host a page embeds: that is where the copy is).

    ``every`` or ``cron`` is the revisit schedule (``cron`` wins). ``follow``/``deny`` are regular
    expressions over page URLs (none: follow every page in the allowed domains). ``removed_text`` are
    regular expressions that mean "removed" on a page that still answers 200. ``allow_private`` lets the
    crawler reach loopback and private addresses: only for sites on a private network (or tests).
    ``max_links`` bounds the links read from one page, followed or recorded (None: SPREADTRACE_MAX_LINKS_PER_PAGE).

    Every field is checked here, types, ranges, patterns and selectors, so a Site that exists can be
    crawled: whether it came from the file, from `spreadtrace site add` or from code.
    """

    name: str
    start_urls: tuple[str, ...]
    allowed_domains: tuple[str, ...] = ()
    every: str = "1d"
    delay: float | None = None
    cron: str | None = None
    concurrency: int | None = None
    robots: bool = True
    follow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    removed_text: tuple[str, ...] = ()
    max_pages: int | None = None
    max_links: int | None = None
    abuse_contact: str | None = None
    allow_private: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise SiteConfigError(
                f"site name {shown(self.name)}: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
            )
        where = f"[sites.{self.name}]"
        for key in _LIST_KEYS:
            value = getattr(self, key)
            check_strings(value, key, where)
            object.__setattr__(self, key, tuple(value))  # a list from the file or a caller: kept as the type says
        if not self.start_urls:
            raise SiteConfigError(f"{where} start_urls is empty")
        for url in self.start_urls:
            validate_url(url, f"{where} start_urls")
        check_type(self.every, str, "every", where)
        interval_seconds(self.every, f"{where} every")
        check_type(self.cron, str, "cron", where, optional=True)
        if self.cron is not None:
            validate_cron(self.cron, f"{where} cron")
        check_seconds(self.delay, "delay", DELAY_RANGE, where)
        check_integer(self.concurrency, "concurrency", CONCURRENCY_RANGE, where)
        check_integer(self.max_pages, "max_pages", MAX_PAGES_RANGE, where)
        check_integer(self.max_links, "max_links", MAX_LINKS_RANGE, where)
        check_type(self.robots, bool, "robots", where)
        check_type(self.allow_private, bool, "allow_private", where)
        check_type(self.abuse_contact, str, "abuse_contact", where, optional=True)
        for key, patterns in (("follow", self.follow), ("deny", self.deny), ("removed_text", self.removed_text)):
            compile_patterns(patterns, f"{where} {key}")
        for query in self.media:
            validate_selector(query, f"{where} media")
        if not isinstance(self.metadata, dict):
            raise SiteConfigError(f"{where} metadata: expected a table of field = \"selector\", not {shown(self.metadata)}")
        for name, query in self.metadata.items():
            if name not in METADATA_FIELDS:
                raise unknown_key(name, METADATA_FIELDS, "metadata field", where)
            check_type(query, str, f"metadata.{name}", where)
            validate_selector(query, f"{where} metadata.{name}")
        if not self.allowed_domains:
            hosts = tuple(dict.fromkeys(urlsplit(url).hostname or "" for url in self.start_urls))
            object.__setattr__(self, "allowed_domains", hosts)

    @property
    def schedule(self) -> str:
        return f"cron {self.cron}" if self.cron else f"every {self.every}"

    def follow_patterns(self) -> tuple[re.Pattern[str], ...]:
        return compile_patterns(self.follow, "follow")

    def deny_patterns(self) -> tuple[re.Pattern[str], ...]:
        return compile_patterns(self.deny, "deny")

    def removed_patterns(self) -> tuple[re.Pattern[str], ...]:
        return compile_patterns(self.removed_text, "removed_text")

    def as_toml(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "start_urls": list(self.start_urls),
            "allowed_domains": list(self.allowed_domains),
            "every": self.every,
        }
        optional: dict[str, Any] = {
            "cron": self.cron, "delay": self.delay, "concurrency": self.concurrency, "max_pages": self.max_pages,
            "max_links": self.max_links, "abuse_contact": self.abuse_contact, "follow": list(self.follow),
            "deny": list(self.deny), "media": list(self.media), "removed_text": list(self.removed_text),
            "metadata": dict(self.metadata),
        }  # fmt: skip
        entry.update({key: value for key, value in optional.items() if value not in (None, [], {})})
        if not self.robots:
            entry["robots"] = False
        if self.allow_private:
            entry["allow_private"] = True
        return entry

    @classmethod
    def from_toml(cls, name: str, entry: object) -> Site:
        """The site ``[sites.NAME]`` describes; unknown keys are refused (a misspelt key would otherwise be
        a setting silently not applied), with the nearest known key suggested."""
        here = f"[sites.{name}]"
        if not isinstance(entry, dict):
            raise SiteConfigError(f"{here} must be a table of settings (start_urls = [...], every = ...), not {type_name(entry)}")
        known = tuple(f.name for f in fields(cls) if f.name != "name")
        for key in entry:
            if key not in known:
                raise unknown_key(key, known, "key", here)
        if "start_urls" not in entry:
            raise SiteConfigError(f"{here} has no start_urls")

        values: dict[str, Any] = {
            key: (value,) if key in _LIST_KEYS and isinstance(value, str) else value for key, value in entry.items()
        }  # types are __post_init__'s to check
        return cls(name=name, **values)

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
        """The registry in ``path``; every entry is checked whole, and the first problem is raised as one
        SiteConfigError naming the file, the site and the key."""
        if not path.exists():
            return cls(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SiteConfigError(f"{path}: cannot read site registry: {exc}") from None
        try:
            for key in document:
                if key != "sites":
                    raise unknown_key(key, ("sites",), "table", "")
            entries = document.get("sites", {})
            if not isinstance(entries, dict):
                raise SiteConfigError("'sites' must be a table of [sites.NAME] entries")
            sites = [Site.from_toml(name, entry) for name, entry in entries.items()]
        except SiteConfigError as exc:
            raise SiteConfigError(f"{path}: {exc}") from None
        return cls(path, sites)

    def save(self) -> None:
        """Replace the file atomically: a crash, a full disk or a read-only folder never leaves half a
        registry (nor a stray temporary file). An OSError names the registry, not the temporary file."""
        document = {"sites": {name: site.as_toml() for name, site in sorted(self._sites.items())}}
        text = tomli_w.dumps(document)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary: str | None = None
        try:
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.path)
        except OSError as exc:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

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


def add_site(path: Path, name: str, start_urls: Sequence[str], *, replace: bool = False, **options: Any) -> Site:
    """Save a new entry in the registry at ``path``: what `spreadtrace site add` and the dashboard's Watch
    button both do. ``options`` are `Site`'s other fields. The entry is checked as the registry checks it on
    load (ranges, patterns, selectors), so a site that is saved can be crawled; a problem, or a name taken
    (unless ``replace``), is one SiteConfigError naming the file.

    The registry is read afresh and written back under a lock on its folder: the dashboard is a second
    writer, and two editors reading the same file and saving in turn would lose one's entry. (Not a lock on
    the file, which `save` replaces, nor a lock file, which would be one more file in the home.)"""
    with _locked(path):
        registry = SiteRegistry.load(path)
        try:
            site = Site(name, tuple(start_urls), **options)
        except SiteConfigError as exc:
            raise SiteConfigError(f"{path}: {exc}") from None
        registry.add(site, replace=replace)
        registry.save()
    return site


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits: an edit takes milliseconds
        yield
    finally:
        os.close(fd)  # releases the lock
