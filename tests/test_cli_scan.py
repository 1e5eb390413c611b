"""`scan` and `hash` on worker processes: the same records as in one process, in the order given, one error
line per bad file, and hash lists that `case import-hashes` reads and that then match."""

from __future__ import annotations

import json

import pytest

from simsites.corpus import TRANSFORMS, encode, generated_image, sample_image
from spreadtrace.errors import ReturnCode


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch):
    """Tables as wide as their paths, so a path is found whole in what was printed."""
    monkeypatch.setenv("COLUMNS", "500")


def write_references(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("coffee", "rocket"):
        (folder / f"{name}.png").write_bytes(encode(sample_image(name), "PNG"))
    return folder


@pytest.fixture
def downloads(tmp_path):
    """Two edited copies of the references among unrelated pictures, and a corrupt file."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "b-copy.jpg").write_bytes(TRANSFORMS["watermarked"].apply(sample_image("rocket"))[0])
    (folder / "f-copy.jpg").write_bytes(TRANSFORMS["reencoded"].apply(sample_image("coffee"))[0])
    (folder / "d-broken.jpg").write_bytes(encode(sample_image("coins"), "JPEG")[:300])
    for n in range(6):
        (folder / f"{'aceghi'[n]}-other.jpg").write_bytes(encode(generated_image(n, (160, 120))))
    return folder


def test_scan_on_workers_prints_what_one_process_does_in_the_order_given(run_cli, tmp_path, downloads):
    assert run_cli("case", "add", "c1", str(write_references(tmp_path / "reported"))).code == ReturnCode.OK
    missing = tmp_path / "gone.jpg"
    pooled = run_cli("scan", "--json", "--workers", "2", str(downloads), str(missing))
    alone = run_cli("scan", "--json", "--workers", "1", str(downloads), str(missing))
    assert pooled.code == alone.code == ReturnCode.OK
    assert pooled.out == alone.out
    records = json.loads(pooled.out)
    assert [r["path"] for r in records] == [*map(str, sorted(downloads.iterdir())), str(missing)]
    matched = {r["path"]: [(m["case"], m["reference_label"], m["verdict"]) for m in r["matches"]] for r in records}
    assert matched[str(downloads / "b-copy.jpg")] == [("c1", "rocket.png", "match")]
    assert matched[str(downloads / "f-copy.jpg")] == [("c1", "coffee.png", "match")]
    assert sum(bool(found) for found in matched.values()) == 2
    errors = [line for line in pooled.err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {downloads / 'd-broken.jpg'}: corrupt or truncated image: Truncated File Read",
                      f"error: {missing}: no such file or folder"]  # fmt: skip

    table = run_cli("scan", "--workers", "1", str(downloads))  # the table of the same records
    rows = [line for line in table.out.splitlines() if str(downloads) in line]
    assert [row.split()[1] for row in rows] == [str(p) for p in sorted(downloads.iterdir())]
    assert "c1 / rocket.png: match" in rows[1] and "corrupt or truncated" in rows[3]


def test_scan_fails_only_when_no_file_could_be_scanned(run_cli, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    result = run_cli("scan", str(folder))
    assert result.code == ReturnCode.FAILED
    assert len([line for line in result.err.splitlines() if line.startswith("error:")]) == 3


def test_hash_lists_what_case_add_exports_and_the_import_then_matches(run_cli, tmp_path):
    reported = write_references(tmp_path / "reported")
    (reported / "empty.jpg").write_bytes(b"")
    listed = tmp_path / "hashes.txt"
    result = run_cli("hash", "--workers", "2", str(reported), "-o", str(listed))
    assert result.code == ReturnCode.OK, result.err
    assert [line for line in result.err.splitlines() if line.startswith("error:")] == [
        f"error: {reported / 'empty.jpg'}: empty file (0 bytes)"
    ]
    assert listed.stat().st_mode & 0o777 == 0o600

    assert run_cli("case", "add", "added", str(reported)).code == ReturnCode.OK
    exported = run_cli("case", "export-hashes", "added").out
    assert listed.read_text() == exported  # coffee, then rocket: the order given, as they were added

    imported = run_cli("case", "import-hashes", "from-list", str(listed))
    assert "2 hash(es) imported" in imported.out, imported.err
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(TRANSFORMS["reencoded"].apply(sample_image("rocket"))[0])
    [record] = json.loads(run_cli("scan", "--json", str(copy)).out)
    found = {(m["case"], m["reference_label"], m["verdict"]) for m in record["matches"]}
    assert found == {("added", "rocket.png", "match"), ("from-list", "hashes.txt:2", "match")}

    again = run_cli("hash", str(reported), "-o", str(listed))
    assert again.code == ReturnCode.USER_ERROR and "exists (use --force to replace it)" in again.err
    csv = run_cli("hash", "--format", "csv", "--labels", str(reported / "rocket.png"))
    assert csv.out.splitlines() == ["signal_type,signal_value,quality,label",
                                    f"pdq,{exported.splitlines()[1].replace(',', ',', 1)},rocket.png"]  # fmt: skip


def test_hash_writes_no_list_when_nothing_could_be_hashed(run_cli, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    target = tmp_path / "hashes.txt"
    result = run_cli("hash", str(empty), "-o", str(target))
    assert result.code == ReturnCode.FAILED and not target.exists()
    assert not list(tmp_path.glob(".hashes.txt.*"))


def test_hash_writes_each_videos_vpdq_as_case_add_exports_it(run_cli, tmp_path):
    from simsites.videos import slideshow, write_video

    reported = tmp_path / "reported"
    reported.mkdir()
    write_video(reported / "clip.mp4", slideshow([sample_image("coffee"), sample_image("rocket")], 3.0, 10, (320, 240)), 10)
    refused = run_cli("hash", str(reported))
    assert refused.code == ReturnCode.FAILED and "--vpdq-dir" in refused.err

    videos = tmp_path / "videos"
    result = run_cli("hash", str(reported), "--vpdq-dir", str(videos))
    assert result.code == ReturnCode.OK, result.err
    assert result.out == ""  # no pictures, an empty list on stdout
    (written,) = videos.iterdir()
    assert written.name == "video-1.vpdq.txt"
    run_cli("case", "add", "added", str(reported))
    exported = tmp_path / "exported"
    run_cli("case", "export-hashes", "added", "--format", "vpdq", "-o", str(exported))
    assert written.read_text() == next(exported.iterdir()).read_text()
    assert "1 hash(es) imported" in run_cli("case", "import-hashes", "from-list", str(written)).out
