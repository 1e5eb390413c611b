"""Homes for the dashboard tests that change the record (reviews, notices): `tests.report_case`'s case,
recorded once per module, with the dashboard's accounts, a second review candidate whose capture is kept
(so its preview shows), a second case with a candidate of its own, and a site registry naming abuse
contacts; each test then works on a copy of its own, so tests stay independent. `serving` runs an app
under a real uvicorn on a free port, for Chromium."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from crawler.sites import Site, SiteRegistry
from dashboards.web.accounts import add_account
from matcher import hash_media
from simsites.corpus import TRANSFORMS, encode, sample_image
from tests.report_case import CASE, LAST_CHECK, hash_sha256, record_case, url
from tests.test_dashboard import PASSWORD
from tests.test_tracker_store_contract import sighting
from tracker import Observation, PageState, Verdict
from tracker.models import HttpExchange, Sighting
from tracker.states import Role

OTHER_CASE = "victim-9"
# The site registry's abuse contacts: the wiki has none, so its notices are drafted flagged.
CONTACTS = {"board": "abuse@board.example", "tube": "abuse@tube.example", "forum": "abuse@forum.example",
            "mirror": "abuse@mirror.example", "wiki": None}  # fmt: skip
CANDIDATE_SEEN = "2026-04-09T10:00:00Z"


def record_home(home: Path, hash_options, policy) -> Path:  # type: ignore[no-untyped-def]
    recorded = record_case(home, hash_options, policy)
    store = recorded.store
    for name, role in (("ada", Role.ADMIN), ("ana", Role.ANALYST), ("vic", Role.VIEWER)):
        add_account(store, name, role, PASSWORD)
    rocket = next(r for r in store.references(CASE) if r.label == "rocket.png")
    data, _ = TRANSFORMS["watermarked"].apply(sample_image("rocket"))
    page_url, media_url = url("tube.example", "/watch/12"), url("tube.example", "/media/0012roc.jpg")
    candidate = store.save_sighting(sighting(
        rocket.id, case_id=CASE, page_url=page_url, host="tube.example", site="tube", media_url=media_url,
        sha256=hash_sha256(data), first_seen=CANDIDATE_SEEN, last_seen=LAST_CHECK, status_at=CANDIDATE_SEEN,
        verdict=Verdict.NEEDS_REVIEW, confidence=0.48, distance=40, decided_by="pdq+phash", signals=(
            {"kind": "pdq", "distance": 40, "threshold": 31, "agreed": False},
            {"kind": "phash", "distance": 8, "threshold": 10, "agreed": True},
            {"kind": "orb", "distance": None, "threshold": 20, "agreed": False, "inliers": 7, "spread": 0.012},
        ),
    ), [], expected_revision=None)  # fmt: skip
    assert candidate is not None and recorded.tracker.evidence is not None
    observation = Observation(CANDIDATE_SEEN, media_url, page_url, site="tube", http_status=200, sha256=candidate.sha256,
                              content_type="image/jpeg", size=len(data), page_state=PageState.SHOWN)  # fmt: skip
    recorded.tracker.evidence.capture(candidate, "first seen", observation, [
        HttpExchange(page_url, CANDIDATE_SEEN, 200, (("Content-Type", "text/html"),), b"<html><body>a clip</body></html>"),
        HttpExchange(media_url, CANDIDATE_SEEN, 200, (("Content-Type", "image/jpeg"),), data),
    ])  # fmt: skip
    store.ensure_case(OTHER_CASE)
    recorded.tracker.add_reference(OTHER_CASE, hash_media(encode(sample_image("moon"), "PNG"), hash_options, reference=True), "moon.png")
    moon = store.references(OTHER_CASE)[0]
    store.save_sighting(sighting(
        moon.id, case_id=OTHER_CASE, page_url=url("forum.example", "/forum/topic/9"), host="forum.example", site="forum",
        media_url=url("forum.example", "/media/9.jpg"), sha256="c" * 64, first_seen="2026-04-01T08:00:00Z",
        last_seen=LAST_CHECK, verdict=Verdict.NEEDS_REVIEW, confidence=0.5, distance=36,
    ), [], expected_revision=None)  # fmt: skip
    registry = SiteRegistry(home / "sites.toml", [Site(name, (url(f"{name}.example", "/"),), abuse_contact=contact)
                                                  for name, contact in CONTACTS.items()])  # fmt: skip
    registry.save()
    recorded.close()
    return home


def copy_home(recorded: Path, where: Path) -> Path:
    """A copy of a recorded home (its store closed), for one test to change."""
    return Path(shutil.copytree(recorded, where / "home"))


def candidates(store) -> dict[str, Sighting]:  # type: ignore[no-untyped-def]
    """The two review candidates of the case, by name: the fixture's (no capture) and ours (captured)."""
    waiting = store.awaiting_review(CASE)
    return {"captured": next(s for s in waiting if s.first_seen == CANDIDATE_SEEN),
            "bare": next(s for s in waiting if s.first_seen != CANDIDATE_SEEN)}  # fmt: skip


@contextmanager
def serving(asgi) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    served = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    while not served.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        served.should_exit = True
        thread.join(10)
