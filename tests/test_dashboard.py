"""The dashboard: the real app over a case recorded through the real Tracker and vault (tests/report_case.py),
over HTTP in-process (auth, CSRF, headers, roles) and in real headless Chromium (pictures drawn, a reveal
and its audit entry, a viewer refused). Screenshots go to /tmp/shots/dash-*.png."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from PIL import Image
from starlette.testclient import TestClient

from dashboards.web import create_app
from dashboards.web.accounts import add_account
from dashboards.web.limits import ACCOUNT_FAILURES
from spreadtrace.app import App
from spreadtrace.cli import main
from tests.report_case import CASE, record_case
from tracker.chromium import chromium, find_chromium
from tracker.pictures.html import READY
from tracker.states import Role

PASSWORD = "correct horse battery"
SHOTS = Path("/tmp/shots")


def home_with_accounts(home: Path, hash_options, policy, accounts, *more_cases: str) -> Path:
    """A home holding the report case (and ``more_cases``, empty), with ``accounts`` (name, role) whose
    password is PASSWORD."""
    recorded = record_case(home, hash_options, policy)
    for case in more_cases:
        recorded.store.ensure_case(case)
    for name, role in accounts:
        add_account(recorded.store, name, role, PASSWORD)
    recorded.close()
    return home


@pytest.fixture(scope="module")
def home(tmp_path_factory, hash_options, policy) -> Path:
    accounts = (("ada", Role.ADMIN), ("ana", Role.ANALYST), ("vic", Role.VIEWER))
    return home_with_accounts(tmp_path_factory.mktemp("dashboard") / "home", hash_options, policy, accounts)


@pytest.fixture(scope="module")
def app(home):
    spreadtrace = App(home)
    asgi = create_app(spreadtrace.home, spreadtrace.settings)
    yield spreadtrace, asgi
    spreadtrace.end()


def client(app) -> TestClient:
    return TestClient(app[1], base_url="http://127.0.0.1", follow_redirects=False)


def token(page: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)


def logged_in(app, name: str) -> TestClient:
    c = client(app)
    c.post("/login", data={"csrftoken": token(c.get("/login").text), "name": name, "password": PASSWORD})
    assert c.get("/cases").status_code == 200
    return c


def sighting_ids(app) -> list[int]:
    return [s.id for s in app[0].store.sightings(CASE) if not s.rejected]


# -- HTTP ------------------------------------------------------------------------------------------------

def test_without_a_session_every_page_is_a_redirect_to_login_and_nothing_else(app):
    c = client(app)
    first = sighting_ids(app)[0]
    for path in ("/", "/cases", f"/cases/{CASE}", f"/cases/{CASE}/pictures.json", f"/cases/{CASE}/sightings/{first}/preview",
                 "/static/case.js", "/static/vendor/chart.js/chart.umd.min.js", "/report/report.js", "/nowhere"):
        answer = c.get(path)
        assert (answer.status_code, answer.headers["location"], answer.content) == (303, "/login", b""), path
    assert c.post(f"/cases/{CASE}/sightings/{first}/reveal").status_code in (303, 403)
    assert not any(e.action == "reveal" for e in app[0].store.audit_events())


def test_every_answer_carries_the_security_headers(app):
    c = logged_in(app, "ana")
    for answer in (c.get("/login"), c.get("/cases"), c.get("/static/dashboard.css"), c.get("/cases/nope"),
                   c.post("/logout", data={"csrftoken": "forged"})):
        assert answer.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["cache-control"] == "no-store"


def test_a_plain_form_login_on_first_load_works_and_is_audited(app):
    c = client(app)
    page = c.get("/login")  # no cookie yet: asgi-csrf sets it with this very page
    assert "csrftoken" in page.cookies
    answer = c.post("/login", data={"csrftoken": token(page.text), "name": "ana", "password": PASSWORD})
    assert (answer.status_code, answer.headers["location"]) == (303, "/cases")
    assert CASE in c.get("/cases").text
    last = app[0].store.audit_events()[-1]
    assert (last.actor, last.action) == ("ana", "login")


def test_a_form_post_without_its_csrf_token_is_refused_even_without_cookies(app):
    fresh = client(app)
    assert fresh.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 403  # login CSRF
    c = logged_in(app, "ana")
    first = sighting_ids(app)[0]
    assert c.post(f"/cases/{CASE}/sightings/{first}/reveal", data={"csrftoken": "forged"}).status_code == 403
    assert c.post("/logout", data={}).status_code == 403
    assert c.get("/cases").status_code == 200  # still logged in


def test_wrong_passwords_are_audited_then_limited_per_account(app):
    c = client(app)
    page = c.get("/login").text
    for _ in range(ACCOUNT_FAILURES):
        assert c.post("/login", data={"csrftoken": token(page), "name": "ada", "password": "wrong"}).status_code == 401
    refused = c.post("/login", data={"csrftoken": token(page), "name": "ada", "password": PASSWORD})
    assert refused.status_code == 429 and "Too many wrong passwords" in refused.text
    actions = [e.action for e in app[0].store.audit_events() if e.actor == "ada"]
    assert actions[-ACCOUNT_FAILURES - 1:] == ["login-failed"] * ACCOUNT_FAILURES + ["login-refused"]


def test_the_cases_list_counts_what_the_store_holds(app):
    page = logged_in(app, "vic").get("/cases").text
    sightings = [s for s in app[0].store.sightings(CASE) if not s.rejected]
    row = re.search(rf'<a href="/cases/{CASE}">{CASE}</a></td>(.*?)</tr>', page, re.S).group(1)
    numbers = [int(n) for n in re.findall(r'<td class="n[^"]*">(\d+)</td>', row)]
    assert numbers == [len(sightings), sum(s.status.still_online for s in sightings),
                       sum(1 for s in sightings if not s.confirmed and s.review is None), 0]


def test_previews_are_blurred_grey_and_never_cached(app):
    c = logged_in(app, "vic")
    ids = sighting_ids(app)
    answers = [c.get(f"/cases/{CASE}/sightings/{i}/preview") for i in ids]
    shown = [a for a in answers if a.status_code == 200]
    assert shown and all(a.headers["content-type"] == "image/jpeg" and a.headers["cache-control"] == "no-store" for a in shown)
    assert all(Image.open(io.BytesIO(a.content)).mode == "L" for a in shown)
    assert c.get(f"/cases/{CASE}/sightings/999999/preview").status_code == 404
    assert c.get("/cases/no-such-case").status_code == 404


def test_a_viewer_may_not_reveal(app):
    c = logged_in(app, "vic")
    first = sighting_ids(app)[0]
    page = c.get(f"/cases/{CASE}").text
    assert "Reveal" not in page
    assert c.post(f"/cases/{CASE}/sightings/{first}/reveal", data={"csrftoken": token(page)}).status_code == 403
    assert not any(e.action == "reveal" and e.actor == "vic" for e in app[0].store.audit_events())


def test_an_analyst_reveals_one_picture_once_and_it_is_audited(app):
    c = logged_in(app, "ana")
    first = next(i for i in sighting_ids(app) if c.get(f"/cases/{CASE}/sightings/{i}/preview").status_code == 200)
    picture = f"/cases/{CASE}/sightings/{first}/picture"
    assert c.get(picture).status_code == 403  # not revealed yet
    page = c.get(f"/cases/{CASE}").text
    assert c.post(f"/cases/{CASE}/sightings/{first}/reveal", data={"csrftoken": token(page)}).status_code == 303
    event = app[0].store.audit_events(CASE)[-1]
    assert (event.actor, event.action, event.detail["sighting"]) == ("ana", "reveal", first)
    assert f'src="{picture}"' in c.get(f"/cases/{CASE}").text
    shown = c.get(picture)
    assert shown.status_code == 200 and Image.open(io.BytesIO(shown.content)).mode == "RGB"
    assert c.get(picture).status_code == 403  # used up


def test_user_add_reads_the_password_from_stdin_and_refuses_a_short_one(home, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["--home", str(home), "user", "add", "newbie", "--role", "viewer", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--home", str(home), "user", "add", "other", "--role", "viewer", "--password-stdin"]) == 2
    assert "at least 12 characters" in capsys.readouterr().err


# -- the browser -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    served = uvicorn.Server(uvicorn.Config(app[1], host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    while not served.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with chromium(find_chromium()) as running:
        yield running


def drawn(page) -> None:
    """Wait until the case page's pictures are drawn. Polled with evaluate: wait_for_function evaluates its
    predicate as a string, which the dashboard's CSP (no unsafe-eval) rightly refuses."""
    for _ in range(600):
        if page.evaluate(READY):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the case page's pictures were never drawn")


def browser_login(browser, server, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/cases")
    assert page.url.endswith("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/cases")
    return page


def test_in_chromium_an_analyst_opens_a_case_sees_it_drawn_and_reveals_a_preview(app, server, browser):
    SHOTS.mkdir(exist_ok=True)
    login = browser.new_page(viewport={"width": 1280, "height": 700})
    login.goto(f"{server}/login")
    login.screenshot(path=str(SHOTS / "dash-login.png"))
    page = browser_login(browser, server, "ana")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.screenshot(path=str(SHOTS / "dash-cases.png"), full_page=True)
    page.click(f"a[href='/cases/{CASE}']")
    drawn(page)
    seen = page.evaluate("""() => {
        const inked = (canvas) => { const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0; for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) { n += 1; } } return n; };
        return {timeline: inked(document.getElementById('timeline-chart')), nodes: cy.nodes().length,
                previews: [...document.querySelectorAll('img.blurred')].filter((i) => i.naturalWidth > 0).length};
    }""")
    pictures = client_json(app, f"/cases/{CASE}/pictures.json")
    assert seen["timeline"] > 1000 and seen["nodes"] == len(pictures["graph"]["nodes"]) > 1 and seen["previews"] > 0
    page.screenshot(path=str(SHOTS / "dash-case.png"), full_page=True)
    row = page.locator("tr", has=page.locator("img.blurred")).filter(has=page.locator("button.reveal")).first
    sighting = int(row.get_attribute("id").removeprefix("sighting-"))
    row.locator("button.reveal").click()
    page.wait_for_selector(f"#sighting-{sighting} img.revealed")
    assert page.evaluate(f"document.querySelector('#sighting-{sighting} img.revealed').naturalWidth") > 0
    page.locator(f"#sighting-{sighting}").screenshot(path=str(SHOTS / "dash-revealed.png"))
    assert any(e.action == "reveal" and e.actor == "ana" and e.detail["sighting"] == sighting for e in app[0].store.audit_events(CASE))
    assert errors == []  # no preview asked for where none is kept, and nothing the CSP had to refuse
    assert page.locator("span.no-preview").count() >= 1  # the review candidate: nothing of it captured


def test_in_chromium_a_viewer_has_no_reveal_button_and_a_forged_post_is_refused(server, browser):
    page = browser_login(browser, server, "vic")
    page.goto(f"{server}/cases/{CASE}")
    drawn(page)
    assert page.locator("button.reveal").count() == 0
    status = page.evaluate(f"""async () => {{
        const token = document.querySelector('input[name=csrftoken]').value;
        const answer = await fetch('/cases/{CASE}/sightings/1/reveal', {{method: 'POST',
            headers: {{'content-type': 'application/x-www-form-urlencoded'}}, body: 'csrftoken=' + encodeURIComponent(token), redirect: 'manual'}});
        return answer.status; }}""")
    assert status == 403
    page.screenshot(path=str(SHOTS / "dash-viewer.png"), full_page=True)


def client_json(app, path):
    return logged_in(app, "ana").get(path).json()  # ada is locked out by the rate-limit test
