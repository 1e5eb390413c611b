from __future__ import annotations

import pytest

from crawler.errors import SiteConfigError, UnknownSite
from crawler.sites import Site, SiteRegistry, interval_seconds


def test_registry_round_trips_through_toml(tmp_path):
    path = tmp_path / "sites.toml"
    registry = SiteRegistry.load(path)
    assert len(registry) == 0
    registry.add(Site("board", ("https://board.example/b/",), every="6h", delay=1.5, extra={"abuse": "a@x.example"}))
    registry.save()
    [site] = list(SiteRegistry.load(path))
    assert site.allowed_domains == ("board.example",)  # from the start URL
    assert (site.every, site.delay, site.extra) == ("6h", 1.5, {"abuse": "a@x.example"})
    assert interval_seconds(site.every) == 6 * 3600
    with pytest.raises(SiteConfigError, match="already exists"):
        registry.add(Site("board", ("https://board.example/",)))
    with pytest.raises(UnknownSite, match="spreadtrace site list"):
        registry.get("tube")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "name must be"),
        ({"start_urls": ("ftp://x.example/",)}, "not an http"),
        ({"start_urls": ("http://",)}, "not an http"),
        ({"start_urls": ()}, "start_urls is empty"),
        ({"every": "soon"}, "not an interval"),
        ({"every": "0h"}, "not an interval"),
        ({"delay": -1.0}, "delay"),
    ],
)
def test_bad_site_entries_name_the_field(kwargs, message):
    fields = {"name": "ok", "start_urls": ("https://ok.example/",), **kwargs}
    with pytest.raises(SiteConfigError, match=message):
        Site(**fields)


def test_bad_files_name_the_file(tmp_path):
    broken = tmp_path / "sites.toml"
    broken.write_text("[sites.board\nstart_urls = 3")
    with pytest.raises(SiteConfigError, match=str(broken)):
        SiteRegistry.load(broken)
    broken.write_text('[sites.board]\nevery = "6h"\n')
    with pytest.raises(SiteConfigError, match="has no start_urls"):
        SiteRegistry.load(broken)
