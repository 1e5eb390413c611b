"""Checks of a site registry entry's values, each raising one SiteConfigError that names where it is
(``[sites.NAME] key``) and what is wrong, with the value quoted on one line. `crawler.sites` applies them."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from types import MappingProxyType
from urllib.parse import urlsplit

from crawler.errors import SiteConfigError

# ASCII digits only, and few enough that the seconds stay far inside every scheduler's range.
_INTERVAL = re.compile(r"([0-9]{1,9})\s*([smhdw])", re.ASCII)
_UNIT_SECONDS = MappingProxyType({"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800})
MAX_INTERVAL_SECONDS = 365 * 86400
# Inclusive bounds of the numeric keys: wide enough for any real site, narrow enough that a typo is refused.
DELAY_RANGE = (0.0, 3600.0)
CONCURRENCY_RANGE = (1, 64)
MAX_PAGES_RANGE = (1, 10_000_000)
MAX_LINKS_RANGE = (1, 1_000_000)


def validate_url(url: str, where: str = "URL") -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SiteConfigError(f"{where}: {url!r} is not an http(s) URL with a host")
    return url


def interval_seconds(every: str, where: str = "every") -> int:
    match = _INTERVAL.fullmatch(every.strip().lower())
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else 0
    if not 0 < seconds <= MAX_INTERVAL_SECONDS:
        raise SiteConfigError(f"{where}: {shown(every)} is not an interval from 1s to 365d such as 30m, 6h, 1d or 2w")
    return seconds


def validate_cron(expression: str, where: str = "cron") -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise SiteConfigError(f"{where}: {shown(expression)} is not a crontab expression (minute hour day month weekday): {exc}") from None
    return expression


def validate_selector(query: str, where: str) -> str:
    """Refuse a selector the crawler could not apply, by applying it the way `crawler.discovery` does (CSS,
    or XPath when it starts with ``/``, ``(`` or ``./``) to an empty page: a typo fails at load, not mid-crawl."""
    from cssselect import SelectorError
    from parsel import Selector

    from crawler.discovery import select

    if not query.strip():
        raise SiteConfigError(f"{where}: the selector is empty")
    try:
        select(Selector(text="<html></html>"), query)
    except SelectorError as exc:
        raise SiteConfigError(f"{where}: {shown(query)} is not a CSS selector: {exc}") from None
    except ValueError as exc:  # parsel's wrapping of lxml's XPathError
        raise SiteConfigError(f"{where}: {shown(query)} is not an XPath expression: {exc}") from None
    return query


def compile_patterns(values: Iterable[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for value in values:
        try:
            compiled.append(re.compile(value, re.IGNORECASE))
        except (re.error, OverflowError, RecursionError) as exc:
            raise SiteConfigError(f"{where}: {shown(value)} is not a regular expression: {exc}") from None
    return tuple(compiled)


def shown(value: object) -> str:
    """A value as an error message quotes it: its repr (one line, control characters escaped), cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def type_name(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)  # fmt: skip


def check_integer(value: object, key: str, bounds: tuple[int, int], where: str) -> None:
    if value is None:
        return
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int):
        raise SiteConfigError(f"{where} {key}: expected a whole number from {low:,} to {high:,}, not {shown(value)}")
    if not low <= value <= high:
        raise SiteConfigError(f"{where} {key}: {value:,} is out of range ({low:,} to {high:,})")


def check_seconds(value: object, key: str, bounds: tuple[float, float], where: str) -> None:
    if value is None:
        return
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SiteConfigError(f"{where} {key}: expected a number of seconds, not {shown(value)}")
    if not math.isfinite(value) or not low <= value <= high:
        raise SiteConfigError(f"{where} {key}: {shown(value)} is out of range ({low:g} to {high:g} seconds)")


def check_strings(value: object, key: str, where: str) -> None:
    if not isinstance(value, tuple | list) or not all(isinstance(v, str) for v in value):
        raise SiteConfigError(f"{where} {key}: expected a list of strings, not {shown(value)}")


def check_type(value: object, kind: type, key: str, where: str, *, optional: bool = False) -> None:
    if (value is None and optional) or (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
        return
    raise SiteConfigError(f"{where} {key}: expected {type_name(kind())}, not {shown(value)}")


def unknown_key(key: str, known: Iterable[str], what: str, where: str) -> SiteConfigError:
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    message = f"unknown {what} {shown(key)} ({hint})"
    return SiteConfigError(f"{where} {message}" if where else message)
