"""The CLI in-process through main(argv): commands, their output and their bad-input errors."""

from __future__ import annotations

import json

from simsites.corpus import TRANSFORMS, encode, sample_image
from simsites.world import _bomb_png
from spreadtrace.errors import ReturnCode


def write_references(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("coffee", "rocket"):
        (folder / f"{name}.png").write_bytes(encode(sample_image(name), "PNG"))
    return folder


def test_case_add_hashes_files_and_keeps_no_copy(run_cli, tmp_path, home):
    reported = write_references(tmp_path / "reported")
    result = run_cli("case", "add", "case-1", str(reported))
    assert result.code == ReturnCode.OK, result.err
    assert "2 reference(s) added" in result.out
    assert not any(p.suffix == ".png" for p in home.rglob("*"))  # hashes only, never the files
    again = run_cli("case", "add", "case-1", str(reported / "coffee.png"))
    assert "0 reference(s) added, 1 already registered" in again.out
    listing = run_cli("case", "list")
    assert "case-1" in listing.out and "2" in listing.out


def test_case_add_reports_each_bad_file_and_carries_on(run_cli, tmp_path):
    folder = write_references(tmp_path / "mixed")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(encode(sample_image("coins"), "JPEG")[:500])
    (folder / "bomb.png").write_bytes(_bomb_png(60_000, 60_000))
    (folder / "notes.txt").write_text("ignored: not an image name inside a folder")
    missing = tmp_path / "nowhere.jpg"
    result = run_cli("case", "add", "case-2", str(folder), str(missing))
    assert result.code == ReturnCode.OK
    assert "2 reference(s) added" in result.out and "4 file(s) skipped" in result.out
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert any("empty.jpg: empty file" in e for e in errors)
    assert any("truncated.jpg: corrupt or truncated" in e for e in errors)
    assert any("bomb.png: image too large" in e for e in errors)
    assert any(f"{missing}: no such file" in e for e in errors)


def test_case_add_fails_when_nothing_could_be_added(run_cli, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = run_cli("case", "add", "case-3", str(empty))
    assert result.code == ReturnCode.FAILED
    assert run_cli("report", "case-3").code == ReturnCode.USER_ERROR  # no case was created for nothing


def test_unknown_and_invalid_names_are_one_line_user_errors(run_cli, tmp_path):
    result = run_cli("report", "no-such-case")
    assert result.code == ReturnCode.USER_ERROR
    assert result.err.strip() == "error: unknown case 'no-such-case' (see: spreadtrace case list)"
    write_references(tmp_path / "r")
    bad = run_cli("case", "add", "../../etc", str(tmp_path / "r"))
    assert bad.code == ReturnCode.USER_ERROR and "invalid case name" in bad.err
    crawl = run_cli("crawl", "--site", "ghost")
    assert crawl.code == ReturnCode.USER_ERROR and "unknown site 'ghost'" in crawl.err


def test_site_add_validates_and_lists(run_cli, home):
    bad = run_cli("site", "add", "board", "not a url")
    assert bad.code == ReturnCode.USER_ERROR and "'not a url' is not an http(s) URL" in bad.err
    ok = run_cli("site", "add", "board", "https://board.example/b/", "--allow-domain", "board.example", "--every", "6h")
    assert ok.code == ReturnCode.OK
    assert (home / "sites.toml").exists()
    listing = run_cli("site", "list")
    assert "board" in listing.out and "https://board.example/b/" in listing.out
    assert run_cli("site", "add", "board", "https://other.example/").code == ReturnCode.USER_ERROR


def test_crawl_without_sites_says_how_to_add_one(run_cli):
    result = run_cli("crawl")
    assert result.code == ReturnCode.USER_ERROR and "spreadtrace site add" in result.err


def test_scan_json_shows_matches_with_signals(run_cli, tmp_path):
    run_cli("case", "add", "case-4", str(write_references(tmp_path / "r")))
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(TRANSFORMS["watermarked"].apply(sample_image("rocket"))[0])
    other = tmp_path / "other.jpg"
    other.write_bytes(encode(sample_image("moon")))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    result = run_cli("scan", "--json", str(copy), str(other), str(broken))
    assert result.code == ReturnCode.OK
    by_path = {r["path"]: r for r in json.loads(result.out)}
    [match] = by_path[str(copy)]["matches"]
    # PDQ lands in the gray zone for this watermark; pHash agrees and the geometric check confirms.
    assert (match["case"], match["reference_label"], match["verdict"]) == ("case-4", "rocket.png", "match")
    assert match["decided_by"] == "pdq+phash+orb" and match["agreed"] == ["phash", "dhash", "orb"]
    assert {s["kind"] for s in match["signals"]} == {"pdq", "phash", "dhash", "orb"}
    assert match["verification"]["inliers"] >= 16 and 0.7 <= match["confidence"] <= 1
    assert by_path[str(other)]["matches"] == []
    assert by_path[str(broken)]["error"]
    assert f"error: {broken}:" in result.err


def test_settings_override_must_be_name_equals_value(run_cli):
    result = run_cli("-s", "SPREADTRACE_PDQ_MAX_DISTANCE", "case", "list")
    assert result.code == ReturnCode.USER_ERROR and "NAME=VALUE" in result.err


def test_hash_lists_import_export_round_trip_and_exports_are_audited(run_cli, tmp_path, hash_options):
    from matcher import hash_media
    from tracker import open_store

    pdq = next(s for s in hash_media(encode(sample_image("rocket"), "PNG"), hash_options).signals if s.kind == "pdq")
    hashes = tmp_path / "partner.txt"
    hashes.write_text(f"# shared by a partner\n{pdq.value},100\nnot-a-hash\n{'0' * 63}\n")
    refused = run_cli("case", "import-hashes", "shared", str(hashes))
    assert refused.code == ReturnCode.USER_ERROR
    assert f"error: {hashes}:3:" in refused.err and f"error: {hashes}:4:" in refused.err
    assert "nothing imported" in refused.err
    imported = run_cli("case", "import-hashes", "shared", str(hashes), "--skip-bad")
    assert imported.code == ReturnCode.OK and "1 hash(es) imported, 0 already held, 2 line(s) skipped" in imported.out

    copy = tmp_path / "copy.jpg"
    copy.write_bytes(TRANSFORMS["reencoded"].apply(sample_image("rocket"))[0])
    [match] = json.loads(run_cli("scan", "--json", str(copy)).out)[0]["matches"]
    assert (match["case"], match["reference_label"], match["verdict"]) == ("shared", "partner.txt:2", "match")

    exported = run_cli("case", "export-hashes", "shared", "--format", "csv")
    assert exported.out.splitlines() == ["signal_type,signal_value,quality", f"pdq,{pdq.value},100"]
    target = tmp_path / "out.txt"
    run_cli("case", "export-hashes", "shared", "-o", str(target))
    assert target.read_text() == f"{pdq.value},100\n"
    store = open_store(f"sqlite:///{tmp_path / 'home' / 'spreadtrace.db'}")
    try:
        events = store.audit_events("shared")
    finally:
        store.close()
    assert [(e.action, e.detail["destination"], e.detail["hashes"]) for e in events] == [
        ("export-hashes", "stdout", 1), ("export-hashes", str(target), 1),
    ]  # fmt: skip
    again = run_cli("case", "import-hashes", "shared", str(target))
    assert "0 hash(es) imported, 1 already held" in again.out


def test_videos_are_added_scanned_and_exchanged_as_vpdq(run_cli, tmp_path):
    from simsites.corpus import sample_image
    from simsites.videos import slideshow, write_video

    reported = tmp_path / "reported"
    reported.mkdir()
    write_video(reported / "clip.mp4", slideshow([sample_image("coffee"), sample_image("rocket")], 3.0, 10, (320, 240)), 10)
    added = run_cli("case", "add", "case-v", str(reported))
    assert added.code == ReturnCode.OK, added.err
    assert "1 reference(s) added" in added.out
    exported = tmp_path / "vpdq"
    result = run_cli("case", "export-hashes", "case-v", "--format", "vpdq", "-o", str(exported))
    assert result.code == ReturnCode.OK, result.err
    (written,) = exported.iterdir()
    assert written.name.endswith(".vpdq.txt") and "clip" not in written.read_text()  # no label unless asked
    imported = run_cli("case", "import-hashes", "case-w", str(written))
    assert "1 hash(es) imported" in imported.out, imported.err
    scanned = run_cli("scan", "--json", str(reported / "clip.mp4"))
    matches = json.loads(scanned.out)[0]["matches"]
    assert {m["case"] for m in matches} == {"case-v", "case-w"}
    assert all(m["decided_by"] == "vpdq+align" and m["segments"] for m in matches)
