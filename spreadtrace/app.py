"""The application object the commands share: where data lives, the settings, the store."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import platformdirs
from scrapy.settings import Settings

from crawler.config import hash_options, load_settings, match_policy
from crawler.scratch import Scratch
from crawler.sites import SiteRegistry
from matcher import HashOptions
from spreadtrace.render import plain_console
from tracker import Store, Tracker, open_store
from tracker.evidence.vault import EvidenceVault, open_vault


def default_home() -> Path:
    env = os.environ.get("SPREADTRACE_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("spreadtrace", appauthor=False))


def make_home(home: Path) -> None:
    """Create the home folder for its owner alone (0700): it holds the record of cases and what was found.
    An existing folder is left as it is; its database is made private when it is opened."""
    if not home.is_dir():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        home.chmod(0o700)  # mkdir's mode passes through the umask of whoever called us


class App:
    """Home, settings and store, each made when a command first needs it: `--help` or a bad argument never
    creates a home."""

    def __init__(self, home: Path, overrides: dict[str, str] | None = None) -> None:
        self.home = home.expanduser().resolve()
        self.overrides = overrides or {}
        self.out = plain_console()
        self.err = plain_console(stderr=True)

    @cached_property
    def settings(self) -> Settings:
        make_home(self.home)
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

    @cached_property
    def vault(self) -> EvidenceVault:
        """The evidentiary store, ``HOME/evidence``; its keys apart, in SPREADTRACE_EVIDENCE_KEYS."""
        return open_vault(self.home, self.settings["SPREADTRACE_EVIDENCE_KEYS"])

    def sites(self) -> SiteRegistry:
        return SiteRegistry.load(Path(self.settings["SPREADTRACE_SITES_FILE"]))

    def close(self) -> None:
        """Close the store; the next use opens it afresh (a crawl in between writes through its own)."""
        self.__dict__.pop("tracker", None)
        store = self.__dict__.pop("store", None)
        if store is not None:
            store.close()

    def end(self) -> None:
        """The command is done: close the store and remove the temporary folder (also done at exit)."""
        self.close()
        scratch = self.__dict__.pop("scratch", None)
        if scratch is not None:
            scratch.remove()
