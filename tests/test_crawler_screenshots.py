"""Screenshots of captured pages: real headless Chromium (Debian's, through Playwright's executable_path)
against pages served on loopback, sealed into a real vault; the private-address guard, timeouts, login
walls and tall pages; the pool that owes what it could not take."""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from crawler.screenshot_worker import ShotFailed, ShotJob, ShotSettings, close_worker, init_worker, shoot
from crawler.screenshots import ScreenshotPool
from crawler.sites import Site
from simsites.server import Resource, SiteServer, redirect
from tracker.evidence import Collector, EvidenceRecorder, open_vault
from tracker.evidence.custody import CustodyEntry
from tracker.evidence.vault import artefacts_of
from tracker.models import Sighting
from tracker.states import Status

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)")

RED_PAGE = b"<html><body style='margin:0;background:#d00000'><h1>copy</h1><img src='/pic.png'></body></html>"


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def site():
    server = SiteServer("shots", "127.0.0.1")
    server.resources.update({
        "/page": Resource(RED_PAGE),
        "/pic.png": Resource(png((0, 200, 0)), "image/png"),
        "/elsewhere": Resource(b"<html><body><img src='http://127.0.0.2:9/x.png'>"
                               b"<iframe src='http://169.254.169.254/latest/meta-data/'></iframe></body></html>"),
        "/login": Resource(b"<html><body><form><input name=u><input type=password name=p></form></body></html>"),
        "/forbidden": Resource(b"<h1>no</h1>", status=403),
        "/slow": Resource(b"<html>late</html>", delay=8),
        "/moved": redirect("/page"),
        "/tall": Resource(b"<html><body style='margin:0'><div style='height:50000px;background:#00f'></div></body></html>"),
    })  # fmt: skip
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module", autouse=True)
def browser_closed_after():
    yield
    close_worker()  # the tests run `shoot` in this process: its Chromium goes with the module


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def settings(home, **overrides) -> ShotSettings:
    base = dict(home=str(home), keys="", chromium=shutil.which("chromium") or "", organisation="Helpline",
                analyst="ana", tool="spreadtrace/test", user_agent="spreadtrace-test", timeout_s=4.0, max_height=3000)  # fmt: skip
    return ShotSettings(**{**base, **overrides})  # type: ignore[arg-type]


def job(site: SiteServer, path: str, *, own_host: bool = True, sighting: int = 7) -> ShotJob:
    own = Site("shots", (site.url("/page"),), (site.host,), allow_private=True) if own_host else None
    return ShotJob("case-1", sighting, 1, site.url(path), own)


def entry_of(home, seq: int) -> CustodyEntry:
    return next(e for e in open_vault(home).custody("case-1").entries() if e.seq == seq)


def picture_of(home, entry: CustodyEntry) -> Image.Image:
    [artefact] = [a for a in artefacts_of(entry) if a.role == "screenshot"]
    assert artefact.media_type == "image/png"
    return Image.open(io.BytesIO(b"".join(open_vault(home).read("case-1", artefact.sha256)))).convert("RGB")


def test_a_screenshot_is_sealed_as_a_custody_entry_with_its_record(site, home):
    init_worker(settings(home))
    entry = entry_of(home, shoot(job(site, "/page")))
    assert entry.kind == "screenshot" and entry.actor == "ana"
    detail = entry.detail
    assert (detail["sighting"], detail["capture_seq"], detail["page_url"], detail["http_status"]) == (7, 1, site.url("/page"), 200)
    assert detail["final_url"] == site.url("/page") and detail["truncated"] is False and detail["browser"].startswith("Chromium ")
    assert detail["collector"] == {"organisation": "Helpline", "analyst": "ana"} and detail["taken_at"].endswith("Z")
    picture = picture_of(home, entry)
    assert picture.width == 1280
    assert picture.getpixel((1000, 700)) == (208, 0, 0)  # the page's own background: rendered, not blank
    greens = sum(1 for x in range(0, 300, 2) for y in range(0, 300, 2) if picture.getpixel((x, y)) == (0, 200, 0))
    assert greens > 50  # the picture on the page, fetched from the site's own (allowed) host
    assert site.log[-1][2] == "spreadtrace-test (screenshot)"  # the crawl's User-Agent, marked as the screenshot's


def responses_in(home, entry: CustodyEntry) -> list[tuple[str, str, bytes]]:
    [warc] = [a for a in artefacts_of(entry) if a.role == "warc"]
    with io.BytesIO(b"".join(open_vault(home).read("case-1", warc.sha256))) as stream:
        return [(r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode(), r.content_stream().read())
                for r in ArchiveIterator(stream, check_digests="raise") if r.rec_type == "response"]  # fmt: skip


def test_the_page_as_chromium_fetched_it_is_kept_with_its_redirects(site, home):
    init_worker(settings(home))
    entry = entry_of(home, shoot(job(site, "/moved")))
    assert entry.detail["final_url"] == site.url("/page") and entry.detail["document_in_warc"] is True
    assert responses_in(home, entry) == [(site.url("/moved"), "302", b""), (site.url("/page"), "200", RED_PAGE)]


def test_requests_to_private_hosts_the_site_does_not_cover_are_refused(site, home):
    init_worker(settings(home))
    entry = entry_of(home, shoot(job(site, "/elsewhere")))
    refused = entry.detail["refused_requests"]
    assert any(r.startswith("http://127.0.0.2:9/x.png: 127.0.0.2 is a private address") for r in refused)
    assert any(r.startswith("http://169.254.169.254/latest/meta-data/: 169.254.169.254 is a private") for r in refused)


def test_a_page_on_a_private_host_not_allowed_is_blocked(site, home):
    init_worker(settings(home))
    with pytest.raises(ShotFailed, match=r"^blocked: http://127\.0\.0\.1:\d+/page: 127\.0\.0\.1 is a private address"):
        shoot(job(site, "/page", own_host=False))


@pytest.mark.parametrize("path, reason", [
    ("/login", r"^login wall: .*/login shows a password field$"),
    ("/forbidden", r"^blocked: .*/forbidden answered HTTP 403 \(forbidden\)$"),
    ("/slow", r"^timeout: .*/slow did not load within 4 s$"),
])  # fmt: skip
def test_a_screenshot_that_cannot_be_taken_says_why(site, home, path, reason):
    init_worker(settings(home))
    with pytest.raises(ShotFailed, match=reason):
        shoot(job(site, path))
    assert not open_vault(home).cases()  # nothing recorded for it


def test_a_tall_page_is_cut_at_the_height_limit_and_says_so(site, home):
    init_worker(settings(home, max_height=2000))
    entry = entry_of(home, shoot(job(site, "/tall")))
    assert entry.detail["truncated"] is True and entry.detail["page_height"] == 50000
    picture = picture_of(home, entry)
    assert picture.size == (1280, 2000) and picture.getpixel((640, 1990)) == (0, 0, 255)


def sighting(site: SiteServer, path: str, number: int) -> Sighting:
    return Sighting(number, "case-1", 1, site.url("/pic.png"), site.url(path), site.host, "shots", None,
                    "2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z", Status.ONLINE, 0, "pdq")  # fmt: skip


def test_the_pool_settles_what_it_took_and_owes_what_it_could_not(site, home):
    vault = open_vault(home)
    recorder = EvidenceRecorder(vault, Collector("Helpline", "ana", "spreadtrace/test"))
    shots = {"shots": Site("shots", (site.url("/page"),), (site.host,), allow_private=True)}
    pool = ScreenshotPool(settings(home), 1, 2, shots, recorder)
    capture = vault.record("case-1", "capture", "ana", {"sighting": 1})
    try:
        wanted = [sighting(site, "/page", 1), sighting(site, "/login", 2), sighting(site, "/page", 3), sighting(site, "/page", 4)]
        for s in wanted:
            recorder.owe(s, "screenshot", "screenshot pending", failed=False)
        answers = [pool.request(s, capture) for s in wanted]
    finally:
        pool.close(wait_s=60)
    assert answers[:2] == [None, None] and answers[2:] == ["not taken: 2 screenshots were already waiting"] * 2
    owed = vault.owed("case-1")
    assert set(owed) == {2, 3, 4}  # 1 was taken; 3 and 4 still say "pending" until the next visit
    assert owed[2].what == "screenshot" and owed[2].reason.startswith("login wall:") and owed[2].attempts == 1
    taken = [e for e in vault.custody("case-1").entries() if e.kind == "screenshot"]
    assert [e.detail["sighting"] for e in taken] == [1]
