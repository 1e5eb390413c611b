"""The spider and its visit, without a reactor: which pages are followed and claimed, what a failure or a
cached answer records. Whole crawls are in test_end_to_end.py, test_crawler_wiki.py and others."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers, HtmlResponse
from twisted.python.failure import Failure

from crawler.config import default_match_policy, load_settings
from crawler.frontier import Frontier
from crawler.items import MediaItem, PageItem
from crawler.middlewares import PrivateAddressRefused
from crawler.sites import Site
from crawler.spiders.site import SiteSpider
from crawler.stop import CrawlStop
from crawler.visit import VisitExtension
from tracker import ClaimState, PageOutcome, PageRole, PageState, Tracker
from tracker.models import Observation, PageVisit
from tracker.rules import judge


@pytest.fixture
def tracker(tmp_path):
    opened = Tracker.open(f"sqlite:///{tmp_path / 'store.db'}", default_match_policy())
    yield opened
    opened.close()


def spider_for(site: Site, home, tracker: Tracker | None = None, budget: int = 500) -> SiteSpider:
    crawler = Crawler(SiteSpider, load_settings(home))  # not crawling: no reactor needed
    spider = SiteSpider.from_crawler(crawler, site=site)
    crawler.spider = spider
    if tracker is not None:  # the visit extension, as Scrapy would build it
        visit = tracker.visits.begin(site.name)
        spider.visit = VisitExtension(crawler, tracker, visit, budget, None)
        spider.stopper = CrawlStop(crawler, time_limit=0, min_free=0, watched=[])
    return spider


def test_follow_and_deny_rules_pick_listing_and_post_pages(tmp_path):
    site = Site("s", ("http://s.example/b/",), follow=(r"/b/(page|thread)/\d+$",), deny=(r"/thread/666$",))
    spider = spider_for(site, tmp_path)
    assert spider._follows("http://s.example/b/page/2") and spider._follows("http://s.example/b/thread/7")
    assert not spider._follows("http://s.example/b/thread/666")
    assert not spider._follows("http://s.example/b/catalog") and not spider._follows("http://s.example/login")
    assert spider._follows("http://cdn.s.example/b/page/3") and not spider._follows("http://elsewhere.example/b/page/3")


def test_the_page_budget_counts_each_page_once_fragments_included(tmp_path, tracker):
    visit = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker, budget=3).visit
    links = ["http://s.example/a", "http://s.example/a#top", "http://s.example/a#comments", "http://s.example/b",
             "http://s.example/c", "http://s.example/d"]  # fmt: skip
    claimed = [url for link in links if (url := visit.claim(link, PageRole.LINK))]
    assert claimed == ["http://s.example/a", "http://s.example/b", "http://s.example/c"]
    assert visit.claim("http://s.example/known#x", PageRole.RECHECK) == "http://s.example/known"  # outside the budget
    assert [page.url for page in tracker.visits.pending(visit.visit.id)] == claimed + ["http://s.example/known"]


def test_pages_claimed_past_the_frontier_wait_in_the_journal_and_come_out_in_claim_order(tmp_path, tracker):
    visit = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker).visit
    assert visit.frontier is not None
    visit.frontier = Frontier(tracker, visit.visit.id, high=4)  # refilled below 2 in memory
    handed = [url for n in range(10) if (url := visit.claim(f"http://s.example/{n}", PageRole.LINK))]
    assert handed == [f"http://s.example/{n}" for n in range(4)]
    assert visit.claim("http://s.example/5", PageRole.LINK) is None  # claimed already, waiting: not twice
    assert [p.url for p in visit.fetched()] == []  # 3 left in memory: not low yet
    assert [p.url for p in visit.fetched()] == []
    assert [p.url for p in visit.fetched()] == ["http://s.example/4", "http://s.example/5", "http://s.example/6"]
    assert visit.claim("http://s.example/10", PageRole.LINK) is None  # still spilled: it queues behind 7-9
    assert [p.url for p in visit.refill(idle=True)] == [f"http://s.example/{n}" for n in (7, 8, 9, 10)]
    assert [p.url for p in visit.refill(idle=True)] == []  # caught up: claims go straight out again
    assert visit.claim("http://s.example/11", PageRole.LINK) == "http://s.example/11"
    assert visit.frontier.peak == 4


def test_a_resumed_visit_feeds_what_the_killed_run_left_through_the_frontier(tmp_path, tracker):
    first = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker).visit
    for n in range(5):
        assert first.claim(f"http://s.example/{n}", PageRole.LINK)
    again = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker).visit
    again.frontier = Frontier(tracker, again.visit.id, high=3)
    assert again.visit.id == first.visit.id and again.resume()
    assert again.claim("http://s.example/new", PageRole.LINK) is None  # behind the five left
    assert [p.url for p in again.refill(idle=True)] == [f"http://s.example/{n}" for n in range(3)]
    assert [p.url for p in again.refill(idle=True)] == ["http://s.example/3", "http://s.example/4", "http://s.example/new"]


def test_a_page_skipped_by_robots_txt_gives_its_place_in_the_budget_back(tmp_path, tracker):
    visit = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker, budget=2).visit
    assert visit.claim("http://s.example/a", PageRole.LINK) and visit.claim("http://s.example/Special:x", PageRole.LINK)
    assert not visit.claim("http://s.example/b", PageRole.LINK)
    skipped = PageVisit(visit.visit.id, "http://s.example/Special:x", PageRole.LINK, ClaimState.DONE,
                        outcome=PageOutcome.SKIPPED, reason="disallowed by robots.txt")  # fmt: skip
    tracker.visits.finish_page(skipped)
    assert visit.claim("http://s.example/c", PageRole.LINK)  # fetched pages are what the budget counts
    assert not visit.claim("http://s.example/d", PageRole.LINK)


def test_a_killed_visit_is_resumed_and_a_fresh_one_is_not(tmp_path, tracker):
    first = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker).visit
    assert first.claim("http://s.example/", PageRole.START)
    again = tracker.visits.begin("s")
    assert again.id == first.visit.id
    assert [(p.url, p.role) for p in tracker.visits.pending(again.id)] == [("http://s.example/", PageRole.START)]
    assert tracker.visits.begin("s", resume=False).id != first.visit.id


def test_an_answer_from_an_http_cache_is_never_evidence(tmp_path, tracker):
    spider = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker)
    spider.visit.rechecks = {"http://s.example/p": {"http://s.example/m.jpg": "a" * 64}}
    meta = {"spreadtrace_role": PageRole.RECHECK, "spreadtrace_page": "http://s.example/p"}
    request = Request("http://s.example/p", meta=meta)
    cached = HtmlResponse(request.url, body=b"<img src='/m.jpg'>", flags=["cached"], request=request)

    async def collect() -> list[object]:
        return [item async for item in spider.parse(cached)]

    items = asyncio.run(collect())
    [media] = [i for i in items if isinstance(i, MediaItem)]
    [page] = [i for i in items if isinstance(i, PageItem)]
    assert (media.sha256, media.http_status, media.pages[0].state) == (None, None, PageState.UNKNOWN)
    assert "cache" in (media.error or "") and page.outcome is PageOutcome.FAILED
    observation = Observation("2026-11-21T00:00:00Z", media.media_url, "http://s.example/p", error=media.error,
                              page_state=PageState.UNKNOWN)  # fmt: skip
    assert judge(observation, matches=False) is None  # no status moves on it, least of all to online


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [
        (IgnoreRequest("Forbidden by robots.txt"), PageOutcome.SKIPPED, "disallowed by robots.txt"),
        (PrivateAddressRefused("refused http://s.example/: s.example is a private address (10.0.0.1)"),
         PageOutcome.SKIPPED, "refused http://s.example/: s.example is a private address (10.0.0.1)"),
        (ConnectionRefusedError("Connection refused"), PageOutcome.FAILED, "Connection refused"),
        (IgnoreRequest("max redirections reached"), PageOutcome.FAILED, "max redirections reached"),
    ],
)  # fmt: skip
def test_a_page_refused_by_our_own_rules_is_skipped_not_failed(tmp_path, tracker, error, outcome, reason):
    spider = spider_for(Site("s", ("http://s.example/",)), tmp_path, tracker)
    failure = Failure(error)
    failure.request = Request("http://s.example/admin#x", meta={"spreadtrace_page": "http://s.example/admin",
                                                                "spreadtrace_role": PageRole.LINK})  # fmt: skip
    [page] = list(spider.page_failed(failure))
    assert (page.url, page.outcome, page.reason) == ("http://s.example/admin", outcome, reason)


@pytest.mark.parametrize(
    ("content_type", "stops"),
    [(b"image/jpeg", True), (b"video/mp4", True), (b"text/html; charset=utf-8", False), (None, False)],
)
def test_a_followed_link_that_answers_with_media_is_not_downloaded_as_a_page(tmp_path, content_type, stops):
    spider = spider_for(Site("s", ("http://s.example/",)), tmp_path)
    headers = Headers({b"Content-Type": content_type} if content_type else {})
    page_request = Request("http://s.example/file/1", meta={"spreadtrace_role": PageRole.LINK})
    if stops:
        with pytest.raises(StopDownload):
            spider.headers_received(headers, 1000, page_request, spider)
    else:
        spider.headers_received(headers, 1000, page_request, spider)
    spider.headers_received(headers, 1000, Request("http://s.example/m.jpg", meta={"media_url": "x"}), spider)  # media: untouched
