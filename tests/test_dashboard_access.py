"""The dashboard's locks and the account's own choices: cases restricted to named accounts (404 for the
rest, on every page), a logout that ends every copy of the session cookie, blur strength and a daily reveal
limit, the admin's audit page, the case's evidence (per sighting, and verified on request) and still frames
for video previews. The real app over a case recorded through the real Tracker and vault; a real browser
for the admin's pages. Screenshots go to /tmp/shots/dash-*.png."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dashboards.web.audit import PAGE
from spreadtrace.cli import main
from tests import test_dashboard
from tests.report_case import CASE
from tests.test_dashboard import SHOTS, browser_login, client, home_with_accounts, logged_in, token
from tests.test_tracker_store_contract import sighting
from simsites.videos import write_video
from tracker.clock import utc_now
from tracker.evidence import Collector, EvidenceRecorder, open_vault
from tracker.evidence.stills import still_frame
from tracker.models import AuditEvent, HttpExchange, Observation
from tracker.pictures.previews import kept_previews
from tracker.states import Role

ACCOUNTS = (("ada", Role.ADMIN), ("ana", Role.ANALYST), ("bob", Role.ANALYST), ("vic", Role.VIEWER), ("lim", Role.ANALYST))


@pytest.fixture(scope="module")
def home(tmp_path_factory, hash_options, policy):
    return home_with_accounts(tmp_path_factory.mktemp("dashboard-access") / "home", hash_options, policy, ACCOUNTS, "other-case")


app = test_dashboard.app  # test_dashboard's app, real uvicorn and headless Chromium, over this module's home
server = test_dashboard.server
browser = test_dashboard.browser


@pytest.fixture
def open_case(app):
    yield
    app[0].store.restrict_case(CASE, [])


def kept_sighting(app) -> int:
    return next(s.id for s in app[0].store.sightings(CASE) if s.verdict == "match" and not s.rejected)


def post(c, path: str, page: str, **data):
    return c.post(path, data={"csrftoken": token(c.get(page).text), **data})


# -- restricted cases -----------------------------------------------------------------------------------

def test_a_case_restricted_to_named_analysts_is_not_found_by_the_others_on_any_page(app, open_case):
    ada, ana, bob = logged_in(app, "ada"), logged_in(app, "ana"), logged_in(app, "bob")
    answer = post(ada, f"/cases/{CASE}/access", f"/cases/{CASE}", names="ana")
    assert answer.status_code == 303 and app[0].store.case_access() == {CASE: frozenset({"ana"})}
    first = kept_sighting(app)
    for path in (f"/cases/{CASE}", f"/cases/{CASE}/pictures.json", f"/cases/{CASE}/sightings/{first}/preview"):
        assert bob.get(path).status_code == 404, path
        assert ana.get(path).status_code == 200 and ada.get(path).status_code == 200, path
    assert bob.post(f"/cases/{CASE}/sightings/{first}/reveal", data={"csrftoken": token(bob.get("/cases").text)}).status_code == 404
    assert bob.get(f"/cases/{CASE}/nonexistent").status_code == 404  # the same answer as a case that does not exist
    assert f"/cases/{CASE}" not in bob.get("/cases").text and "/cases/other-case" in bob.get("/cases").text
    assert f"/cases/{CASE}" in ana.get("/cases").text
    [event] = app[0].store.recent_audit_events(action="case-access", limit=1)
    assert (event.actor, event.case_id, event.detail["open_to"]) == ("ada", CASE, ["ana"])


def test_a_restricted_case_is_left_out_of_the_review_queue_takedowns_and_overview_of_the_others(app, open_case):
    app[0].store.restrict_case(CASE, ["ana"])
    bob, ana = logged_in(app, "bob"), logged_in(app, "ana")
    candidate = next(s.id for s in app[0].store.sightings(CASE) if s.verdict == "needs_review")
    assert CASE in ana.get("/review").text and CASE not in bob.get("/review").text
    assert bob.get("/review", params={"case": CASE}).status_code == 404
    assert f'value="{CASE}"' in ana.get("/takedowns").text and f'value="{CASE}"' not in bob.get("/takedowns").text
    assert bob.get("/overview.json").json()["sightings"] == 0 < ana.get("/overview.json").json()["sightings"]
    assert bob.post(f"/review/{candidate}/confirm", data={"csrftoken": token(bob.get("/review").text), "why": "a guess"}).status_code == 404


def test_only_admins_restrict_and_unknown_names_are_refused(app, open_case):
    ana, ada = logged_in(app, "ana"), logged_in(app, "ada")
    assert post(ana, f"/cases/{CASE}/access", f"/cases/{CASE}", names="ana").status_code == 403
    refused = post(ada, f"/cases/{CASE}/access", f"/cases/{CASE}", names="ana anna")
    assert refused.status_code == 400 and "no account called anna" in refused.text
    assert app[0].store.case_access() == {}


def test_case_restrict_on_the_command_line(app, home, capsys, open_case):
    assert main(["--home", str(home), "case", "restrict", CASE, "bob"]) == 0
    assert app[0].store.case_access() == {CASE: frozenset({"bob"})}
    assert main(["--home", str(home), "case", "restrict", CASE, "nobody"]) != 0
    assert "no dashboard account called nobody" in capsys.readouterr().err
    assert main(["--home", str(home), "case", "restrict", CASE, "--everyone"]) == 0
    assert app[0].store.case_access() == {}


# -- sessions --------------------------------------------------------------------------------------------

def test_after_a_logout_a_copy_of_the_session_cookie_is_worth_nothing(app):
    c = logged_in(app, "bob")
    kept = dict(c.cookies)
    assert c.post("/logout", data={"csrftoken": token(c.get("/cases").text)}).status_code == 303
    replayed = client(app)
    replayed.cookies.update(kept)
    answer = replayed.get("/cases")
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert logged_in(app, "bob").get("/cases").status_code == 200  # a new login is a new session


# -- the account's own choices ---------------------------------------------------------------------------

def sharpness(jpeg: bytes) -> float:
    """Mean brightness step between neighbouring pixels: blur flattens it."""
    with Image.open(io.BytesIO(jpeg)) as image:
        dy, dx = np.gradient(np.asarray(image.convert("L"), dtype=float))
    return float(np.abs(dx).mean() + np.abs(dy).mean())


def test_a_stronger_blur_chosen_in_settings_gives_a_blurrier_preview(app):
    c = logged_in(app, "bob")
    path = f"/cases/{CASE}/sightings/{kept_sighting(app)}/preview"
    assert post(c, "/settings", "/settings", blur="6", daily_reveals="").status_code == 303
    light = c.get(path).content
    assert post(c, "/settings", "/settings", blur="40", daily_reveals="").status_code == 303
    strong = c.get(path).content
    assert app[0].store.user("bob").blur == 40
    assert sharpness(strong) < sharpness(light) * 0.7
    assert 'value="40"' in c.get("/settings").text


@pytest.mark.parametrize(("blur", "limit", "message"), [("2", "", "blur: a whole number from 6 to 40, not 2"),
                                                         ("soft", "", "blur: a whole number from 6 to 40, not 'soft'"),
                                                         ("12", "0", "daily reveal limit: a whole number from 1 to 1000, not 0")])
def test_settings_refuse_malformed_input_saying_which_field(app, blur, limit, message):
    c = logged_in(app, "bob")
    before = app[0].store.user("bob")
    answer = post(c, "/settings", "/settings", blur=blur, daily_reveals=limit)
    assert answer.status_code == 400 and message in answer.text.replace("&#39;", "'")
    assert app[0].store.user("bob") == before


def test_a_daily_reveal_limit_refuses_the_reveal_after_it(app):
    c = logged_in(app, "lim")
    assert post(c, "/settings", "/settings", blur="12", daily_reveals="1").status_code == 303
    reveal = f"/cases/{CASE}/sightings/{kept_sighting(app)}/reveal"
    assert post(c, reveal, f"/cases/{CASE}").status_code == 303
    refused = post(c, reveal, f"/cases/{CASE}")
    assert refused.status_code == 429 and "limit of 1 reveals a day" in refused.text
    assert len(app[0].store.recent_audit_events(actor="lim", action="reveal")) == 1


# -- the audit page --------------------------------------------------------------------------------------

def test_the_audit_page_is_for_admins_filtered_and_paged(app):
    store = app[0].store
    for n in range(PAGE + 5):
        store.log_event(AuditEvent(utc_now(), "bulk", "export", CASE, {"n": n}))
    assert logged_in(app, "ana").get("/audit").status_code == 403
    ada = logged_in(app, "ada")
    first = ada.get("/audit", params={"actor": "bulk"})
    assert first.status_code == 200 and first.text.count('<tr class="event"') == PAGE and f"n: {PAGE + 4}" in first.text
    older = first.text.split('Older events')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = ada.get(older)
    assert rest.text.count('<tr class="event"') == 5 and "n: 0<" in rest.text and "Older events" not in rest.text
    logins = ada.get("/audit", params={"action": "login"}).text
    assert 'data-action="login"' in logins and 'data-action="export"' not in logins
    assert ada.get("/audit", params={"before": "-1"}).status_code == 422


# -- evidence --------------------------------------------------------------------------------------------

def test_the_case_page_counts_each_sightings_evidence_and_verifies_it_on_request(app):
    ana = logged_in(app, "ana")
    page = ana.get(f"/cases/{CASE}").text
    assert "1 capture," in page or " captures," in page
    assert "none yet" in page  # the review candidate: nothing captured of it
    answer = post(ana, f"/cases/{CASE}/verify", f"/cases/{CASE}")
    assert answer.status_code == 200 and "Intact" in answer.text and "artefacts checked" in answer.text
    [event] = app[0].store.recent_audit_events(action="evidence-verify", limit=1)
    assert event.actor == "ana" and event.detail["ok"] is True
    assert post(logged_in(app, "vic"), f"/cases/{CASE}/verify", f"/cases/{CASE}").status_code == 403


# -- video previews are still frames ---------------------------------------------------------------------

def mp4(seconds: float = 3.0, fps: int = 10) -> bytes:
    frames = []
    for n in range(int(seconds * fps)):
        frame = np.zeros((120, 160, 3), dtype=np.uint8)
        frame[:, : 16 + n * 4] = 200  # a bar that grows: each frame differs from the first
        frames.append(frame)
    out = io.BytesIO()
    write_video(out, frames, fps)
    return out.getvalue()


def test_a_still_frame_is_taken_from_a_video_and_nothing_from_bytes_that_are_none():
    still = still_frame(mp4())
    with Image.open(io.BytesIO(still)) as image:
        assert image.format == "PNG" and image.size == (160, 120)
        lit = (np.asarray(image.convert("L")) > 100).mean()
    assert 0.1 < lit < 0.9  # a frame from inside the video, not the black first one nor a blank
    assert still_frame(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500) is None
    assert still_frame(b"not a video at all") is None


def test_a_captured_video_sighting_gets_a_blurred_preview_of_a_still_frame(tmp_path):
    vault = open_vault(tmp_path)
    recorder = EvidenceRecorder(vault, Collector("Helpline", "analyst-1", "spreadtrace/test"))
    video = mp4()
    found = sighting(1, id=41, case_id="video-case", media_url="https://tube.example/v/1.mp4",
                     page_url="https://tube.example/watch/1")
    observation = Observation("2026-03-02T09:00:00Z", found.media_url, found.page_url, site="tube", http_status=200,
                              sha256="a" * 64, content_type="video/mp4", size=len(video))  # fmt: skip
    recorder.capture(found, "first seen", observation, [
        HttpExchange(found.page_url, observation.observed_at, 200, (("Content-Type", "text/html"),), b"<p>a post</p>"),
        HttpExchange(found.media_url, observation.observed_at, 200, (("Content-Type", "video/mp4"),), video),
    ])  # fmt: skip
    made = kept_previews(vault, "video-case", [(41, found.media_url)]).by_sighting[41]
    with Image.open(io.BytesIO(made.jpeg)) as preview:
        assert made.source == "video still" and preview.mode == "L" and preview.format == "JPEG"


# -- in Chromium -----------------------------------------------------------------------------------------

def test_in_chromium_an_admin_reads_the_audit_log_and_an_analyst_sets_a_blur(app, server, browser):
    SHOTS.mkdir(exist_ok=True)
    ana = browser_login(browser, server, "ana")
    ana.goto(f"{server}/settings")
    ana.fill("input[name=blur]", "30")
    ana.click("form.settings button[type=submit]")
    ana.wait_for_selector("p.saved")
    ana.screenshot(path=str(SHOTS / "dash-settings.png"), full_page=True)
    assert app[0].store.user("ana").blur == 30
    ana.goto(f"{server}/cases/{CASE}")
    ana.click("button.verify")
    ana.wait_for_selector("p.verdict")
    ana.screenshot(path=str(SHOTS / "dash-verify.png"), full_page=True)
    assert "Intact" in ana.inner_text("p.verdict")
    ada = browser_login(browser, server, "ada")
    ada.goto(f"{server}/audit")
    ada.fill("input[name=actor]", "ana")
    ada.click("form.filters button[type=submit]")
    ada.wait_for_selector("tr.event")
    actions = ada.eval_on_selector_all("tr.event", "rows => rows.map(r => r.dataset.action)")
    assert {"login", "settings", "evidence-verify"} <= set(actions)
    ada.screenshot(path=str(SHOTS / "dash-audit.png"), full_page=True)
