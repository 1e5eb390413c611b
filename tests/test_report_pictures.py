"""The report's pictures: their data (timeline, spread graph, hosts to watch) from a case recorded through
the real Tracker, journal and vault (tests/report_case.py); the HTML page, self-contained, drawn in real
Chromium; blurred previews; the export's custody entry and audit event; the PDF, read back by pdftotext."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from spreadtrace.cli import main
from spreadtrace.errors import ReturnCode
from tests.report_case import CASE, LAST_CHECK, known_site, record_case
from tests.test_tracker_store_contract import sighting
from tracker import Status, build_report
from tracker.chromium import chromium, find_chromium
from tracker.evidence.preview import blurred_preview
from tracker.models import StatusEvent
from tracker.pictures import build_pictures, report_document
from tracker.pictures.graph import EdgeKind
from tracker.pictures.html import READY, render_html
from tracker.pictures.previews import kept_previews
from tracker.pictures.timeline import Change, timeline
from tracker.report import _sighting

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "dashboards" / "static" / "vendor"


@pytest.fixture(scope="module")
def case(tmp_path_factory, hash_options, policy):
    recorded = record_case(tmp_path_factory.mktemp("pictures") / "home", hash_options, policy)
    yield recorded
    recorded.close()


@pytest.fixture(scope="module")
def report(case):
    return build_report(case.store, CASE)


@pytest.fixture(scope="module")
def pictures(case, report):
    return build_pictures(case.store, report, known_site)


@pytest.fixture(scope="module")
def html(case, report, pictures):
    return report_document(report, pictures, case.vault, "html", find_chromium).content.decode()


@pytest.fixture(scope="module")
def drawn(html):
    """The page as real Chromium draws it: what its pictures hold, its console errors, its requests."""
    errors: list[str] = []
    requests: list[str] = []
    with chromium(find_chromium()) as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(html, wait_until="load")
        page.wait_for_function(READY, timeout=30_000)
        seen = page.evaluate("""() => {
            const inked = (canvas) => {
                const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let n = 0;
                for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { n += 1; } }
                return n;
            };
            const chart = window.timelineChart;
            return {
                timeline_inked: inked(document.getElementById('timeline-chart')),
                timeline_size: [chart.width, chart.height],
                datasets: chart.data.datasets.map((d) => [d.label, d.data.length]),
                total: chart.data.datasets[0].data.map((p) => [p.x, p.y]),
                graph_inked: [...document.querySelectorAll('#spread-graph canvas')].map(inked),
                nodes: cy.nodes().length,
                node_ids: cy.nodes().map((n) => n.id()),
                edges: cy.edges().map((e) => [e.source().id(), e.target().id(), e.classes().join(' ')]),
                first: cy.nodes('.first').map((n) => n.id()),
                removed: cy.nodes('.removed').map((n) => n.id()),
                inside: cy.nodes().every((n) => { const b = n.renderedBoundingBox();
                    return b.x1 >= 0 && b.y1 >= 0 && b.x2 <= cy.width() && b.y2 <= cy.height(); }),
            };
        }""")
        print_page = browser.new_page(viewport={"width": 718, "height": 1000})  # A4 less the PDF's margins
        print_page.emulate_media(media="print")
        print_page.set_content(html, wait_until="load")
        print_page.wait_for_function(READY, timeout=30_000)
        seen["print_width"] = print_page.evaluate("document.documentElement.scrollWidth")
    return seen, errors, requests


def cli(home: Path, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the data ----------------------------------------------------------------------------------------


def test_the_timeline_counts_each_appearance_removal_and_reappearance(case, pictures):
    line = pictures.timeline
    ids = {s.id: name for name, s in case.sightings.items()}
    moves = [(ids[step.sighting_id], step.change, step.online, step.host_online) for step in line.steps]
    assert moves == [
        ("board", Change.APPEARED, 1, 1),  # claimed 2026-01-05: before anything we saw
        ("tube-coffee", Change.APPEARED, 2, 1),
        ("tube-rocket", Change.APPEARED, 3, 2),
        ("forum-rocket", Change.APPEARED, 4, 1),
        ("forum-chelsea", Change.APPEARED, 5, 2),
        ("mirror", Change.APPEARED, 6, 1),
        ("wiki", Change.APPEARED, 7, 1),  # the wiki states no time: our first sight
        ("board", Change.REMOVED, 6, 0),
        ("wiki", Change.REMOVED, 5, 0),
        ("board", Change.REAPPEARED, 6, 1),
    ]
    assert [step.at for step in line.steps] == sorted(step.at for step in line.steps)
    assert line.steps[0].at == "2026-01-05T22:14:00Z" and line.first == line.steps[0]
    assert (line.until, line.online_now) == (LAST_CHECK, 6)
    assert line.hosts == ("board.example", "tube.example", "forum.example", "mirror.example", "wiki.example")
    assert line.online_on("board.example", "2026-03-25T00:00:00Z") == 0
    assert line.online_on("tube.example", "2026-03-25T00:00:00Z") == 2
    # the gray-zone candidate is in the sightings, not in the counts
    assert case.candidate.id not in {step.sighting_id for step in line.steps}


def test_a_copy_without_a_status_history_moves_by_its_status_alone():
    old = _sighting(sighting(1, id=5, first_seen="2026-01-01T00:00:00Z", status=Status.REMOVED,
                             status_at="2026-02-01T00:00:00Z", last_seen="2026-02-01T00:00:00Z"))  # fmt: skip
    changed = _sighting(sighting(1, id=6, first_seen="2026-01-02T00:00:00Z", last_seen="2026-03-01T00:00:00Z",
                                 status=Status.CHANGED, status_at="2026-01-20T00:00:00Z"))
    history = {6: [StatusEvent(6, "2026-01-02T00:00:00Z", Status.ONLINE, "first seen"),
                   StatusEvent(6, "2026-01-20T00:00:00Z", Status.CHANGED, "other content")]}  # fmt: skip
    line = timeline([old, changed], lambda sighting_id: history.get(sighting_id, []))
    assert [(s.sighting_id, s.change, s.online) for s in line.steps] == [
        (5, Change.APPEARED, 1), (6, Change.APPEARED, 2), (6, Change.CHANGED, 1), (5, Change.REMOVED, 0)]
    assert (line.online_now, line.until) == (0, "2026-03-01T00:00:00Z")


def test_the_graph_has_each_kind_of_edge_and_marks_the_first_and_the_removed_hosts(pictures):
    graph = pictures.graph
    assert [(n.host, n.copies, n.online, n.first, n.removed_everywhere) for n in graph.nodes] == [
        ("board.example", 1, 1, True, False),
        ("tube.example", 2, 2, False, False),
        ("forum.example", 2, 2, False, False),
        ("mirror.example", 1, 1, False, False),
        ("wiki.example", 1, 0, False, True),
    ]
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert edges == {
        # the forum post links to the board thread and to the tube upload: the earlier copies' hosts
        ("board.example", "forum.example", EdgeKind.LINKED),
        ("tube.example", "forum.example", EdgeKind.LINKED),
        # the mirror's uploader is the tube's, written otherwise ("NightOwl_77 " and "nightowl_77")
        ("tube.example", "mirror.example", EdgeKind.UPLOADER),
        # nothing recorded explains the tube and the wiki: time alone, from the host last carrying it before
        ("board.example", "tube.example", EdgeKind.LATER),
        ("mirror.example", "wiki.example", EdgeKind.LATER),
    }
    linked = next(e for e in graph.edges if e.target == "forum.example" and e.source == "tube.example")
    assert linked.examples == ("https://forum.example/forum/topic/2 links to https://tube.example/watch/7",)
    assert linked.at == "2026-02-10T12:00:00Z"
    same = next(e for e in graph.edges if e.kind is EdgeKind.UPLOADER)
    assert "NightOwl_77" in same.examples[0] and same.count == 1
    # every host but the first is reached by exactly the edges that explain it, and a host explained by a
    # link or an uploader gets no "later" edge
    assert {e.target for e in graph.edges if e.kind is EdgeKind.LATER} == {"tube.example", "wiki.example"}


def test_hosts_to_watch_are_linked_hosts_no_site_covers(case, report):
    watched = build_pictures(case.store, report, known_site).hosts_to_watch
    assert [(w.host, w.links, w.pages, w.example_url) for w in watched] == [
        ("imgdrop.example", 2, 2, "https://imgdrop.example/i/8xk2"),
        ("dropfiles.example", 1, 1, "https://dropfiles.example/f/ab12"),
    ]  # not the tube and board pages the forum links to, not the forum's own index

    def registry_now(url: str) -> str | None:  # imgdrop was added to the registry after the crawl
        return "imgdrop" if "imgdrop.example" in url else known_site(url)

    assert [w.host for w in build_pictures(case.store, report, registry_now).hosts_to_watch] == ["dropfiles.example"]


def test_the_json_report_carries_what_the_pictures_draw(case, pictures, capsys):
    code, out, err = cli(case.home, capsys, "report", CASE, "--format", "json")
    assert code == ReturnCode.OK, err
    document = json.loads(out)
    fresh = json.loads(json.dumps(pictures.to_json()))
    for key in ("timeline", "graph", "hosts_to_watch"):
        assert document[key] == fresh[key]
    assert document["summary"]["sightings"] == 8 and document["graph"]["edges"][0]["kind"] in ("linked", "same uploader", "later")


# -- the HTML page -----------------------------------------------------------------------------------


def test_the_page_is_self_contained_with_the_vendored_scripts_inline(html, pictures):
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)  # nothing fetched
    assert "<link" not in html.lower() and not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)
    assert "default-src 'none'" in html  # and the page may fetch nothing even if a script tried
    assert "Chart.js v4.6.1" in html and "The Cytoscape Consortium" in html
    assert "sourceMappingURL" not in html
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert embedded is not None
    drawn = json.loads(embedded.group(1))
    assert drawn["timeline"] == json.loads(json.dumps(pictures.to_json()["timeline"]))
    assert drawn["graph"] == json.loads(json.dumps(pictures.to_json()["graph"]))
    assert "imgdrop.example" in html and "spreadtrace site add NAME https://imgdrop.example/" in html


def test_text_a_site_wrote_is_escaped_even_inside_the_embedded_data(report, pictures):
    hostile = "evil.example</script><script>alert(1)</script>"
    graph = pictures.graph
    twisted = replace(pictures, graph=replace(graph, nodes=(replace(graph.nodes[0], host=hostile), *graph.nodes[1:])))
    page = render_html(report, twisted, {})
    assert "<script>alert(1)" not in page and hostile not in page
    assert "evil.example\\u003c/script\\u003e" in page  # in the JSON the pictures draw, escaped


def test_chromium_draws_both_pictures_with_no_error_and_no_request(drawn, pictures):
    seen, errors, requests = drawn
    assert errors == [] and requests == []
    assert seen["timeline_inked"] > 20_000 and seen["timeline_size"][0] > 600  # a drawn chart, not a blank canvas
    steps = pictures.timeline.steps
    assert seen["total"][1:-1] == [[_ms(step.at), step.online] for step in steps]  # what it drew is the data
    labels = [label for label, _ in seen["datasets"]]
    assert labels[:6] == ["all copies online", *pictures.timeline.hosts] and "removed" in labels and "reappeared" in labels
    assert seen["nodes"] == len(pictures.graph.nodes) == 5
    assert sorted(seen["node_ids"]) == sorted(n.host for n in pictures.graph.nodes)
    kinds = {"linked": "linked", "same uploader": "uploader", "later": "later"}
    assert sorted(seen["edges"]) == sorted([e.source, e.target, kinds[e.kind]] for e in pictures.graph.edges)
    assert seen["first"] == ["board.example"] and seen["removed"] == ["wiki.example"]
    assert seen["inside"] and max(seen["graph_inked"]) > 5_000


def test_the_page_fits_a4_in_print(drawn):
    seen, _, _ = drawn
    assert seen["print_width"] <= 718  # wider, and Chromium would shrink every page to fit it


def test_an_empty_case_still_renders_its_page(case):
    case.store.ensure_case("empty-case")
    report = build_report(case.store, "empty-case")
    page = render_html(report, build_pictures(case.store, report), {})
    assert "No confirmed copies yet." in page and "No sightings yet." in page


# -- previews ----------------------------------------------------------------------------------------


def previews_in(html: str) -> list[bytes]:
    return [base64.b64decode(found) for found in re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', html)]


def test_a_screenshot_in_the_vault_is_shown_blurred_and_grey_never_itself(case, html):
    shown = previews_in(html)
    screenshot = case.screenshots["board"]
    blurred = blurred_preview(screenshot)
    assert shown.count(blurred) == 2  # the first-appearance card and its row: the blurred one, both times
    with Image.open(io.BytesIO(blurred)) as preview, Image.open(io.BytesIO(screenshot)) as original:
        assert (preview.format, preview.mode) == ("JPEG", "L") and original.mode == "RGB"
        sharp = original.convert("L").resize(preview.size)
        # the original's detail is gone: neighbouring pixels barely differ in the preview
        assert _edges(preview) < _edges(sharp) / 4
    assert base64.b64encode(screenshot).decode()[:200] not in html
    for name, media in case.media.items():  # nor any copy's own bytes
        assert base64.b64encode(media).decode()[:200] not in html, name


def test_without_a_screenshot_the_media_in_the_capture_is_previewed(case, html):
    shown = previews_in(html)
    assert blurred_preview(case.media["mirror"]) in shown  # no screenshot: the media payload of its WARC
    assert blurred_preview(case.media["tube-rocket"]) not in shown  # a screenshot is preferred
    assert blurred_preview(case.screenshots["tube-rocket"]) in shown
    assert html.count("no preview kept") == 2  # the gray-zone candidate has no capture: card and row


def test_a_report_that_read_the_vault_is_an_export_in_custody_and_audit(case, capsys, tmp_path):
    before = list(case.vault.custody(CASE).entries())
    events = len(case.store.audit_events(CASE))
    target = tmp_path / "victim-7.html"
    code, _, err = cli(case.home, capsys, "report", CASE, "--format", "html", "-o", str(target))
    assert code == ReturnCode.OK, err
    after = list(case.vault.custody(CASE).entries())
    [entry] = after[len(before):]
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert entry.kind == "export" and entry.actor
    assert (entry.detail["format"], entry.detail["sha256"], entry.detail["destination"]) == ("html", digest, str(target))
    assert entry.detail["previews"] == sorted(s.id for s in case.sightings.values())
    [event] = case.store.audit_events(CASE)[events:]
    assert (event.action, event.actor, event.detail["sha256"], event.detail["custody_seq"]) == (
        "export-report", entry.actor, digest, entry.seq)
    assert target.stat().st_mode & 0o077 == 0  # the report holds URLs of the material: its owner's alone
    code, _, _ = cli(case.home, capsys, "report", CASE, "--format", "html", "-o", str(target))
    assert code == ReturnCode.USER_ERROR  # not replaced without --force
    code, _, _ = cli(case.home, capsys, "report", CASE, "--format", "json")
    assert code == ReturnCode.OK and len(list(case.vault.custody(CASE).entries())) == len(after)  # json reads no evidence


def test_a_report_of_a_case_with_no_evidence_decrypts_nothing_and_logs_nothing(case):
    case.store.ensure_case("no-evidence")
    assert kept_previews(case.vault, "no-evidence", [(1, "https://x.example/a.jpg")]).artefacts_read == 0
    report = build_report(case.store, "no-evidence")
    document = report_document(report, build_pictures(case.store, report), case.vault, "html", find_chromium)
    assert not document.decrypted_evidence


# -- PDF -------------------------------------------------------------------------------------------


def test_the_pdf_report_is_printed_with_its_pictures(case, capsys, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (Debian: poppler-utils)")
    target = tmp_path / "victim-7.pdf"
    # through the CLI: its private temporary folder under a deep home is too long a path for Chromium's
    # socket, which tracker.chromium works around
    code, _, err = cli(case.home, capsys, "report", CASE, "--format", "pdf", "-o", str(target))
    assert code == ReturnCode.OK, err
    pdf = target.read_bytes()
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True).stdout
    assert f"Case {CASE}" in text and "board.example" in text and "imgdrop.example" in text
    assert "First appearance" in text and "Spread between hosts" in text
    listed = subprocess.run(["pdfimages", "-list", str(target)], capture_output=True, text=True, check=True).stdout
    images = [row.split() for row in listed.splitlines()[2:]]  # page num type width height color comp bpc enc ...
    previews = [row for row in images if row[2] == "image" and row[8] == "jpeg"]
    canvases = [row for row in images if row[2] == "image" and row[8] == "image"]
    assert len(previews) >= 7 and all(row[5] == "gray" for row in previews)  # blurred greyscale, on paper too
    assert len(canvases) >= 2  # the timeline and the graph, printed as drawn (at twice the resolution)
    entry = list(case.vault.custody(CASE).entries())[-1]
    assert (entry.kind, entry.detail["format"], entry.detail["sha256"]) == ("export", "pdf", hashlib.sha256(pdf).hexdigest())


def test_without_chromium_a_pdf_stops_before_any_evidence_is_read(case, capsys, tmp_path):
    before = len(list(case.vault.custody(CASE).entries()))
    target = tmp_path / "victim-7.pdf"
    code, _, err = cli(case.home, capsys, "-s", f"SPREADTRACE_CHROMIUM={tmp_path / 'no-chromium'}", "report", CASE,
                       "--format", "pdf", "-o", str(target))  # fmt: skip
    assert code == ReturnCode.UNAVAILABLE and err.startswith("error: SPREADTRACE_CHROMIUM: no executable Chromium at")
    assert not target.exists() and len(list(case.vault.custody(CASE).entries())) == before


def test_a_pdf_needs_a_file_to_go_to(case, capsys):
    code, out, err = cli(case.home, capsys, "report", CASE, "--format", "pdf")
    assert code == ReturnCode.USER_ERROR and out == ""
    assert err.strip() == "error: --format pdf writes a file: name it with -o FILE"


# -- vendored builds ---------------------------------------------------------------------------------


def test_every_vendored_file_is_the_one_its_readme_names():
    readme = (VENDOR / "README.md").read_text()
    rows = re.findall(r"\| `([^`]+)`[^|]*\| `([0-9a-f]{64})` \|", readme)
    listed = {name: digest for name, digest in rows if not name.endswith(".tgz")}  # the tarballs are not kept
    files = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file() and p.name != "README.md"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def _ms(stamp: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def _edges(image: Image.Image) -> float:
    """Mean difference between horizontally neighbouring pixels: how much detail a picture holds."""
    pixels = list(image.getdata())
    width = image.width
    return sum(abs(pixels[i] - pixels[i + 1]) for i in range(len(pixels) - 1) if (i + 1) % width) / len(pixels)
