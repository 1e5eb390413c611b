"""`spreadtrace evidence export` and `evidence verify-wacz`: a case's captures (real WARCs made by
`EvidenceRecorder.capture`, screenshots recorded as the crawler records them) exported as a WACZ, checked by
py-wacz's validate and by our own checks, signed, timestamped by a real local TSA, with an evidence report
whose previews are blurred; each kind of tampering named."""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw
from warcio.archiveiterator import ArchiveIterator

from simsites.corpus import encode, sample_image
from spreadtrace.cli import main
from spreadtrace.errors import ReturnCode
from tests.local_tsa import LocalTSA
from tests.test_cli import write_references
from tracker import open_store
from tracker.evidence import Collector, EvidenceRecorder, open_vault
from tracker.evidence.authorities import add_authority
from tracker.evidence.stamps import Stamper
from tracker.evidence.vault import Artefact, EvidenceVault
from tracker.evidence.verify import verify_case
from tracker.evidence.wacz import ExportRequest, NothingToExport, export_wacz
from tracker.evidence.wacz_check import check_wacz
from tracker.evidence.wacz_sign import signing_key
from tracker.models import HttpExchange, Observation, Sighting
from tracker.states import Status

CASE = "rowan-case-17"
PAGE = "https://board.example/p/1"
MEDIA = "https://cdn.board.example/m/1.png"
FORUM_PAGE = "http://forum.example/t/5"
ATTACHMENT = "http://forum.example/attachment/9.png"
ANALYST = "analyst-1"


@dataclass
class Built:
    home: Path
    vault: EvidenceVault
    tsa: LocalTSA
    captures: list  # the capture entries, in order
    screenshots: dict  # capture seq -> the screenshot's PNG bytes
    pages: list  # (url, capture seq) each page must be


def cli(home: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--home", str(home), *args])
    return code, out.getvalue(), err.getvalue()


def certificate_der(host: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))  # fmt: skip
    return certificate.public_bytes(serialization.Encoding.DER)


def page_screenshot(seed: int) -> bytes:
    """A full-page screenshot stand-in: lines of text and a picture, sharp edges everywhere."""
    image = Image.new("RGB", (800, 1200), "white")
    draw = ImageDraw.Draw(image)
    rng = np.random.default_rng(seed)
    for row in range(60):
        draw.text((20, 20 + row * 19), " ".join("".join(rng.choice(list("abcdefghijklmnop"), 7)) for _ in range(9)), fill="black")
    image.paste(sample_image("coffee").resize((300, 200)), (450, 300))
    return encode(image, "PNG")


def sighting(n: int, page: str, media: str, status: Status = Status.ONLINE) -> Sighting:
    signals = ({"kind": "pdq", "distance": 3, "threshold": 31, "agreed": True},)
    return Sighting(n, CASE, 1, media, page, page.split("/")[2], "board", "ab" * 32, "2026-03-01T10:00:00Z",
                    "2026-03-01T10:00:00Z", status, 3, "pdq", signals)  # fmt: skip


def exchange(url: str, body: bytes | None, status: int = 200, kind: str = "text/html; charset=utf-8", **extra) -> HttpExchange:
    return HttpExchange(url, "2026-03-01T10:00:00Z", status, (("Content-Type", kind),), body,
                        (("User-Agent", "spreadtrace/0.1.0"),), ip="192.0.2.10", **extra)  # fmt: skip


def capture_case(vault: EvidenceVault) -> tuple[list, dict]:
    recorder = EvidenceRecorder(vault, Collector("Helpline", ANALYST, "spreadtrace/0.1.0"))
    picture = encode(sample_image("rocket"), "PNG")
    html = b"<html><head><title>Board &amp; thread 1</title></head><body><img src='/m/1.png'></body></html>"
    seen = Observation("2026-03-01T10:00:00Z", MEDIA, PAGE, http_status=200, sha256="ab" * 32)
    first = recorder.capture(sighting(1, PAGE, MEDIA), "first seen", seen, [
        exchange(PAGE, html, certificate=certificate_der("board.example")),
        exchange(MEDIA, picture, kind="image/png", certificate=certificate_der("cdn.board.example")),
    ])  # fmt: skip
    linked = Observation("2026-03-01T11:00:00Z", ATTACHMENT, FORUM_PAGE, http_status=200, sha256="ab" * 32)
    # A 304 for a file another capture holds: a revisit record naming it by digest, indexed as the page.
    known = hashlib.sha256(picture).hexdigest()
    attachment = recorder.capture(sighting(2, FORUM_PAGE, ATTACHMENT), "first seen", linked,
                                  [exchange(ATTACHMENT, None, 304, kind="image/png", payload_sha256=known)])  # fmt: skip
    gone = Observation("2026-03-05T10:00:00Z", MEDIA, PAGE, http_status=404)
    removal = recorder.capture(sighting(1, PAGE, MEDIA, Status.REMOVED), "removed", gone,
                               [exchange(PAGE, b"<html><title>Not found</title></html>", 404)])  # fmt: skip
    shots = {}
    for n, entry in enumerate((first, removal)):
        png = page_screenshot(n)
        vault.record(CASE, "screenshot", ANALYST, {
            "sighting": entry.detail["sighting"], "capture_seq": entry.seq, "page_url": entry.detail["page_url"],
            "final_url": entry.detail["page_url"], "taken_at": entry.detail["observed_at"], "http_status": 200,
            "viewport": {"width": 1280, "height": 800}, "page_height": 1200, "truncated": False,
            "browser": "Chromium 140.0", "collector": {"organisation": "Helpline", "analyst": ANALYST},
            "tool": "spreadtrace/0.1.0"}, [Artefact("screenshot", "image/png", png)])  # fmt: skip
        shots[entry.seq] = png
    return [first, attachment, removal], shots


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    home = tmp_path_factory.mktemp("export") / "home"
    reported = write_references(home.parent / "reported")
    for case_id in (CASE, "withdrawn-case", "damaged-case"):
        assert cli(home, "case", "add", case_id, str(reported))[0] == 0
    vault = open_vault(home)
    captures, shots = capture_case(vault)
    tsa = LocalTSA("local").start()
    root = home.parent / "root.pem"
    root.write_bytes(tsa.root.public_bytes(serialization.Encoding.PEM))
    add_authority(vault.root, "local", tsa.url, root)
    assert Stamper(vault.custody(CASE), vault.folder(CASE) / "timestamps", [tsa.authority()]).run() == []
    pages = [(PAGE, captures[0].seq), (ATTACHMENT, captures[1].seq), (PAGE, captures[2].seq)]
    yield Built(home, vault, tsa, captures, shots, pages)
    tsa.stop()


@pytest.fixture(scope="module")
def exported(built) -> tuple[Path, str, str]:
    target = built.home.parent / "case.wacz"
    code, out, err = cli(built.home, "evidence", "export", CASE, "-o", str(target), "--actor", "lawyer-2")
    assert code == 0, err
    return target, out, err


@pytest.fixture
def home(built) -> Path:  # run_cli's home: the module's
    return built.home


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def rewrite(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """A copy of the WACZ with some members' content replaced, each stored as before (CRCs right)."""
    changes = dict(changes)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info, changes.pop(info.filename, old.read(info.filename)), compress_type=info.compress_type)
    assert not changes
    return target


# -- the bundle ---------------------------------------------------------------------------------------


def test_py_wacz_validate_passes_and_our_own_check_too(exported):
    path, _, _ = exported
    validated = subprocess.run([str(Path(sys.executable).parent / "wacz"), "validate", "-f", str(path)], capture_output=True, text=True)
    assert validated.returncode == 0 and "Validation succeeded" in validated.stdout, validated.stdout + validated.stderr
    check = check_wacz(path)
    assert check.ok, check.problems
    assert check.case_id == CASE and [s["tsa"] for s in check.stamps] == ["local"]


def test_its_pages_are_the_captured_pages_exactly(built, exported):
    path, _, _ = exported
    header, *pages = [json.loads(line) for line in members(path)["pages/pages.jsonl"].splitlines()]
    assert header == {"format": "json-pages-1.0", "id": "pages", "title": f"Captures of case {CASE}"}
    assert [(p["url"], p["capture"]) for p in pages] == built.pages  # the attachment's page is its file
    assert pages[0]["title"] == "Board & thread 1" and pages[2]["title"] == "Not found"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["ts"]) for p in pages)


def test_the_layout_follows_wacz_and_each_warc_is_the_sealed_artefact(built, exported):
    path, _, _ = exported
    content = members(path)
    package = json.loads(content["datapackage.json"])
    assert (package["profile"], package["wacz_version"], package["software"]) == ("data-package", "1.1.1", "spreadtrace/0.1.0")
    assert package["home"] == {"url": PAGE, "ts": "2026-03-01T10:00:00Z"}
    listed = {r["path"] for r in package["resources"]}
    assert listed == set(content) - {"datapackage.json", "datapackage-digest.json"}
    assert {"indexes/index.cdxj", "pages/pages.jsonl", "custody/custody.jsonl", "report/evidence.html",
            "report/evidence.pdf", "archive/screenshots.warc.gz"} <= listed  # fmt: skip
    assert any(p.startswith("timestamps/batch-") for p in listed) and sum(p.startswith("certificates/") for p in listed) == 2
    with zipfile.ZipFile(path) as bundle:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in bundle.infolist() if i.filename.startswith("archive/"))
    for entry in built.captures:
        [warc] = [a for a in entry.detail["artefacts"] if a["role"] == "warc"]
        assert content[f"archive/capture-{entry.seq:08d}.warc.gz"] == b"".join(built.vault.read(CASE, warc["sha256"]))
    # the screenshots: resource records at urn:view:PAGE, the PNG as recorded, in the index too
    shots = [(r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("Content-Type"), r.content_stream().read())
             for r in ArchiveIterator(io.BytesIO(content["archive/screenshots.warc.gz"])) if r.rec_type == "resource"]  # fmt: skip
    assert shots == [(f"urn:view:{PAGE}", "image/png", png) for png in built.screenshots.values()]
    index = content["indexes/index.cdxj"].decode().splitlines()
    assert index == sorted(index) and sum(f'"url": "urn:view:{PAGE}"' in line for line in index) == 2
    assert all('"recordDigest": "sha256:' in line for line in index)


def test_it_is_signed_with_the_homes_key_and_timestamped(built, exported):
    path, out, _ = exported
    key_file = built.home / "keys" / "signing.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    fingerprint = signing_key(key_file.parent).fingerprint
    digest = json.loads(members(path)["datapackage-digest.json"])
    assert set(digest["signedData"]) == {"hash", "created", "software", "version", "signature", "publicKey"}
    assert len(base64.b64decode(digest["signedData"]["signature"])) == 64  # WebCrypto's raw r || s
    assert f"signed by key {fingerprint}" in out and re.search(r"timestamped by local at \d{4}-", out)
    assert check_wacz(path, signer=fingerprint).ok
    assert check_wacz(path, signer="00" * 32).problems == [f"datapackage-digest.json: signed by key {fingerprint}, not {'00' * 32}"]


def test_the_export_is_a_custody_entry_and_an_audit_event_and_the_chain_still_verifies(built, exported):
    path, _, _ = exported
    [entry] = [e for e in built.vault.custody(CASE).entries() if e.kind == "export" and e.detail["file"] == path.name]
    assert entry.actor == "lawyer-2" and entry.detail["exported_by"] == "lawyer-2"
    assert (entry.detail["file"], entry.detail["size"]) == (path.name, path.stat().st_size)
    assert entry.detail["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry.detail["captures"] == 3 and entry.detail["signing_key"] == signing_key(built.home / "keys").fingerprint
    assert [t["tsa"] for t in entry.detail["timestamps"]] == ["local"] and entry.detail["timestamp_failures"] == []
    assert verify_case(built.vault, CASE, ["local"]).ok
    store = open_store(f"sqlite:///{built.home / 'spreadtrace.db'}")
    try:
        events = [e for e in store.audit_events(CASE) if e.action == "export-evidence"]
    finally:
        store.close()
    assert events and events[0].actor == "lawyer-2" and events[0].detail["sha256"] == entry.detail["sha256"]


# -- tampering ----------------------------------------------------------------------------------------


def test_a_byte_flipped_in_a_warc_is_named(built, exported, tmp_path):
    path, _, _ = exported
    name = f"archive/capture-{built.captures[0].seq:08d}.warc.gz"
    warc = bytearray(members(path)[name])
    warc[len(warc) // 2] ^= 1
    problems = check_wacz(rewrite(path, tmp_path / "t.wacz", {name: bytes(warc)})).problems
    assert f"{name}: changed (its SHA-256 or size is not the one datapackage.json lists)" in problems
    sealed = built.captures[0].detail["artefacts"][0]["sha256"]
    assert f"{name}: not the WARC custody entry {built.captures[0].seq} names ({sealed})" in problems
    raw = bytearray(path.read_bytes())  # flipped in the file itself: the ZIP's own CRC names it
    at = raw.find(bytes(members(path)[name][1000:1032]))
    raw[at] ^= 1
    (tmp_path / "raw.wacz").write_bytes(bytes(raw))
    assert any(p.startswith(f"{name}: unreadable, damaged in the ZIP") for p in check_wacz(tmp_path / "raw.wacz").problems)


def test_an_edited_datapackage_is_named(exported, tmp_path):
    path, _, _ = exported
    package = members(path)["datapackage.json"].replace(b"Evidence of case", b"Evidence of kase")
    problems = check_wacz(rewrite(path, tmp_path / "t.wacz", {"datapackage.json": package})).problems
    assert problems == ["datapackage.json: changed (its hash is not the one datapackage-digest.json holds)",
                        "datapackage-digest.json: signedData signs another hash than datapackage.json's",
                        f"datapackage-digest.json: its token from local does not verify: {problems[2].split(': ', 3)[-1]}"]  # fmt: skip


def test_a_swapped_signature_and_a_swapped_token_are_named(built, exported, tmp_path):
    path, _, _ = exported
    second = tmp_path / "second.wacz"
    assert cli(built.home, "evidence", "export", CASE, "-o", str(second))[0] == 0
    mine, theirs = (json.loads(members(p)["datapackage-digest.json"]) for p in (path, second))
    swapped = {**mine, "signedData": {**mine["signedData"], "signature": theirs["signedData"]["signature"]}}
    problems = check_wacz(rewrite(path, tmp_path / "s.wacz", {"datapackage-digest.json": json.dumps(swapped).encode()})).problems
    assert problems == ["datapackage-digest.json: the signature does not verify (datapackage.json or the signature was changed)"]
    swapped = {**mine, "timestamps": theirs["timestamps"]}
    problems = check_wacz(rewrite(path, tmp_path / "k.wacz", {"datapackage-digest.json": json.dumps(swapped).encode()})).problems
    assert len(problems) == 1 and problems[0].startswith("datapackage-digest.json: its token from local does not verify")
    code, _, err = cli(built.home, "evidence", "verify-wacz", str(tmp_path / "k.wacz"))
    assert code == ReturnCode.FAILED and err.startswith("error: k.wacz: datapackage-digest.json: its token from local does not verify")


def test_a_removed_page_list_and_a_changed_custody_log_are_named(exported, tmp_path):
    path, _, _ = exported
    content = members(path)
    custody = content["custody/custody.jsonl"].replace(b'"why":"removed"', b'"why":"moved"')
    problems = check_wacz(rewrite(path, tmp_path / "c.wacz", {"custody/custody.jsonl": custody})).problems
    assert "custody/custody.jsonl: changed (its SHA-256 or size is not the one datapackage.json lists)" in problems
    assert any(p.startswith("custody/custody.jsonl entry ") and "changed" in p for p in problems)
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(tmp_path / "p.wacz", "w") as new:
        for info in old.infolist():
            if info.filename != "pages/pages.jsonl":
                new.writestr(info, old.read(info.filename))
    problems = check_wacz(tmp_path / "p.wacz").problems
    assert "pages/pages.jsonl: missing" in problems and "pages/pages.jsonl: missing (listed in datapackage.json)" in problems


# -- the report ---------------------------------------------------------------------------------------


def high_frequency_energy(picture: Image.Image) -> float:
    """Mean absolute difference between neighbouring pixels: text and edges have much, a blur little."""
    grey = np.asarray(picture.convert("L"), dtype=np.float64)
    return float(np.mean(np.abs(np.diff(grey, axis=0))) + np.mean(np.abs(np.diff(grey, axis=1))))


def test_the_report_shows_each_screenshot_only_blurred_and_greyscale(built, exported):
    path, _, _ = exported
    html = members(path)["report/evidence.html"].decode()
    previews = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(previews) == len(built.screenshots) == 2
    assert "data:image/png" not in html and "<script" not in html
    for encoded, png in zip(previews, built.screenshots.values()):
        preview = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert preview.mode == "L" and base64.b64encode(png)[:200].decode() not in html
        original = Image.open(io.BytesIO(png)).convert("L").resize(preview.size)
        assert high_frequency_energy(preview) < 0.2 * high_frequency_energy(original)
    for needed in (CASE, "lawyer-2", signing_key(built.home / "keys").fingerprint, "192.0.2.10", MEDIA, ATTACHMENT,
                   "stamped by local at", built.captures[0].detail["certificates"][PAGE], "decided by pdq"):  # fmt: skip
        assert needed in html, needed


def test_the_pdf_report_is_a_pdf_with_the_case_in_it(exported, tmp_path):
    path, _, _ = exported
    pdf = members(path)["report/evidence.pdf"]
    assert pdf.startswith(b"%PDF") and re.search(rb"/Type\s*/Page[^s]", pdf)
    if shutil.which("pdftotext"):
        (tmp_path / "r.pdf").write_bytes(pdf)
        text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True).stdout
        assert f"Evidence report: case {CASE}" in text and "Capture 3" in text


# -- faults -------------------------------------------------------------------------------------------


def test_a_tsa_outage_still_exports_and_says_which_tsa_failed(built, tmp_path):
    built.tsa.mode = "down"
    try:
        code, out, err = cli(built.home, "evidence", "export", CASE, "-o", str(tmp_path / "down.wacz"))
    finally:
        built.tsa.mode = "ok"
    assert code == 0, err
    [line] = err.splitlines()
    assert line.startswith(f"warning: TSA local ({built.tsa.url}) did not answer") and line.endswith(": the bundle is not timestamped by it")
    assert "timestamped by" not in out
    check = check_wacz(tmp_path / "down.wacz")
    assert check.ok and check.stamps == [] and check.notes[0] == "not timestamped: no TSA token over datapackage.json"
    entry = list(built.vault.custody(CASE).entries())[-1]
    assert entry.kind == "export" and entry.detail["timestamps"] == [] and "did not answer" in entry.detail["timestamp_failures"][0]


def test_with_no_tsa_configured_it_exports_and_says_it_is_not_timestamped(built, tmp_path):
    config = built.vault.root / "tsa.toml"
    config.rename(config.with_suffix(".off"))
    try:
        code, _, err = cli(built.home, "evidence", "export", CASE, "-o", str(tmp_path / "none.wacz"))
    finally:
        config.with_suffix(".off").rename(config)
    assert code == 0 and err.strip() == "warning: not timestamped: no time-stamping authority configured (see: spreadtrace evidence tsa --help)"
    assert check_wacz(tmp_path / "none.wacz").ok


def test_without_chromium_it_exports_the_html_report_and_says_there_is_no_pdf(built, tmp_path):
    missing = tmp_path / "no-chromium"
    code, _, err = cli(built.home, "-s", f"SPREADTRACE_CHROMIUM={missing}", "evidence", "export", CASE, "-o", str(tmp_path / "n.wacz"))
    assert code == 0 and err == f"warning: no PDF report, the HTML one only: SPREADTRACE_CHROMIUM: no executable Chromium at {missing}\n"
    content = members(tmp_path / "n.wacz")
    assert "report/evidence.pdf" not in content and "No PDF of this report" in content["report/evidence.html"].decode()
    assert check_wacz(tmp_path / "n.wacz").ok


def test_an_unknown_or_withdrawn_case_is_refused_in_one_line(built, run_cli, tmp_path):
    unknown = run_cli("evidence", "export", "nobody", "-o", str(tmp_path / "x.wacz"))
    assert unknown.code == ReturnCode.USER_ERROR and unknown.err == "error: unknown case 'nobody' (see: spreadtrace case list)\n"
    built.vault.record("withdrawn-case", "capture", ANALYST, {"page_url": PAGE}, [Artefact("warc", "application/warc", b"x")])
    assert run_cli("case", "withdraw", "withdrawn-case", "--reason", "victim's request", "--yes").code == 0
    withdrawn = run_cli("evidence", "export", "withdrawn-case", "-o", str(tmp_path / "w.wacz"))
    assert withdrawn.code == ReturnCode.USER_ERROR and len(withdrawn.err.splitlines()) == 1
    assert re.fullmatch(r"error: case 'withdrawn-case' was withdrawn at \S+: its evidence is destroyed, nothing to export\n", withdrawn.err)
    with pytest.raises(NothingToExport, match="was withdrawn at .*: its evidence is destroyed"):  # the tombstone alone says so
        export_wacz(built.vault, ExportRequest("withdrawn-case", ANALYST, "spreadtrace/0.1.0"), tmp_path / "w.wacz")
    assert not list(tmp_path.iterdir())  # nothing written, not even a temporary file


def test_damaged_evidence_is_refused_unless_asked_and_then_the_report_says_so(built, run_cli, tmp_path):
    vault = built.vault
    entry = vault.record("damaged-case", "capture", ANALYST, {"page_url": PAGE, "media_url": MEDIA, "page_in_warc": True},
                         [Artefact("warc", "application/warc", b"not really a warc" * 100)])  # fmt: skip
    sealed = vault.folder("damaged-case") / "artefacts" / entry.detail["artefacts"][0]["sha256"]
    sealed.write_bytes(sealed.read_bytes()[:-1])
    refused = run_cli("evidence", "export", "damaged-case", "-o", str(tmp_path / "d.wacz"))
    assert refused.code == ReturnCode.FAILED and not (tmp_path / "d.wacz").exists()
    first, last = refused.err.splitlines()
    assert first.startswith(f"error: case damaged-case: artefact {sealed.name} of entry 1:") and "does not decrypt" in first
    assert last.startswith("error: case damaged-case: its evidence fails verification, nothing exported")
    done = run_cli("evidence", "export", "damaged-case", "-o", str(tmp_path / "d.wacz"), "--even-if-damaged")
    assert done.code == 0, done.err
    html = members(tmp_path / "d.wacz")["report/evidence.html"].decode()
    assert html.index("This evidence failed verification and was exported anyway") < html.index("Exported at")
    assert "does not decrypt" in html and "WARC not in this bundle (damaged)" in html
    assert "archive/capture-00000001.warc.gz: missing (the WARC of custody entry 1)" in check_wacz(tmp_path / "d.wacz").problems


def test_verify_wacz_reports_a_good_bundle_in_one_line(exported, run_cli):
    path, _, _ = exported
    result = run_cli("evidence", "verify-wacz", str(path))
    assert result.code == 0, result.err
    assert re.search(rf"{path.name}: case {CASE}, 3 page\(s\), signed by key [0-9a-f]{{64}}, timestamped by local at \S+: ok", result.out)
