"""The site registry: what round-trips through sites.toml, and every bad entry refused with one message that
names the file, the site and the key."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

import pytest

from crawler.errors import SiteConfigError, UnknownSite
from crawler.sites import Site, SiteRegistry, interval_seconds

URL = 'start_urls = ["https://board.example/b/"]\n'


def test_registry_round_trips_through_toml(tmp_path):
    path = tmp_path / "sites.toml"
    registry = SiteRegistry.load(path)
    assert len(registry) == 0
    full = Site(
        "board", ("https://board.example/b/",), ("board.example", "cdn.example"), "6h", 1.5, cron="0 */6 * * *",
        concurrency=4, robots=False, follow=(r"/b/\d+",), deny=("/catalog",), media=("div.file img::attr(src)", "//a/@href"),
        metadata={"title": "h1::text", "uploaded": "//time/@datetime"}, removed_text=("pruned",), max_pages=2000,
        max_links=500, abuse_contact="abuse@board.example", allow_private=True,
    )  # fmt: skip
    registry.add(full)
    registry.add(Site("tube", ("https://tube.example/",)))
    registry.save()
    assert list(SiteRegistry.load(path)) == [full, Site("tube", ("https://tube.example/",))]
    assert SiteRegistry.load(path).get("tube").allowed_domains == ("tube.example",)  # from the start URL
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert interval_seconds("6h") == 6 * 3600
    with pytest.raises(SiteConfigError, match="already exists"):
        registry.add(Site("board", ("https://board.example/",)))
    with pytest.raises(UnknownSite, match="spreadtrace site list"):
        registry.get("tube\n")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "site name 'Bad Name': use 1-64 lowercase"),
        ({"name": "board\n"}, r"site name 'board\\n'"),
        ({"start_urls": ("ftp://x.example/",)}, "not an http"),
        ({"start_urls": ("http://",)}, "not an http"),
        ({"start_urls": ()}, r"\[sites.ok\] start_urls is empty"),
        ({"every": "soon"}, "not an interval"),
        ({"every": "0h"}, "not an interval"),
        ({"every": "366d"}, "not an interval from 1s to 365d"),
        ({"every": "99999999999999999999w"}, "not an interval"),
        ({"every": "٣h"}, "not an interval"),  # a digit, but not one a schedule is written in
        ({"delay": -1.0}, r"delay: -1.0 is out of range \(0 to 3600 seconds\)"),
        ({"delay": float("inf")}, "delay: inf is out of range"),
        ({"delay": float("nan")}, "delay: nan is out of range"),
        ({"delay": True}, "delay: expected a number of seconds, not True"),
        ({"concurrency": 0}, r"concurrency: 0 is out of range \(1 to 64\)"),
        ({"concurrency": 65}, "concurrency: 65 is out of range"),
        ({"concurrency": 2.5}, "concurrency: expected a whole number from 1 to 64, not 2.5"),
        ({"max_pages": 10_000_001}, r"max_pages: 10,000,001 is out of range \(1 to 10,000,000\)"),
        ({"max_pages": True}, "max_pages: expected a whole number"),
        ({"max_links": 0}, r"max_links: 0 is out of range \(1 to 1,000,000\)"),
        ({"max_links": 1_000_001}, "max_links: 1,000,001 is out of range"),
        ({"follow": ("a{99999999999}",)}, r"follow: 'a\{99999999999\}' is not a regular expression"),
        ({"removed_text": ("(",)}, "removed_text: '\\(' is not a regular expression"),
        ({"media": ("div[[[",)}, r"media: 'div\[\[\[' is not a CSS selector"),
        ({"media": ("img::nonsense",)}, "media: 'img::nonsense' is not a CSS selector"),
        ({"media": ("//a[",)}, r"media: '//a\[' is not an XPath expression"),
        ({"media": (" ",)}, "media: the selector is empty"),
        ({"metadata": {"title": "//a["}}, r"metadata.title: '//a\[' is not an XPath expression"),
        ({"metadata": {"uploader": "span[["}}, r"metadata.uploader: 'span\[\[' is not a CSS selector"),
        ({"metadata": {"titel": "h1::text"}}, "unknown metadata field 'titel' \\(did you mean 'title'\\?\\)"),
        ({"robots": "no"}, "robots: expected true/false, not 'no'"),
        ({"abuse_contact": 5}, "abuse_contact: expected a string, not 5"),
        ({"cron": "*/0 * * * *"}, "not a crontab expression"),
    ],
)
def test_bad_site_entries_name_the_site_and_the_field(kwargs, message):
    fields = {"name": "ok", "start_urls": ("https://ok.example/",), **kwargs}
    with pytest.raises(SiteConfigError, match=message):
        Site(**fields)


def test_selectors_are_taken_as_the_crawler_applies_them():
    site = Site("ok", ("https://ok.example/",), media=("div.post img.full", "img::attr(data-src)", "(//img)[1]/@src"),
                metadata={"title": "h1::text", "uploaded": "./time/@datetime"})  # fmt: skip
    assert site.media[2] == "(//img)[1]/@src"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sites]\na = 5\n", r"\[sites.a\] must be a table of settings .*, not a number"),
        ('[sites]\na = "https://a.example/"\n', r"\[sites.a\] must be a table .*, not a string"),
        ("sites = 3\n", "'sites' must be a table"),
        ('[site.board]\n' + URL, "unknown table 'site' \\(did you mean 'sites'\\?\\)"),
        ("[sites.board]\n" + URL + "max_page = 3\n", r"\[sites.board\] unknown key 'max_page' \(did you mean 'max_pages'\?\)"),
        ("[sites.board]\n" + URL + "alow_private = true\n", "unknown key 'alow_private' \\(did you mean 'allow_private'\\?\\)"),
        ("[sites.board]\n" + URL + "zzz = 1\n", "unknown key 'zzz' \\(known: abuse_contact, allow_private,"),
        ("[sites.board]\n" + URL + "delay = inf\n", r"\[sites.board\] delay: inf is out of range"),
        ("[sites.board]\n" + URL + "delay = nan\n", "delay: nan is out of range"),
        ("[sites.board]\n" + URL + "delay = true\n", "delay: expected a number of seconds, not True"),
        ("[sites.board]\n" + URL + "concurrency = 1e3\n", "concurrency: expected a whole number"),
        ("[sites.board]\n" + URL + "max_pages = 99999999999999\n", "max_pages: 99,999,999,999,999 is out of range"),
        ("[sites.board]\n" + URL + 'every = "99999999999999999999w"\n', r"\[sites.board\] every: '9+w' is not an interval"),
        ("[sites.board]\n" + URL + "every = 6\n", "every: expected a string, not 6"),
        ("[sites.board]\n" + URL + "cron = 5\n", "cron: expected a string, not 5"),
        ("[sites.board]\n" + URL + 'media = ["div[[["]\n', r"\[sites.board\] media: 'div\[\[\[' is not a CSS selector"),
        ("[sites.board]\n" + URL + '[sites.board.metadata]\ntitle = "//a["\n', r"metadata.title: '//a\[' is not an XPath"),
        ("[sites.board]\n" + URL + "[sites.board.metadata]\ntitle = 3\n", "metadata.title: expected a string, not 3"),
        ("[sites.board]\n" + URL + "metadata = 3\n", "metadata: expected a table"),
        ("[sites.board]\nstart_urls = [1]\n", "start_urls: expected a list of strings, not \\[1\\]"),
        ('[sites."board\\n"]\n' + URL, r"site name 'board\\n'"),
        ('[sites.board]\nevery = "6h"\n', r"\[sites.board\] has no start_urls"),
        ("[sites.board\nstart_urls = 3", "cannot read site registry"),
    ],
)
def test_a_bad_file_is_one_error_naming_file_site_and_key(tmp_path, text, message):
    path = tmp_path / "sites.toml"
    path.write_text(text)
    with pytest.raises(SiteConfigError, match=message) as raised:
        SiteRegistry.load(path)
    assert str(raised.value).startswith(f"{path}: ") and str(raised.value).count(str(path)) == 1
    assert "\n" not in str(raised.value)


def test_a_file_entry_is_read_as_written_by_hand(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text("[sites.board]\nstart_urls = \"https://board.example/\"\nmax_links = 300\ndelay = 2\n"
                    "[sites.board.metadata]\ntitle = \"h1::text\"\n")  # fmt: skip
    [site] = SiteRegistry.load(path)
    assert (site.start_urls, site.max_links, site.delay, site.metadata) == (
        ("https://board.example/",), 300, 2, {"title": "h1::text"},
    )  # fmt: skip


def test_a_failed_save_names_the_path_it_could_not_write(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    registry = SiteRegistry(tmp_path / "blocker" / "sub" / "sites.toml", [Site("board", ("https://board.example/",))])
    with pytest.raises(OSError) as raised:
        registry.save()
    assert (raised.value.errno, raised.value.filename) == (errno.ENOTDIR, str(tmp_path / "blocker" / "sub"))


def test_the_readme_example_is_a_valid_registry(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "sites.toml"
    path.write_text(example)
    [board] = SiteRegistry.load(path)
    assert (board.max_pages, board.max_links, board.metadata["uploaded"]) == (2000, 5000, "time::attr(datetime)")
