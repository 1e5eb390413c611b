"""A realistic case for the report's pictures, recorded through the real Tracker, journal and evidence vault.

The simulated world's shape (`simsites.world`) on named hosts: the coffee picture first on a board thread,
then on a tube site, linked from a forum post, re-posted on a mirror by the tube uploader under another
capitalisation, and on a wiki that takes it down. Observations move the copies as crawls would: a board
thread taken down and re-posted, the wiki's file removed for good. Captures are real sealed WARCs (the
media's bytes in them); some sightings also have a screenshot (a generated page picture), as the crawler's
screenshot pool will record them. A gray-zone candidate older than everything stands beside the first
appearance. Pictures are scikit-image samples and generated ones: no person's image.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw

from matcher import HashOptions, MatchPolicy, hash_media
from simsites.corpus import TRANSFORMS, encode, generated_image, sample_image
from tests.test_tracker_store_contract import sighting
from tracker import ClaimState, Observation, PageOutcome, PageRole, PageState, Tracker, Verdict, open_store
from tracker.evidence import Collector, EvidenceRecorder, EvidenceVault, open_vault
from tracker.evidence.vault import Artefact
from tracker.models import HttpExchange, PageVisit, Sighting

CASE = "victim-7"
SITES = {"board.example": "board", "tube.example": "tube", "forum.example": "forum", "mirror.example": "mirror",
         "wiki.example": "wiki"}  # fmt: skip
LAST_CHECK = "2026-04-10T09:00:00Z"


@dataclass(frozen=True)
class Copy:
    name: str
    site: str
    page_url: str
    reference: str
    transform: str
    claimed_at: str | None
    seen_at: str
    uploader: str | None = None
    links: tuple[str, ...] = ()
    screenshot: bool = False


def url(host: str, path: str) -> str:
    return f"https://{host}{path}"


COPIES = (
    Copy("board", "board", url("board.example", "/b/thread/2"), "coffee", "reencoded", "2026-01-05T22:14:00Z",
         "2026-03-02T09:00:00Z", screenshot=True),
    Copy("tube-coffee", "tube", url("tube.example", "/watch/3"), "coffee", "resized", "2026-01-12T08:00:00Z",
         "2026-03-02T09:05:00Z", uploader="nightowl_77"),
    Copy("tube-rocket", "tube", url("tube.example", "/watch/7"), "rocket", "watermarked", "2026-02-01T19:30:00Z",
         "2026-03-02T09:06:00Z", uploader="nightowl_77", screenshot=True),
    Copy("forum-rocket", "forum", url("forum.example", "/forum/topic/2"), "rocket", "webp", "2026-02-10T12:00:00Z",
         "2026-03-02T09:10:00Z", uploader="lurker",
         links=(url("tube.example", "/watch/7"), url("board.example", "/b/thread/2"), url("imgdrop.example", "/i/8xk2"))),
    Copy("forum-chelsea", "forum", url("forum.example", "/forum/topic/4"), "chelsea", "watermarked",
         "2026-02-20T09:45:00Z", "2026-03-02T09:11:00Z",
         links=(url("imgdrop.example", "/i/9zz1"), url("dropfiles.example", "/f/ab12"), url("forum.example", "/forum/"))),
    Copy("mirror", "mirror", url("mirror.example", "/gallery/991"), "chelsea", "mirrored", "2026-02-25T18:00:00Z",
         "2026-03-02T09:20:00Z", uploader="NightOwl_77 "),
    Copy("wiki", "wiki", url("wiki.example", "/wiki/File:Coffee_cup.jpg"), "coffee", "reencoded", None,
         "2026-03-03T10:00:00Z"),
)  # fmt: skip
# (copy, time, what the page showed): a takedown and a re-post on the board, the wiki's for good.
MOVES = (
    ("board", "2026-03-20T09:00:00Z", PageState.REMOVED),
    ("wiki", "2026-03-25T10:00:00Z", PageState.REMOVED),
    ("board", "2026-04-03T09:00:00Z", PageState.SHOWN),
)


@dataclass
class RecordedCase:
    home: Path
    tracker: Tracker
    vault: EvidenceVault
    sightings: dict[str, Sighting] = field(default_factory=dict)  # by Copy.name
    media: dict[str, bytes] = field(default_factory=dict)  # the copies' bytes, by Copy.name
    screenshots: dict[str, bytes] = field(default_factory=dict)  # the PNGs kept, by Copy.name
    candidate: Sighting | None = None

    @property
    def store(self):  # type: ignore[no-untyped-def]
        return self.tracker.store

    def close(self) -> None:
        self.tracker.store.close()


def known_site(link: str) -> str | None:
    """The site registry's word, as `SiteRegistry.site_of` gives it."""
    return SITES.get(link.split("/")[2])


def record_case(home: Path, hash_options: HashOptions, policy: MatchPolicy) -> RecordedCase:
    home.mkdir(parents=True, exist_ok=True)
    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    tracker = Tracker(store, policy)
    vault = open_vault(home)
    tracker.evidence = EvidenceRecorder(vault, Collector("Helpline", "analyst-1", "spreadtrace/test"))
    recorded = RecordedCase(home, tracker, vault)
    store.ensure_case(CASE)
    references = {name: hash_media(encode(sample_image(name), "PNG"), hash_options, reference=True)
                  for name in ("coffee", "rocket", "chelsea")}  # fmt: skip
    for name, hashes in references.items():
        tracker.add_reference(CASE, hashes, f"{name}.png")
    by_name = {copy.name: copy for copy in COPIES}
    for n, copy in enumerate(COPIES):
        data, ext = TRANSFORMS[copy.transform].apply(sample_image(copy.reference))
        recorded.media[copy.name] = data
        tracker.record_media(hash_media(data, hash_options))
        media_url = url(copy.page_url.split("/")[2], f"/media/{n:04d}{copy.reference[:3]}.{ext}")
        visit = f"{copy.site}-first"
        tracker.visits.begin(copy.site, visit_id=visit)
        [found] = _observe(tracker, copy, media_url, copy.seen_at, PageState.SHOWN, data, visit)
        recorded.sightings[copy.name] = found
        metadata = {"uploader": {"value": copy.uploader, "source": "meta:author"}} if copy.uploader else {}
        tracker.visits.finish_page(PageVisit(visit, copy.page_url, PageRole.LINK, ClaimState.DONE, 200, copy.page_url,
                                             PageOutcome.ONLINE, None, metadata),
                                   [(link, known_site(link)) for link in copy.links])  # fmt: skip
        if copy.screenshot:
            recorded.screenshots[copy.name] = _screenshot(vault, found, data)
    for name, at, state in MOVES:
        copy, found = by_name[name], recorded.sightings[name]
        _observe(tracker, copy, found.media_url, at, state, recorded.media[name], f"{copy.site}-{at[:10]}")
    for name, found in recorded.sightings.items():  # the last visit: everything as it now stands
        copy = by_name[name]
        state = PageState.REMOVED if name == "wiki" else PageState.SHOWN
        _observe(tracker, copy, found.media_url, LAST_CHECK, state, recorded.media[name], f"{copy.site}-last")
    recorded.sightings = {name: next(s for s in store.sightings(CASE) if s.id == found.id)
                          for name, found in recorded.sightings.items()}  # fmt: skip
    reference = store.references(CASE)[0].id
    recorded.candidate = store.save_sighting(sighting(
        reference, case_id=CASE, page_url=url("board.example", "/b/thread/1"), host="board.example", site="board",
        media_url=url("board.example", "/media/0099cof.jpg"), first_seen="2026-03-02T09:01:00Z",
        last_seen=LAST_CHECK, claimed_at="2025-12-30T21:00:00Z", claimed_source="html:time",
        verdict=Verdict.NEEDS_REVIEW, confidence=0.55, distance=38, status_at="2026-03-02T09:01:00Z",
    ), [], expected_revision=None)  # fmt: skip
    return recorded


def _observe(tracker: Tracker, copy: Copy, media_url: str, at: str, state: PageState, data: bytes,
             visit: str) -> list[Sighting]:  # fmt: skip
    shown = state is PageState.SHOWN
    sha256 = hash_sha256(data) if shown else None
    observation = Observation(
        at, media_url, copy.page_url, site=copy.site, http_status=200 if shown else 404, sha256=sha256,
        content_type="image/jpeg" if shown else None, size=len(data) if shown else None,
        claimed_at=copy.claimed_at if shown else None, claimed_source="html:time" if copy.claimed_at and shown else None,
        visit_id=visit, page_state=state, note=None if shown else "page 404",
    )  # fmt: skip
    page = HttpExchange(copy.page_url, at, 200 if shown else 404, (("Content-Type", "text/html"),),
                        b"<html><body>a post</body></html>" if shown else b"<h1>gone</h1>", ip="203.0.113.7")  # fmt: skip
    exchanges: Callable[[], list[HttpExchange]] = lambda: [page] + (
        [HttpExchange(media_url, at, 200, (("Content-Type", "image/jpeg"),), data, ip="203.0.113.8")] if shown else []
    )  # fmt: skip
    return tracker.observe(observation, exchanges)


def hash_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _screenshot(vault: EvidenceVault, found: Sighting, media: bytes) -> bytes:
    """A full-page screenshot as the crawler's pool records it: a generated page with the copy on it."""
    page = generated_image(found.id, (800, 1000)).convert("RGB")
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 800, 60), fill=(40, 40, 60))
    draw.text((20, 22), found.page_url, fill=(255, 255, 255))
    with Image.open(io.BytesIO(media)) as copy:
        copy.thumbnail((600, 600))
        page.paste(copy.convert("RGB"), (100, 120))
    png = encode(page, "PNG")
    captures = [e for e in vault.custody(found.case_id).entries() if e.kind == "capture" and e.detail.get("sighting") == found.id]
    vault.record(found.case_id, "screenshot", "analyst-1", {
        "sighting": found.id, "capture_seq": captures[-1].seq, "page_url": found.page_url, "final_url": found.page_url,
        "taken_at": found.first_seen, "http_status": 200, "viewport": {"width": 800, "height": 1000},
        "page_height": 1000, "truncated": False, "browser": "Chromium test", "collector": "Helpline / analyst-1",
        "tool": "spreadtrace/test",
    }, [Artefact("screenshot", "image/png", png)])  # fmt: skip
    return png
