"""The dashboard's review queue: what it lists and how (each candidate beside its reference, which is kept
as hashes only; the copy blurred; the signals behind it), and an analyst's confirm or reject over HTTP and
by clicking in real headless Chromium, checked in the store and the audit log; a viewer sees no buttons and
is refused. Each test works on a home of its own (`tests.dashboard_homes`). Screenshot: /tmp/shots/dash-review.png."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from PIL import Image

from dashboards.web import create_app
from spreadtrace.app import App
from tests.dashboard_homes import OTHER_CASE, candidates, copy_home, record_home, serving
from tests.report_case import CASE
from tests.test_dashboard import SHOTS, browser_login, logged_in, token
from tracker.chromium import chromium, find_chromium
from tracker.models import AuditEvent
from tracker.review import MAX_WHY
from tracker.states import Review, Verdict


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, hash_options, policy):
    return record_home(tmp_path_factory.mktemp("review") / "home", hash_options, policy)


@pytest.fixture
def app(recorded, tmp_path):
    spreadtrace = App(copy_home(recorded, tmp_path))
    asgi = create_app(spreadtrace.home, spreadtrace.settings)
    yield spreadtrace, asgi
    spreadtrace.end()


def reviews(app: tuple[App, Any]) -> list[AuditEvent]:
    return [e for e in app[0].store.audit_events() if e.action.startswith("review-")]


def articles(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<article class="candidate" id="candidate-(\d+)">(.*?)</article>', page, re.S)


# -- HTTP ------------------------------------------------------------------------------------------------

def test_the_queue_shows_each_undecided_candidate_beside_its_reference_newest_first(app):
    page = logged_in(app, "vic").get("/review").text
    store = app[0].store
    waiting = sorted(store.awaiting_review(), key=lambda s: (s.first_seen, s.id), reverse=True)
    shown = articles(page)
    assert [int(i) for i, _ in shown] == [s.id for s in waiting] and len(waiting) == 3  # every case's, newest first
    ours = candidates(store)
    by_id = dict((int(i), body) for i, body in shown)
    captured, bare = by_id[ours["captured"].id], by_id[ours["bare"].id]
    for body, label in ((captured, "rocket.png"), (bare, "coffee.png")):
        assert "reported original not kept: hashes only" in body and f"<strong>{label}</strong>" in body and "· image" in body
    preview = f'src="/cases/{CASE}/sightings/{ours["captured"].id}/preview"'
    assert preview in captured and "no preview kept" not in captured
    assert "no preview kept" in bare and "<img" not in bare
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td class=\"n\">(\d*)</td>\s*<td class=\"n\">(\d*)</td>\s*<td>(\w*)</td>", captured)
    assert rows == [("pdq", "40", "31", "no"), ("phash", "8", "10", "yes"), ("orb", "", "20", "no")]
    assert "7 inliers over 1% of the reference" in captured
    assert ours["captured"].page_url in captured and f'href="{ours["captured"].page_url}"' not in captured  # text, not a link
    assert "Confirm" not in page and 'name="why"' not in page  # a viewer looks only
    confirmed = next(s for s in store.sightings(CASE) if s.verdict is Verdict.MATCH)
    assert f'id="candidate-{confirmed.id}"' not in page


def test_the_preview_beside_a_candidate_is_blurred_and_grey(app):
    c = logged_in(app, "vic")
    answer = c.get(f"/cases/{CASE}/sightings/{candidates(app[0].store)['captured'].id}/preview")
    assert answer.status_code == 200 and Image.open(io.BytesIO(answer.content)).mode == "L"


def test_the_queue_narrows_to_one_case_and_an_unknown_case_is_not_found(app):
    c = logged_in(app, "vic")
    other = [int(i) for i, _ in articles(c.get("/review", params={"case": OTHER_CASE}).text)]
    assert other == [s.id for s in app[0].store.awaiting_review(OTHER_CASE)] and len(other) == 1
    assert c.get("/review", params={"case": "no-such-case"}).status_code == 404


def test_an_analyst_confirms_over_http_and_the_decision_is_stored_and_audited_once(app):
    c = logged_in(app, "ana")
    target = candidates(app[0].store)["captured"]
    page = c.get("/review", params={"case": CASE}).text
    answer = c.post(f"/review/{target.id}/confirm", data={"csrftoken": token(page), "why": "  the rocket,  watermarked ", "case": CASE})
    assert (answer.status_code, answer.headers["location"]) == (303, f"/review?case={CASE}")
    stored = app[0].store.get_sighting(target.id)
    assert (stored.review, stored.verdict, stored.decided_by) == (Review.CONFIRMED, Verdict.MATCH, "analyst:ana")
    assert [(e.actor, e.action, e.case_id, e.detail["sighting"], e.detail["why"]) for e in reviews(app)] == [
        ("ana", "review-confirm", CASE, target.id, "the rocket, watermarked")]
    after = c.get(f"/review?case={CASE}").text
    assert f"sighting {target.id} confirmed" in after and f'id="candidate-{target.id}"' not in after
    again = c.post(f"/review/{target.id}/reject", data={"csrftoken": token(after), "why": "changed my mind"})
    assert again.status_code == 409 and "confirmed already" in again.text
    assert len(reviews(app)) == 1


def test_a_reason_is_required_and_bounded_and_the_answer_names_the_field(app):
    c = logged_in(app, "ana")
    target = candidates(app[0].store)["bare"]
    csrf = token(c.get("/review").text)
    for why, words in (("", "reason: required"), ("   ", "reason: required"), ("x" * (MAX_WHY + 1), "reason: 1,001 characters")):
        answer = c.post(f"/review/{target.id}/reject", data={"csrftoken": csrf, "why": why})
        assert answer.status_code == 400 and words in answer.text and answer.headers["content-type"].startswith("text/html")
    assert app[0].store.get_sighting(target.id).awaiting_review and reviews(app) == []


def test_a_match_or_an_unknown_sighting_cannot_be_decided(app):
    c = logged_in(app, "ana")
    csrf = token(c.get("/review").text)
    match = next(s for s in app[0].store.sightings(CASE) if s.verdict is Verdict.MATCH)
    refused = c.post(f"/review/{match.id}/reject", data={"csrftoken": csrf, "why": "not her"})
    assert refused.status_code == 409 and "is a match already" in refused.text
    assert c.post("/review/999999/confirm", data={"csrftoken": csrf, "why": "x"}).status_code == 404
    assert reviews(app) == []


def test_a_viewer_may_not_decide_even_with_a_valid_token(app):
    c = logged_in(app, "vic")
    target = candidates(app[0].store)["bare"]
    csrf = token(c.get("/review").text)
    for decision in ("confirm", "reject"):
        assert c.post(f"/review/{target.id}/{decision}", data={"csrftoken": csrf, "why": "looks like her"}).status_code == 403
    assert c.post(f"/review/{target.id}/confirm", data={"csrftoken": "forged", "why": "x"}).status_code == 403
    assert app[0].store.get_sighting(target.id).awaiting_review and reviews(app) == []


# -- the browser -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with chromium(find_chromium()) as running:
        yield running


def test_in_chromium_an_analyst_confirms_one_candidate_and_rejects_another(app, browser):
    store = app[0].store
    ours = candidates(store)
    with serving(app[1]) as server:
        page = browser_login(browser, server, "ana")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.click("nav a[href='/review']")
        page.wait_for_selector(f"#candidate-{ours['captured'].id}")
        shown = page.locator(f"#candidate-{ours['captured'].id} img.blurred")
        assert shown.evaluate("img => img.complete && img.naturalWidth") > 0
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "dash-review.png"), full_page=True)

        confirming = page.locator(f"#candidate-{ours['captured'].id}")
        confirming.locator("input[name=why]").fill("the rocket picture, watermarked by the tube site")
        confirming.locator("button.confirm").click()
        page.wait_for_selector("p.flash")
        assert f"sighting {ours['captured'].id} confirmed" in page.locator("p.flash").inner_text()

        rejecting = page.locator(f"#candidate-{ours['bare'].id}")
        rejecting.locator("button.reject").click()  # no reason yet: the browser itself refuses to send it
        assert page.locator(f"#candidate-{ours['bare'].id}").count() == 1 and store.get_sighting(ours["bare"].id).awaiting_review
        rejecting.locator("input[name=why]").fill("another cup on another table")
        rejecting.locator("button.reject").click()
        page.wait_for_selector(f"p.flash:has-text('sighting {ours['bare'].id} rejected')")
        assert page.locator(f"#candidate-{ours['bare'].id}").count() == 0
        assert errors == []
    confirmed, rejected = store.get_sighting(ours["captured"].id), store.get_sighting(ours["bare"].id)
    assert (confirmed.review, confirmed.verdict) == (Review.CONFIRMED, Verdict.MATCH)
    assert (rejected.review, rejected.verdict) == (Review.REJECTED, Verdict.NEEDS_REVIEW)
    assert [(e.actor, e.action, e.detail["sighting"]) for e in reviews(app)] == [
        ("ana", "review-confirm", confirmed.id), ("ana", "review-reject", rejected.id)]
    assert [d.why for d in store.reviews(CASE)] == ["the rocket picture, watermarked by the tube site",
                                                             "another cup on another table"]  # fmt: skip


def test_in_chromium_a_viewer_sees_no_buttons_and_a_forged_post_is_refused(app, browser):
    target = candidates(app[0].store)["captured"]
    with serving(app[1]) as server:
        page = browser_login(browser, server, "vic")
        page.goto(f"{server}/review")
        page.wait_for_selector(f"#candidate-{target.id}")
        assert page.locator("form.decide").count() == 0 and page.locator("button.confirm, button.reject").count() == 0
        status = page.evaluate(f"""async () => {{
            const token = document.querySelector('input[name=csrftoken]').value;
            const answer = await fetch('/review/{target.id}/confirm', {{method: 'POST',
                headers: {{'content-type': 'application/x-www-form-urlencoded'}},
                body: 'csrftoken=' + encodeURIComponent(token) + '&why=forged', redirect: 'manual'}});
            return answer.status; }}""")
        assert status == 403
    assert app[0].store.get_sighting(target.id).awaiting_review and reviews(app) == []
