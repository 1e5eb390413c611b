"""The one Tracker a crawl process records through, handed to every crawler.

The runner builds the Tracker (one store, one copy of every reference index) and puts it in the settings
every crawler is made from; each component reads it with `tracker_of`. Run on its own (``scrapy crawl
site``), a crawler gets one from `TrackerExtension`, which opens the store SPREADTRACE_STORE_URI names and
closes it when the crawl ends.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.config import match_policy
from tracker import Tracker
from tracker.evidence import Collector, EvidenceRecorder, open_vault

T = TypeVar("T")
TRACKER_SETTING = "_SPREADTRACE_TRACKER"  # not a user setting: set by the runner, or by TrackerExtension


class Shared(Generic[T]):
    """One object of the crawl process as a settings value. Scrapy deep-copies the settings for each
    crawler; a handle is shared instead, because a copy of the Tracker would be a second store and a second
    set of indexes (and a copy of the hashing pool a second set of workers)."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __deepcopy__(self, memo: dict[int, Any]) -> Shared[T]:
        return self

    def __repr__(self) -> str:
        return f"<the crawl's {type(self.value).__name__}>"


def evidence_recorder(settings: BaseSettings) -> EvidenceRecorder | None:
    """What captures this crawl's sightings, or None: SPREADTRACE_EVIDENCE off, or no home to keep them in
    (`scrapy crawl` without SPREADTRACE_HOME)."""
    home = settings.get("SPREADTRACE_HOME")
    if not settings.getbool("SPREADTRACE_EVIDENCE") or not home:
        return None
    from crawler import __version__

    collector = settings.get("SPREADTRACE_COLLECTOR") or getpass.getuser()
    organisation, _, analyst = collector.rpartition(" / ")
    vault = open_vault(Path(home), settings.get("SPREADTRACE_EVIDENCE_KEYS", ""))
    return EvidenceRecorder(vault, Collector(organisation, analyst, f"spreadtrace/{__version__}"))


def hand_tracker(settings: BaseSettings, tracker: Tracker) -> None:
    settings.set(TRACKER_SETTING, Shared(tracker), priority="cmdline")


def tracker_of(crawler: Crawler) -> Tracker:
    handle = crawler.settings.get(TRACKER_SETTING)
    if not isinstance(handle, Shared) or not isinstance(handle.value, Tracker):
        raise NotConfigured("no Tracker: crawler.tracking.TrackerExtension is not enabled and none was handed in")
    return handle.value


class TrackerExtension:
    """Opens a Tracker for a crawler that was handed none, and closes it when the engine stops."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if isinstance(crawler.settings.get(TRACKER_SETTING), Shared):
            raise NotConfigured  # the runner handed this crawler its Tracker (no reason: Scrapy would warn)
        uri = crawler.settings.get("SPREADTRACE_STORE_URI")
        if not uri:
            raise NotConfigured("SPREADTRACE_STORE_URI is empty")
        extension = cls(Tracker.open(uri, match_policy(crawler.settings)))
        extension.tracker.evidence = evidence_recorder(crawler.settings)
        hand_tracker(crawler.settings, extension.tracker)  # still open: extensions are built before the freeze
        crawler.signals.connect(extension.engine_stopped, signal=signals.engine_stopped)
        return extension

    def engine_stopped(self) -> None:
        self.tracker.close()
