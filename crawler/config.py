"""Settings for spreadtrace outside a running crawl: loading them, and the objects built from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings, Settings

from matcher import HashOptions, MatchPolicy, VideoLimits

SETTINGS_MODULE = "crawler.settings"


def load_settings(home: Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    """crawler/settings.py, then the home's defaults, then ``overrides`` (the CLI's ``-s NAME=VALUE``)."""
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    settings.set("SPREADTRACE_STORE_URI", f"sqlite:///{home / 'spreadtrace.db'}", priority="project")
    settings.set("SPREADTRACE_SITES_FILE", str(home / "sites.toml"), priority="project")
    # Scrapy's default is .scrapy/ in the project folder: a crawl must never write into a checkout.
    settings.set("HTTPCACHE_DIR", str(home / "httpcache"), priority="project")
    settings.set("SPREADTRACE_HOME", str(home), priority="project")
    settings.update(dict(overrides or {}), priority="cmdline")
    from crawler import __version__

    contact = settings.get("SPREADTRACE_CONTACT")
    agent = f"spreadtrace/{__version__} (content-spread tracker{'; +' + contact if contact else ''})"
    settings.set("USER_AGENT", agent, priority="project")
    return settings


def default_match_policy() -> MatchPolicy:
    """The policy crawler/settings.py defines, with no home and no overrides."""
    return match_policy(_module_settings())


def default_hash_options() -> HashOptions:
    """The hashing options crawler/settings.py defines, with no home and no overrides."""
    return hash_options(_module_settings())


def _module_settings() -> Settings:
    settings = Settings()
    settings.setmodule(SETTINGS_MODULE, priority="project")
    return settings


def match_policy(settings: BaseSettings) -> MatchPolicy:
    return MatchPolicy(
        pdq_max_distance=settings.getint("SPREADTRACE_PDQ_MAX_DISTANCE"),
        pdq_corroborated_max_distance=settings.getint("SPREADTRACE_PDQ_CORROBORATED_MAX_DISTANCE"),
        pdq_min_quality=settings.getint("SPREADTRACE_PDQ_MIN_QUALITY"),
        phash_max_distance=settings.getint("SPREADTRACE_PHASH_MAX_DISTANCE"),
        dhash_max_distance=settings.getint("SPREADTRACE_DHASH_MAX_DISTANCE"),
        orb_match_inliers=settings.getint("SPREADTRACE_ORB_MATCH_INLIERS"),
        orb_review_inliers=settings.getint("SPREADTRACE_ORB_REVIEW_INLIERS"),
        orb_min_spread=settings.getfloat("SPREADTRACE_ORB_MIN_SPREAD"),
        video_frame_max_distance=settings.getint("SPREADTRACE_VIDEO_FRAME_MAX_DISTANCE"),
        video_min_frames=settings.getint("SPREADTRACE_VIDEO_MIN_FRAMES"),
        videohash_max_distance=settings.getint("SPREADTRACE_VIDEOHASH_MAX_DISTANCE"),
    )


def hash_options(settings: BaseSettings) -> HashOptions:
    """What hashing one file may cost and what is kept of it (`matcher.hash_file`, `matcher.hash_media`)."""
    return HashOptions(
        max_pixels=settings.getint("SPREADTRACE_IMAGE_MAX_PIXELS"),
        max_image_bytes=settings.getint("SPREADTRACE_IMAGE_MAX_BYTES"),
        min_picture_side=settings.getint("SPREADTRACE_IMAGE_MIN_SIDE"),
        local_features=settings.getbool("SPREADTRACE_LOCAL_FEATURES"),
        video=VideoLimits(
            max_bytes=settings.getint("SPREADTRACE_VIDEO_MAX_BYTES"),
            max_seconds=settings.getfloat("SPREADTRACE_VIDEO_MAX_SECONDS"),
            max_frames=settings.getint("SPREADTRACE_VIDEO_MAX_FRAMES"),
            max_pixels=settings.getint("SPREADTRACE_VIDEO_MAX_PIXELS"),
            max_decoded_pixels=settings.getint("SPREADTRACE_MEDIA_MAX_DECODED_PIXELS"),
        ),
    )
