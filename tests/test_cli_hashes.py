"""Hash lists at the edges: imports that are all or nothing (bad lines, huge lines, interrupted, killed),
exports that never overwrite by surprise, never leave half a file, are logged only when they happened, and
never let a label become a line."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spreadtrace.errors import ReturnCode
from tests.conftest import interruptible
from tests.test_cli_failures import ROOT, error_lines, run_spreadtrace
from tracker import open_store


def pdq_lines(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(256):064x},{rng.randint(50, 100)}" for _ in range(count)]


def stored(home: Path, case_id: str) -> tuple[list, list]:
    """The case's references and its audit events, read from the store the CLI wrote."""
    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        if case_id not in {c.id for c in store.list_cases()}:
            return [], store.audit_events(case_id)
        return store.references(case_id), store.audit_events(case_id)
    finally:
        store.close()


def test_a_line_too_long_is_one_error_line_and_skip_bad_imports_the_rest(run_cli, home, tmp_path):
    good = pdq_lines(2)
    listing = tmp_path / "partner.txt"
    listing.write_bytes(f"{good[0]}\n".encode() + b"f" * 1_000_000 + f"\n\xff\xfe not text\n{good[1]}\n".encode("latin-1"))
    refused = run_cli("case", "import-hashes", "shared", str(listing))
    assert refused.code == ReturnCode.USER_ERROR
    assert error_lines(refused.err) == [
        f"error: {listing}:2: line longer than 65,536 bytes",
        f"error: {listing}:3: not UTF-8 text (byte 1 of the line)",
        f"error: {listing}: 2 malformed line(s), nothing imported (--skip-bad imports the rest)",
    ]  # fmt: skip
    assert stored(home, "shared") == ([], [])  # not even the case
    imported = run_cli("case", "import-hashes", "shared", str(listing), "--skip-bad")
    assert imported.code == ReturnCode.OK
    assert "2 hash(es) imported, 0 already held, 2 line(s) skipped" in imported.out
    assert [r.label for r in stored(home, "shared")[0]] == ["partner.txt:1", "partner.txt:4"]


def test_an_import_is_all_or_nothing_to_the_last_line(run_cli, home, tmp_path):
    listing = tmp_path / "many.txt"
    listing.write_text("\n".join([*pdq_lines(12_000), "not-a-hash"]) + "\n")
    refused = run_cli("case", "import-hashes", "shared", str(listing))
    assert refused.code == ReturnCode.USER_ERROR and f"error: {listing}:12001:" in refused.err
    assert stored(home, "shared") == ([], [])
    listing.write_text("\n".join(pdq_lines(12_000) + pdq_lines(10)) + "\n")  # ten repeated within the list
    imported = run_cli("case", "import-hashes", "shared", str(listing))
    assert "12000 hash(es) imported, 10 already held" in imported.out
    again = run_cli("case", "import-hashes", "shared", str(listing))
    assert "0 hash(es) imported, 12010 already held" in again.out
    assert len(stored(home, "shared")[0]) == 12_000


def test_labels_with_control_characters_are_refused_line_by_line(run_cli, tmp_path):
    listing = tmp_path / "labelled.csv"
    [a, b, c] = (line.split(",")[0] for line in pdq_lines(3))
    listing.write_text(f'pdq,label\n{a},holiday.jpg\n{b},"two\u2028lines.jpg"\n{c},"bell\x07.jpg"\n', encoding="utf-8")
    result = run_cli("case", "import-hashes", "shared", str(listing), "--skip-bad")
    assert result.code == ReturnCode.OK and "1 hash(es) imported" in result.out
    assert error_lines(result.err) == [
        f"error: {listing}:3: label 'two\\u2028lines.jpg' holds a control character or line break",
        f"error: {listing}:4: label 'bell\\x07.jpg' holds a control character or line break",
    ]  # fmt: skip


def _import_in_flight(home: Path, lines: list[str]) -> subprocess.Popen[str]:
    """An import from standard input that has read ``lines`` and waits for more, inside its transaction."""
    home.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "spreadtrace", "--home", str(home), "case", "import-hashes", "big", "-"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write("\n".join(lines) + "\n")
    process.stdin.flush()
    while not _write_locked(home / "spreadtrace.db"):  # the import holds the store's write lock until it ends
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    return process


def _write_locked(database: Path) -> bool:
    if not database.exists():
        return False
    probe = sqlite3.connect(database, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    finally:
        probe.close()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_an_import_stopped_half_way_leaves_nothing(how, tmp_path):
    home = tmp_path / "home"
    process = _import_in_flight(home, pdq_lines(30_000))
    process.send_signal(getattr(signal, how))
    out, err = process.communicate(timeout=120)  # standard input is still open: nothing waits on its end
    assert stored(home, "big") == ([], [])
    if how == "SIGKILL":
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == ReturnCode.FAILED
        assert error_lines(err) == ["error: stdin: import interrupted, nothing imported"]


def test_export_never_replaces_a_file_without_force_and_writes_it_private(run_cli, home, tmp_path):
    listing = tmp_path / "partner.txt"
    listing.write_text("\n".join(pdq_lines(3)) + "\n")
    run_cli("case", "import-hashes", "shared", str(listing))
    target = tmp_path / "out.txt"
    target.write_text("a partner's file, not ours to lose")
    refused = run_cli("case", "export-hashes", "shared", "-o", str(target))
    assert refused.code == ReturnCode.USER_ERROR
    assert error_lines(refused.err) == [f"error: {target} exists (use --force to replace it)"]
    assert target.read_text() == "a partner's file, not ours to lose"
    assert stored(home, "shared")[1] == []  # refused: not an export
    forced = run_cli("case", "export-hashes", "shared", "-o", str(target), "--force")
    assert forced.code == ReturnCode.OK
    assert target.read_text().splitlines() == pdq_lines(3)
    assert target.stat().st_mode & 0o777 == 0o600
    assert [e.detail["destination"] for e in stored(home, "shared")[1]] == [str(target)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "out.txt", "partner.txt"]  # no temporary file


def test_a_failed_export_leaves_no_file_and_no_log(run_cli, home, tmp_path):
    listing = tmp_path / "partner.txt"
    listing.write_text("\n".join(pdq_lines(2000)) + "\n")
    run_cli("case", "import-hashes", "shared", str(listing))
    (tmp_path / "a-file").write_text("not a folder")
    nowhere = tmp_path / "a-file" / "out.txt"
    result = run_cli("case", "export-hashes", "shared", "-o", str(nowhere))
    assert result.code == ReturnCode.UNAVAILABLE
    assert error_lines(result.err) == [f"error: cannot use {nowhere}: a part of the path is a file, not a folder"]
    # Cut off mid-file: no file may grow past 64 KiB, and the export is about 140 KiB.
    target = tmp_path / "out.txt"
    cut = run_spreadtrace(home, "case", "export-hashes", "shared", "-o", str(target), preexec_fn=_files_up_to_64k)
    assert cut.returncode == ReturnCode.UNAVAILABLE, cut.stderr
    assert error_lines(cut.stderr) == [f"error: cannot write {target}: file too large (a size limit of the file system or the process)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "home", "partner.txt"]
    assert stored(home, "shared")[1] == []


def _files_up_to_64k() -> None:
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65_536, 65_536))


def test_a_stored_label_with_a_line_break_stays_on_its_line(run_cli, home, tmp_path):
    listing = tmp_path / "partner.txt"
    lines = pdq_lines(2)
    listing.write_text("\n".join(f"{line},name{i}.jpg" for i, line in enumerate(lines)) + "\n")
    run_cli("case", "import-hashes", "shared", str(listing))
    forged = f"x.jpg\n{'0' * 64},100\r\u2028"  # as a label stored before labels were checked could be
    with sqlite3.connect(home / "spreadtrace.db") as db:
        db.execute("UPDATE refs SET label = ? WHERE label = 'name0.jpg'", (forged,))
    for fmt in ("txt", "csv"):
        out = run_cli("case", "export-hashes", "shared", "--labels", "--format", fmt).out
        rows = out.splitlines()[1:] if fmt == "csv" else out.splitlines()
        assert len(rows) == 2 and not any(row.startswith("0" * 64) for row in rows)
        assert "x.jpg\\n" in rows[0] and "\\r\\u2028" in rows[0]
