"""Settings for spreadtrace outside a running crawl: loading them, and the objects built from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings, Settings

from matcher import MatchPolicy

SETTINGS_MODULE = "crawler.settings"


def load_settings(home: Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    """crawler/settings.py, then the home's defaults, then ``overrides`` (the CLI's ``-s NAME=VALUE``)."""
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    settings.set("SPREADTRACE_STORE_URI", f"sqlite:///{home / 'spreadtrace.db'}", priority="project")
    settings.set("SPREADTRACE_SITES_FILE", str(home / "sites.toml"), priority="project")
    settings.update(dict(overrides or {}), priority="cmdline")
    from crawler import __version__

    contact = settings.get("SPREADTRACE_CONTACT")
    agent = f"spreadtrace/{__version__} (content-spread tracker{'; +' + contact if contact else ''})"
    settings.set("USER_AGENT", agent, priority="project")
    return settings


def default_match_policy() -> MatchPolicy:
    """The policy crawler/settings.py defines, with no home and no overrides."""
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    return match_policy(settings)


def match_policy(settings: BaseSettings) -> MatchPolicy:
    return MatchPolicy(
        pdq_max_distance=settings.getint("SPREADTRACE_PDQ_MAX_DISTANCE"),
        pdq_corroborated_max_distance=settings.getint("SPREADTRACE_PDQ_CORROBORATED_MAX_DISTANCE"),
        pdq_min_quality=settings.getint("SPREADTRACE_PDQ_MIN_QUALITY"),
        phash_max_distance=settings.getint("SPREADTRACE_PHASH_MAX_DISTANCE"),
        dhash_max_distance=settings.getint("SPREADTRACE_DHASH_MAX_DISTANCE"),
        orb_match_inliers=settings.getint("SPREADTRACE_ORB_MATCH_INLIERS"),
        orb_review_inliers=settings.getint("SPREADTRACE_ORB_REVIEW_INLIERS"),
    )
