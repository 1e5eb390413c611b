"""The application object the commands share: where data lives, the settings, the store."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import platformdirs
from rich.console import Console
from scrapy.settings import Settings

from crawler.config import hash_options, load_settings, match_policy
from crawler.scratch import Scratch
from crawler.sites import SiteRegistry
from matcher import HashOptions
from tracker import Store, Tracker, open_store


def default_home() -> Path:
    env = os.environ.get("SPREADTRACE_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("spreadtrace", appauthor=False))


class App:
    def __init__(self, home: Path, overrides: dict[str, str] | None = None) -> None:
        self.home = home.expanduser().resolve()
        self.overrides = overrides or {}
        self.out = Console(soft_wrap=True)
        self.err = Console(stderr=True, soft_wrap=True)

    @cached_property
    def settings(self) -> Settings:
        self.scratch  # every command that does work keeps its temporary files private, from here on
        return load_settings(self.home, self.overrides)

    @cached_property
    def scratch(self) -> Scratch:
        return Scratch.open(self.home)

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings["SPREADTRACE_STORE_URI"])

    @cached_property
    def tracker(self) -> Tracker:
        return Tracker(self.store, match_policy(self.settings))

    @cached_property
    def hash_options(self) -> HashOptions:
        return hash_options(self.settings)

    def sites(self) -> SiteRegistry:
        return SiteRegistry.load(Path(self.settings["SPREADTRACE_SITES_FILE"]))

    def close(self) -> None:
        """Close the store; the next use opens it afresh (a crawl in between writes through its own)."""
        self.__dict__.pop("tracker", None)
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()
