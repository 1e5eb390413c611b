"""The dashboard's sites and overview pages over the report case (tests/report_case.py), with its sites
registered by `spreadtrace site add`, last visits finished (or not) through the real journal and the next
ones scheduled by the real watcher: over HTTP in-process (rows as `site status` reads them, the hosts to
watch as the report names them, Watch refused to viewers, forged, malformed, unsuggested and repeated
requests; the overview's figures) and in headless Chromium (charts drawn, a host watched by a click).
Screenshots go to /tmp/shots/dash-sites.png (and -added), dash-overview.png."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from crawler.sites import SiteRegistry, add_site
from crawler.visit import VisitCounts
from crawler.watcher import Watcher, next_runs
from dashboards.web.accounts import add_account
from spreadtrace.cli import main
from spreadtrace.status import site_statuses
from tests.report_case import CASE, SITES, record_case
from tests import test_dashboard
from tests.test_dashboard import PASSWORD, SHOTS, browser_login, logged_in, token
from tracker import ClaimState, PageOutcome, PageRole
from tracker.models import PageVisit
from tracker.pictures import build_pictures
from tracker.pictures.html import when
from tracker.report import build_report
from tracker.states import Role

TIMEOUT = "User timeout caused connection failure: Getting https://board.example/b/9 took longer than 180.0 seconds.."
# The board's last visit: a page read, two failed, one skipped, and the page budget reached.
BOARD_PAGES = (("https://board.example/b/", PageOutcome.ONLINE, 200, None),
               ("https://board.example/b/7", PageOutcome.FAILED, 403, "HTTP 403"),
               ("https://board.example/b/9", PageOutcome.FAILED, None, TIMEOUT),
               ("https://board.example/admin/", PageOutcome.SKIPPED, None, "disallowed by robots.txt"))  # fmt: skip
BUDGET = "finished: page budget of 4 pages reached"


@pytest.fixture(scope="module")
def home(tmp_path_factory, hash_options, policy) -> Path:
    home = tmp_path_factory.mktemp("sites") / "home"
    recorded = record_case(home, hash_options, policy)
    for name, role in (("ana", Role.ANALYST), ("vic", Role.VIEWER)):
        add_account(recorded.store, name, role, PASSWORD)
    journal = recorded.tracker.visits
    visit = journal.begin("board", visit_id="board-budget")
    for url, outcome, status, reason in BOARD_PAGES:
        journal.claim(visit.id, url, PageRole.LINK, budget=4)
        journal.finish_page(PageVisit(visit.id, url, PageRole.LINK, ClaimState.DONE, status, url, outcome, reason))
    journal.finish(visit.id, VisitCounts(pages=1, media=2, observations=2, hashed=2, unhashable=0, sightings=1,
                                         removed_pages=0, failed_pages=2, skipped_pages=1).detail(BUDGET))  # fmt: skip
    recorded.close()
    for host, name in SITES.items():
        assert main(["--home", str(home), "site", "add", name, f"https://{host}/", "--every", "6h"]) == 0
    assert main(["--home", str(home), "site", "add", "archive", "https://archive.example/", "--cron", "0 3 * * *"]) == 0
    # The next visits as `spreadtrace watch` records them, its scheduler paused so that nothing runs; the job
    # store is let go before the shutdown, which would otherwise look for due jobs one last time.
    registry = SiteRegistry.load(home / "sites.toml")
    watcher = Watcher(home, {}, 60)
    watcher.scheduler.start(paused=True)
    watcher.sync([registry.get("board"), registry.get("tube")])
    watcher.scheduler.remove_jobstore("default")
    watcher.scheduler.shutdown()
    return home


# test_dashboard's app, real uvicorn and headless Chromium, over this module's home.
app = test_dashboard.app
server = test_dashboard.server
browser = test_dashboard.browser




def registry(app) -> SiteRegistry:
    return SiteRegistry.load(Path(app[0].settings["SPREADTRACE_SITES_FILE"]))


def row(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return found.group(1)


def numbers(row_html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="n[^"]*">(\d+)</td>', row_html)]


def suggested(page: str) -> list[str]:
    return re.findall(r'<tr id="watch-\d+" data-host="([^"]+)"', page)


def site_adds(app) -> list:
    return [e for e in app[0].store.audit_events() if e.action == "site-add"]


# -- sites, over HTTP ------------------------------------------------------------------------------------

def test_each_site_entry_has_its_last_visit_outcome_failures_and_next_visit(app, home):
    page = logged_in(app, "vic").get("/sites").text
    sites = list(registry(app))
    assert [r for r in re.findall(r'<tr id="site-([a-z0-9_-]+)"', page)] == [s.name for s in sites]
    statuses = {r["site"]: r for r in site_statuses(app[0].store, home, sites)}  # what `site status` prints
    for name, status in statuses.items():
        assert numbers(row(page, f"site-{name}")) == [status["pages"], status["removed_pages"], status["failed_pages"],
                                                      status["skipped_pages"], status["sightings"]]  # fmt: skip
    board = row(page, "site-board")
    assert BUDGET in board and numbers(board)[1:] == [0, 2, 1, 1]
    assert "failed: HTTP 403</li>" in board and f"failed: {TIMEOUT}</li>" in board
    assert "skipped: disallowed by robots.txt</li>" in board and "online" not in board.split(BUDGET)[1]
    assert "unfinished (resumes next run)" in row(page, "site-tube")  # its last visit never ended
    archive = row(page, "site-archive")
    assert "never visited" in archive and "not scheduled" in archive and "cron 0 3 * * *" in archive
    upcoming = next_runs(home)
    assert when(upcoming["board"]) in board and when(upcoming["tube"]) in row(page, "site-tube")
    assert "not scheduled" in row(page, "site-forum")


def test_hosts_to_watch_are_the_reports_across_the_visible_cases(app):
    store, known = app[0].store, registry(app)
    expected = [w.host for w in build_pictures(store, build_report(store, CASE), known.site_of).hosts_to_watch]
    page = logged_in(app, "vic").get("/sites").text
    assert suggested(page) == expected and set(expected) == {"imgdrop.example", "dropfiles.example"}
    assert f'<a href="/cases/{CASE}">{CASE}</a>' in row(page, "watch-1")


def test_a_viewer_sees_no_watch_button_and_a_post_of_theirs_is_403(app):
    c = logged_in(app, "vic")
    page = c.get("/sites").text
    assert "Watch</button>" not in page and suggested(page)
    answer = c.post("/sites/watch", data={"csrftoken": token(page), "host": suggested(page)[0]})
    assert answer.status_code == 403 and "viewer accounts may not do this" in answer.text
    assert len(list(registry(app))) == len(SITES) + 1 and not site_adds(app)


def test_bad_requests_are_refused_with_a_line_naming_the_field(app):
    c = logged_in(app, "ana")
    page = c.get("/sites").text
    for host, status, says in (("", 400, "host: expected a host name"), ("two words", 400, "host: expected a host name"),
                               ("[::1", 400, "host: expected a host name"),
                               ("elsewhere.example", 400, "host: elsewhere.example is not among the hosts to watch"),
                               ("board.example", 409, "board.example is watched already: site board covers it"),
                               ("cdn.board.example", 409, "watched already: site board covers it")):  # fmt: skip
        answer = c.post("/sites/watch", data={"csrftoken": token(page), "host": host})
        assert (answer.status_code, says in answer.text) == (status, True), host
        assert "Traceback" not in answer.text
    assert c.post("/sites/watch", data={"csrftoken": "forged", "host": "imgdrop.example"}).status_code == 403
    assert len(list(registry(app))) == len(SITES) + 1 and not site_adds(app)


def test_an_analyst_watches_a_host_as_site_add_would_and_only_once(app, capsys):
    c = logged_in(app, "ana")
    page = c.get("/sites").text
    answer = c.post("/sites/watch", data={"csrftoken": token(page), "host": "imgdrop.example"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/sites?added=imgdrop-example#site-imgdrop-example")
    entry = registry(app).get("imgdrop-example")
    assert entry.start_urls[0] == "https://imgdrop.example/" and entry.start_urls[1].startswith("https://imgdrop.example/i/")
    assert entry.allowed_domains == ("imgdrop.example",) and entry.schedule == "every 1d"  # `site add`'s defaults
    assert registry(app).site_of("https://imgdrop.example/i/9zz1") == "imgdrop-example"
    [event] = site_adds(app)
    assert (event.actor, event.case_id, event.detail["host"], event.detail["site"]) == ("ana", None, "imgdrop.example", "imgdrop-example")
    assert event.detail["cases"] == [CASE] and event.detail["start_urls"] == list(entry.start_urls)
    assert main(["--home", str(app[0].home), "site", "list"]) == 0
    assert "imgdrop-example" in capsys.readouterr().out  # where the CLI keeps its sites
    after = c.get(answer.headers["location"]).text
    assert "Site <strong>imgdrop-example</strong> added" in after and "never visited" in row(after, "site-imgdrop-example")
    assert suggested(after) == ["dropfiles.example"]
    again = c.post("/sites/watch", data={"csrftoken": token(after), "host": "imgdrop.example"})
    assert again.status_code == 409 and "imgdrop.example is watched already: site imgdrop-example covers it" in again.text
    assert len(site_adds(app)) == 1


def test_a_broken_registry_is_named_and_nothing_is_added(app):
    path = Path(app[0].settings["SPREADTRACE_SITES_FILE"])
    kept = path.read_text()
    try:
        path.write_text(kept + "\n[sites.broken]\nstart_urls = ['https://broken.example/']\nevery = 'sometimes'\n")
        c = logged_in(app, "ana")
        page = c.get("/sites")
        assert page.status_code == 200 and "[sites.broken] every" in page.text and 'role="alert"' in page.text
        answer = c.post("/sites/watch", data={"csrftoken": token(page.text), "host": "dropfiles.example"})
        assert answer.status_code == 409 and "the site registry cannot be read, so nothing was added" in answer.text
    finally:
        path.write_text(kept)
    assert "dropfiles-example" not in {s.name for s in registry(app)}


def test_the_cli_and_the_dashboard_adding_at_once_lose_no_entry(tmp_path):
    """The dashboard is a second writer of the registry (and serves requests on several threads): each
    `add_site` reads and saves under the folder's lock, so no entry is lost to another's save."""
    path = tmp_path / "sites.toml"
    threads = [threading.Thread(target=add_site, args=(path, f"s{n}", [f"https://s{n}.example/"])) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s.name for s in SiteRegistry.load(path)) == sorted(f"s{n}" for n in range(16))


# -- overview, over HTTP ---------------------------------------------------------------------------------

def test_the_overview_figures_the_visible_cases(app):
    c = logged_in(app, "vic")
    figures = c.get("/overview.json").json()
    sightings = [s for s in app[0].store.sightings(CASE) if not s.rejected]
    assert (figures["cases"], figures["sightings"], figures["online"], figures["overdue_notices"]) == (
        1, len(sightings), sum(s.status.still_online for s in sightings), 0)
    hosts = dict(zip(figures["per_host"]["labels"], figures["per_host"]["counts"], strict=True))
    assert hosts == {"board.example": 2, "tube.example": 2, "forum.example": 2, "mirror.example": 1, "wiki.example": 1}
    # The board thread taken down on 03-20 (a Friday) and the wiki's file on 03-25: 18 and 22 days after first seen.
    assert figures["removals_per_week"] == {"labels": ["2026-03-16", "2026-03-23"], "counts": [1, 1]}
    removal = figures["time_to_removal"]
    assert (removal["median_days"], removal["removed"], removal["bin_days"]) == (20.0, 2, 2)
    assert removal["labels"][9] == "18\u201319" and removal["counts"][9] == 1 and removal["counts"][11] == 1 and sum(removal["counts"]) == 2
    page = c.get("/overview").text
    assert "Median: <strong>20.0 days</strong>" in page
    assert re.findall(r'<span class="figure[^"]*">(\d+)</span>', page) == [str(figures[k]) for k in ("cases", "sightings", "online", "overdue_notices")]


# -- the browser -----------------------------------------------------------------------------------------

def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_in_chromium_the_overview_draws_its_three_charts(app, server, browser):
    SHOTS.mkdir(exist_ok=True)
    page = browser_login(browser, server, "vic")
    errors = console_errors(page)
    page.goto(f"{server}/overview")
    page.wait_for_selector("#overview[data-drawn=true]")
    seen = page.evaluate("""() => {
        const inked = (canvas) => { const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0; for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) { n += 1; } } return n; };
        const chart = (id) => { const canvas = document.getElementById(id); const drawn = Chart.getChart(canvas);
            return {bars: drawn.getDatasetMeta(0).data.length, values: drawn.data.datasets[0].data, labels: drawn.data.labels,
                    inked: inked(canvas)}; };
        return {hosts: chart('hosts-chart'), removals: chart('removals-chart'), days: chart('removal-days-chart')};
    }""")
    figures = logged_in(app, "vic").get("/overview.json").json()
    for chart, key in (("hosts", "per_host"), ("removals", "removals_per_week"), ("days", "time_to_removal")):
        drawn = seen[chart]
        assert drawn["bars"] == len(figures[key]["counts"]) > 1, chart
        assert (drawn["values"], drawn["labels"]) == (figures[key]["counts"], figures[key]["labels"]), chart
        assert drawn["inked"] > 1000, chart
    page.screenshot(path=str(SHOTS / "dash-overview.png"), full_page=True)
    assert errors == []  # nothing the CSP refused, no script error


def test_in_chromium_an_analyst_clicks_watch_and_the_site_is_in_the_table(app, server, browser):
    page = browser_login(browser, server, "ana")
    errors = console_errors(page)
    page.goto(f"{server}/sites")
    offered = page.locator("tr[data-host]").filter(has=page.locator("button.watch-host")).first
    host = offered.get_attribute("data-host")
    name = host.replace(".", "-")
    assert page.locator(f"#site-{name}").count() == 0
    page.screenshot(path=str(SHOTS / "dash-sites.png"), full_page=True)
    offered.locator("button.watch-host").click()
    page.wait_for_url(f"{server}/sites?added={name}#site-{name}")
    assert page.locator(f"#site-{name} td").first.inner_text().startswith(name)
    assert page.locator(f"tr[data-host='{host}']").count() == 0
    assert registry(app).get(name).allowed_domains == (host,)
    assert any(e.actor == "ana" and e.detail["host"] == host for e in site_adds(app))
    page.screenshot(path=str(SHOTS / "dash-sites-added.png"), full_page=True)
    assert errors == []


def test_in_chromium_a_viewer_has_no_watch_button_and_a_forged_post_is_refused(server, browser):
    page = browser_login(browser, server, "vic")
    page.goto(f"{server}/sites")
    assert page.locator("button.watch-host").count() == 0
    status = page.evaluate("""async () => {
        const token = document.querySelector('input[name=csrftoken]').value;
        const answer = await fetch('/sites/watch', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'},
            body: 'host=dropfiles.example&csrftoken=' + encodeURIComponent(token), redirect: 'manual'});
        return answer.status; }""")
    assert status == 403
