"""One store per crawl, shared by the spider (the visit journal) and the pipeline (the record)."""

from __future__ import annotations

import weakref

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from tracker import Store, open_store

_stores: weakref.WeakKeyDictionary[Crawler, Store] = weakref.WeakKeyDictionary()


def crawl_store(crawler: Crawler) -> Store:
    store = _stores.get(crawler)
    if store is None:
        uri = crawler.settings.get("SPREADTRACE_STORE_URI")
        if not uri:
            raise NotConfigured("SPREADTRACE_STORE_URI is empty")
        store = _stores[crawler] = open_store(uri)
    return store


def close_crawl_store(crawler: Crawler) -> None:
    store = _stores.pop(crawler, None)
    if store is not None:
        store.close()
