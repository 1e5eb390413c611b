from __future__ import annotations

from crawler.sites import Site
from crawler.spiders.site import SiteSpider


def test_the_page_budget_counts_each_page_once_and_stays_on_the_site():
    spider = SiteSpider(Site("s", ("http://s.example/",)))
    spider.max_pages, spider.allowed_domains = 3, ["s.example"]
    links = ["http://s.example/a"] * 4 + [
        "http://elsewhere.example/x", "http://cdn.s.example/b", "http://s.example/c", "http://s.example/d",
    ]  # fmt: skip
    requested = [request.url for url in links if (request := spider._page_request(url)) is not None]
    assert requested == ["http://s.example/a", "http://cdn.s.example/b", "http://s.example/c"]
