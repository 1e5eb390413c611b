from __future__ import annotations

import json

from parsel import Selector

from crawler.discovery import discover_media, largest_srcset_candidate, page_claimed_time, srcset_candidates

BASE = "http://board.example/b/thread/1"


def media(html: str) -> dict[str, tuple[str, str | None, str | None]]:
    return {m.url: (m.found_in, m.claimed_at, m.claimed_source) for m in discover_media(Selector(text=html), BASE)}


def test_images_in_every_place_boards_and_forums_put_them():
    html = """<html><body>
      <article><time datetime="2026-01-05T22:14:00+01:00">5 Jan</time>
        <img class="lazy" src="data:image/gif;base64,R0lGOD" data-src="/i/1.jpg"></article>
      <article><time datetime="2026-01-06">6 Jan</time>
        <picture><source srcset="/i/2.webp 1x, /i/2@2x.webp 2x" type="image/webp"><img src="/i/2.jpg"></picture>
      </article>
      <div><img src="small.jpg" srcset="small.jpg 480w, https://cdn.example/large.jpg 1600w"></div>
      <img data-lazy-srcset="/i/3-a.png 100w, /i/3-b.png 300w">
      <a href="#"><img src="#top"></a>
    </body></html>"""
    found = media(html)
    assert found["http://board.example/i/1.jpg"] == ("img[data-src]", "2026-01-05T21:14:00Z", "html:time")
    assert found["http://board.example/i/2@2x.webp"][1:] == ("2026-01-06T00:00:00Z", "html:time")
    assert "http://board.example/i/2.jpg" in found
    assert "http://board.example/i/2.webp" not in found  # the largest candidate only
    assert "https://cdn.example/large.jpg" in found and "http://board.example/b/thread/small.jpg" in found
    assert "http://board.example/i/3-b.png" in found
    assert not any(url.startswith("data:") or url.endswith("#top") for url in found)


def test_tube_page_og_image_and_json_ld_with_upload_date():
    ld = {"@context": "https://schema.org", "@graph": [
        {"@type": "VideoObject", "uploadDate": "2026-02-01T19:30:00Z", "thumbnailUrl": ["/t/7.jpg"],
         "contentUrl": "/v/7.mp4"},
        {"@type": "ImageObject", "contentUrl": "/poster/7.png"},
    ]}  # fmt: skip
    html = f"""<html><head><meta property="og:image" content="https://tube.example/og/7.jpg">
      <meta name="twitter:image" content="/tw/7.jpg">
      <script type="application/ld+json">{json.dumps(ld)}</script>
      <script type="application/ld+json">{{not json</script></head><body></body></html>"""
    found = media(html)
    claim = ("2026-02-01T19:30:00Z", "json-ld:uploadDate")
    assert found["https://tube.example/og/7.jpg"] == ("meta:og:image", *claim)
    assert found["http://board.example/tw/7.jpg"][0] == "meta:twitter:image"
    assert found["http://board.example/t/7.jpg"] == ("json-ld", *claim)
    assert "http://board.example/poster/7.png" in found
    assert found["http://board.example/v/7.mp4"] == ("json-ld:contentUrl", *claim)
    kinds = {m.url: m.kind for m in discover_media(Selector(text=html), BASE)}
    assert kinds["http://board.example/v/7.mp4"] == "video" and kinds["http://board.example/t/7.jpg"] == "image"


def test_videos_in_players_and_meta_tags_are_found_as_video():
    html = """<html><head><meta property="og:video" content="https://cdn.example/og/9.mp4">
      <meta property="og:video:secure_url" content="https://cdn.example/og/9-secure.mp4"></head><body>
      <article><time datetime="2026-04-02T10:00:00Z">2 Apr</time>
        <video poster="/p/1.jpg" controls><source src="/v/1.webm" type="video/webm"><source src="/v/1.mp4"></video>
      </article>
      <video src="/v/2.mp4" data-src="/v/2-hd.mp4"></video>
      <video src="blob:https://board.example/5d1c"></video>
    </body></html>"""
    found = {m.url: m for m in discover_media(Selector(text=html), BASE)}
    for url in ("http://board.example/v/1.webm", "http://board.example/v/1.mp4", "http://board.example/v/2.mp4",
                "http://board.example/v/2-hd.mp4", "https://cdn.example/og/9.mp4", "https://cdn.example/og/9-secure.mp4"):
        assert found[url].kind == "video", url
    assert found["http://board.example/p/1.jpg"].kind == "image"  # the poster is a picture
    assert found["http://board.example/v/1.mp4"].claimed_at == "2026-04-02T10:00:00Z"  # the post's own time
    assert not any(url.startswith("blob:") for url in found)  # a media-source stream has no URL to fetch


def test_page_time_falls_back_to_meta_then_a_lone_time_element():
    meta = '<meta property="article:published_time" content="2026-03-01T08:00:00Z">'
    assert page_claimed_time(Selector(text=f"<html><head>{meta}</head></html>")) == (
        "2026-03-01T08:00:00Z", "meta:article:published_time",
    )  # fmt: skip
    assert page_claimed_time(Selector(text='<p><time datetime="2026-03-02">x</time></p>'))[1] == "html:time"
    two = '<time datetime="2026-03-02">x</time><time datetime="2026-03-03">y</time>'
    assert page_claimed_time(Selector(text=two)) == (None, None)  # whose time? not the page's
    assert page_claimed_time(Selector(text='<time datetime="last tuesday">x</time>')) == (None, None)


def test_largest_srcset_candidate():
    assert largest_srcset_candidate("a.jpg 480w, b.jpg 1024w, c.jpg 800w") == "b.jpg"
    assert largest_srcset_candidate("a.jpg, b.jpg 2x") == "b.jpg"
    assert largest_srcset_candidate("  ") is None


def test_srcset_urls_with_commas_and_every_descriptor_are_split_as_browsers_split_them():
    """A CDN's transformation URLs hold commas; a gallery offers a 120 px thumbnail beside the full
    picture: the largest rendition is the one hashed, whatever the URL looks like."""
    cdn = ("https://cdn.example/image/upload/w_120,h_80,c_fill/a.jpg 120w, "
           "https://cdn.example/image/upload/w_1600,h_1067,c_fill/a.jpg 1600w, "
           "https://cdn.example/image/upload/w_480,h_320,c_fill/a.jpg 480w")  # fmt: skip
    assert largest_srcset_candidate(cdn) == "https://cdn.example/image/upload/w_1600,h_1067,c_fill/a.jpg"
    assert [url for url, _ in srcset_candidates("a.jpg,, b.jpg 2x,  ,c.jpg 3x")] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [url for url, _ in srcset_candidates("a.jpg,b.jpg 2x")] == ["a.jpg,b.jpg"]  # as a browser reads it
    assert largest_srcset_candidate("thumb.jpg 180w 120h, big.jpg 1200w 800h") == "big.jpg"
    assert largest_srcset_candidate("a.jpg 2x, b.jpg 240w") == "b.jpg"  # a width says more than a density
    assert largest_srcset_candidate("a.jpg 300w, b.jpg nonsense, c.jpg -5w, d.jpg 0x") == "a.jpg"
    assert list(srcset_candidates("x.jpg 1x (odd, note), y.jpg 2x")) == [("x.jpg", ["1x", "(odd, note)"]), ("y.jpg", ["2x"])]
