from __future__ import annotations

from scrapy.crawler import Crawler

from crawler.config import load_settings
from crawler.sites import Site
from crawler.spiders.site import SiteSpider


def spider_for(site: Site, home) -> SiteSpider:
    crawler = Crawler(SiteSpider, load_settings(home))  # not crawling: no reactor needed
    return SiteSpider.from_crawler(crawler, site=site)


def test_the_page_budget_counts_each_page_once_and_stays_on_the_site(tmp_path):
    spider = spider_for(Site("s", ("http://s.example/",), max_pages=3), tmp_path)
    links = ["http://s.example/a"] * 4 + [
        "http://elsewhere.example/x", "http://cdn.s.example/b", "http://s.example/c", "http://s.example/d",
    ]  # fmt: skip
    requested = [request.url for url in links if spider._follows(url) and (request := spider._claim(url, "link"))]
    assert requested == ["http://s.example/a", "http://cdn.s.example/b", "http://s.example/c"]
    # Re-checks of pages with sightings are not held back by the budget.
    assert spider._claim("http://s.example/known", "recheck", cap=None) is not None
    spider.store.close()


def test_follow_and_deny_rules_pick_listing_and_post_pages(tmp_path):
    site = Site("s", ("http://s.example/b/",), follow=(r"/b/(page|thread)/\d+$",), deny=(r"/thread/666$",))
    spider = spider_for(site, tmp_path)
    assert spider._follows("http://s.example/b/page/2") and spider._follows("http://s.example/b/thread/7")
    assert not spider._follows("http://s.example/b/thread/666")
    assert not spider._follows("http://s.example/b/catalog") and not spider._follows("http://s.example/login")
    spider.store.close()


def test_a_killed_visit_is_resumed_and_a_fresh_one_is_not(tmp_path):
    first = spider_for(Site("s", ("http://s.example/",)), tmp_path)
    assert first._claim("http://s.example/", "start") is not None
    first.store.close()
    again = spider_for(Site("s", ("http://s.example/",)), tmp_path)
    assert again.visit.id == first.visit.id
    assert again.store.pending_pages(again.visit.id) == [("http://s.example/", "start")]
    again.store.close()


def test_an_answer_from_an_http_cache_is_never_evidence(tmp_path):
    import asyncio

    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.items import MediaItem, PageItem
    from tracker.models import Observation
    from tracker.service import judge_status

    spider = spider_for(Site("s", ("http://s.example/",)), tmp_path)
    spider._known = {"http://s.example/p": {"http://s.example/m.jpg"}}
    request = Request("http://s.example/p", meta={"spreadtrace_role": "recheck"})
    cached = HtmlResponse(request.url, body=b"<img src='/m.jpg'>", flags=["cached"], request=request)

    async def collect() -> list[object]:
        return [item async for item in spider.parse(cached)]

    items = asyncio.run(collect())
    [media] = [i for i in items if isinstance(i, MediaItem)]
    [page] = [i for i in items if isinstance(i, PageItem)]
    assert (media.sha256, media.http_status, media.pages[0].state) == (None, None, "unknown")
    assert "cache" in (media.error or "") and page.outcome == "failed"
    observation = Observation("2026-11-21T00:00:00Z", media.media_url, "http://s.example/p", error=media.error,
                              page_state="unknown")  # fmt: skip
    assert judge_status(observation, matches=False) is None  # no status moves on it, least of all to online
    spider.store.close()
