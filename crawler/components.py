"""A crawler's own parts by class: the extensions the spider, the fetcher and the pipeline ask each other for."""

from __future__ import annotations

from typing import TypeVar

from scrapy.crawler import Crawler

C = TypeVar("C")


def component(crawler: Crawler, cls: type[C]) -> C:
    """The enabled extension of class ``cls``; only once every extension is built (not in from_crawler)."""
    found = crawler.get_extension(cls)
    if found is None:
        raise RuntimeError(f"{cls.__module__}.{cls.__name__} is not enabled: add it to EXTENSIONS")
    return found
