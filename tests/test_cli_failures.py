"""The CLI where the machine says no: a read-only or full home, unreadable files and folders, names that look
like markup. Each failure is one ``error:`` line naming the path, and the documented exit code.

Read-only homes are made with file modes. Root ignores modes, so as root the command runs with
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped (modes then apply to it as to anyone); the same paths are
also driven by mechanisms that hold for every user: a home below a regular file (ENOTDIR) and a file-size
limit of 0 (RLIMIT_FSIZE, so every write fails with EFBIG, as on a full disk).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from simsites.corpus import encode, sample_image
from spreadtrace.cli import main
from spreadtrace.errors import ReturnCode

ROOT = Path(__file__).resolve().parent.parent
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def run_spreadtrace(home: Path, *args: str, preexec_fn=None, **kwargs) -> subprocess.CompletedProcess[str]:
    """`python -m spreadtrace --home HOME ARGS` from the checkout, as a separate process."""
    env = {k: v for k, v in os.environ.items() if k != "SPREADTRACE_HOME"} | {"COLUMNS": "500"}  # tables unfolded
    command = [sys.executable, "-m", "spreadtrace", "--home", str(home), *args]
    return subprocess.run(command, cwd=ROOT, env=env, preexec_fn=preexec_fn, capture_output=True, text=True,
                          timeout=300, **kwargs)  # fmt: skip


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def _modes_apply() -> None:
    """preexec_fn: as root, give up the capabilities that ignore file modes (for this child and what it runs)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _no_file_growth() -> None:
    """preexec_fn: any write that grows a file fails with EFBIG (SIGXFSZ ignored), as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


@pytest.fixture(scope="session")
def modes_apply(tmp_path_factory):
    """The preexec_fn under which file modes bind the child; skips when that cannot be had."""
    folder = tmp_path_factory.mktemp("modes")
    folder.chmod(0o500)
    try:
        probe = subprocess.run([sys.executable, "-c", f"open({str(folder / 'x')!r}, 'w')"], preexec_fn=_modes_apply,
                               capture_output=True, text=True)  # fmt: skip
    except subprocess.SubprocessError as exc:
        pytest.skip(f"running as root and cannot drop CAP_DAC_OVERRIDE ({exc}): file modes would not apply")
    finally:
        folder.chmod(0o700)
    if "PermissionError" not in probe.stderr:
        pytest.skip("file modes do not bind this process (root with CAP_DAC_OVERRIDE kept)")
    return _modes_apply


def pictures(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sample in zip(names, ("coffee", "rocket", "coins", "moon")):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(encode(sample_image(sample), "PNG"))
    return folder


@pytest.fixture(autouse=True)
def wide_tables(monkeypatch):
    """Tables as wide as their paths, so a path is found whole in what was printed."""
    monkeypatch.setenv("COLUMNS", "500")


@pytest.fixture
def used_home(run_cli, home, tmp_path):
    """A home in use: one site registered, one case with a reference, the store closed."""
    assert run_cli("site", "add", "board", "http://127.0.0.1:9/", "--allow-private").code == ReturnCode.OK
    assert run_cli("case", "add", "c1", str(pictures(tmp_path / "reported", "a.png") / "a.png")).code == ReturnCode.OK
    return home


# Each command that writes into the home, with what it is given.
WRITERS = {
    "site add": lambda tmp: ("site", "add", "extra", "https://extra.example/"),
    "case add": lambda tmp: ("case", "add", "c2", str(pictures(tmp / "new", "b.png"))),
    "crawl": lambda tmp: ("crawl", "--no-progress"),
}


def assert_one_unavailable_line(result: subprocess.CompletedProcess[str], home: Path) -> str:
    [line] = error_lines(result.stderr)
    assert result.returncode == ReturnCode.UNAVAILABLE, result.stderr
    assert line.startswith("error: cannot ") and str(home) in line
    return line


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_read_only_home_is_one_line_and_exit_3(command, used_home, tmp_path, modes_apply):
    used_home.chmod(0o500)
    try:
        result = run_spreadtrace(used_home, *WRITERS[command](tmp_path), preexec_fn=modes_apply)
    finally:
        used_home.chmod(0o700)
    line = assert_one_unavailable_line(result, used_home)
    assert "read-only" in line or "permission denied" in line


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_home_that_cannot_grow_a_file_is_one_line_and_exit_3(command, used_home, tmp_path):
    result = run_spreadtrace(used_home, *WRITERS[command](tmp_path), preexec_fn=_no_file_growth)
    line = assert_one_unavailable_line(result, used_home)
    assert "file too large" in line or "disk I/O error" in line
    assert not [p.name for p in used_home.iterdir() if p.name.endswith(".tmp")]  # no half-written registry


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_a_home_below_a_regular_file_is_one_line_and_exit_3(command, tmp_path, capsys):
    (tmp_path / "a-file").write_text("not a folder")
    home = tmp_path / "a-file" / "home"
    registry = tmp_path / "sites.toml"  # crawl needs a registry; the home cannot hold one
    registry.write_text('[sites.board]\nstart_urls = ["http://127.0.0.1:9/"]\nallow_private = true\n')
    code = main(["--home", str(home), "--sites", str(registry), *WRITERS[command](tmp_path)])
    [line] = error_lines(capsys.readouterr().err)
    assert code == ReturnCode.UNAVAILABLE
    assert line == f"error: cannot use {home}: a part of the path is a file, not a folder"


def test_the_home_the_database_and_the_registry_are_private(run_cli, home, tmp_path):
    import sqlite3

    assert run_cli("site", "add", "board", "https://board.example/").code == ReturnCode.OK
    assert run_cli("case", "add", "c1", str(pictures(tmp_path / "r", "a.png"))).code == ReturnCode.OK
    modes = {p.name: p.stat().st_mode & 0o777 for p in [home, *home.iterdir()]}
    assert modes == {"home": 0o700, "sites.toml": 0o600, "spreadtrace.db": 0o600, "tmp": 0o700}
    # An install from before: the database and its WAL files readable by everyone.
    (home / "spreadtrace.db").chmod(0o644)
    kept_open = sqlite3.connect(home / "spreadtrace.db")
    kept_open.execute("PRAGMA journal_mode=WAL")
    kept_open.execute("SELECT count(*) FROM cases").fetchone()  # the -wal and -shm now exist
    try:
        for name in ("spreadtrace.db-wal", "spreadtrace.db-shm"):
            (home / name).chmod(0o644)
        assert run_cli("case", "list").code == ReturnCode.OK
        modes = {p.name: p.stat().st_mode & 0o777 for p in home.iterdir() if p.name.startswith("spreadtrace.db")}
        assert modes == {"spreadtrace.db": 0o600, "spreadtrace.db-wal": 0o600, "spreadtrace.db-shm": 0o600}
    finally:
        kept_open.close()


def test_scan_reports_unreadable_files_and_folders_and_scans_the_rest(run_cli, used_home, tmp_path, modes_apply):
    folder = pictures(tmp_path / "downloads", "fine.png", "secret.png", "locked/inside.png")
    (folder / "secret.png").chmod(0)
    (folder / "locked").chmod(0)
    try:
        result = run_spreadtrace(used_home, "scan", str(folder), preexec_fn=modes_apply)
        alone = run_spreadtrace(used_home, "scan", str(folder / "secret.png"), preexec_fn=modes_apply)
    finally:
        (folder / "locked").chmod(0o700)
    assert result.returncode == ReturnCode.OK, result.stderr
    assert "fine.png" in result.stdout
    assert sorted(error_lines(result.stderr)) == [
        f"error: {folder / 'locked'}: cannot read folder: permission denied",
        f"error: {folder / 'secret.png'}: cannot read: Permission denied",
    ]  # fmt: skip
    # Named alone it is one error line, not a usage error; nothing could be scanned, so exit 1.
    assert alone.returncode == ReturnCode.FAILED
    assert error_lines(alone.stderr) == [f"error: {folder / 'secret.png'}: cannot read: Permission denied"]


def test_scan_reports_broken_links_whoever_runs_it(run_cli, used_home, tmp_path):
    folder = pictures(tmp_path / "downloads", "fine.png")
    (folder / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    (folder / "up").symlink_to(folder)  # a link back up the tree is walked once
    result = run_cli("scan", str(folder), str(folder / "gone.jpg"))
    assert result.code == ReturnCode.OK
    assert sorted(error_lines(result.err)) == [
        f"error: {folder / 'gone.jpg'}: broken symbolic link (its target is missing)",
        f"error: {folder / 'gone.jpg'}: broken symbolic link (its target is missing)",
        f"error: {folder / 'loop.jpg'}: broken symbolic link (its target is missing)",
    ]  # fmt: skip
    assert result.out.count("fine.png") == 1
    nothing = run_cli("scan", str(folder / "gone.jpg"))
    assert nothing.code == ReturnCode.FAILED


MARKUP_NAMES = ("[bold red]x.jpg", "[/]x.jpg", ":smile: x.png")


def test_names_that_look_like_markup_are_shown_as_they_are(run_cli, tmp_path):
    folder = pictures(tmp_path / "in", *MARKUP_NAMES)
    added = run_cli("case", "add", "c1", str(folder))
    assert added.code == ReturnCode.OK and "3 reference(s) added" in added.out
    scanned = run_cli("scan", str(folder), str(folder / "[/]missing.jpg"))
    assert scanned.code == ReturnCode.OK, scanned.err
    for name in MARKUP_NAMES:
        assert str(folder / name) in scanned.out
    assert "c1 / [bold red]x.jpg: match" in scanned.out and "c1 / ]x.jpg: match" in scanned.out
    assert error_lines(scanned.err) == [f"error: {folder / '[/]missing.jpg'}: no such file or folder"]
    site = run_cli("site", "add", "board", "https://board.example/[bold]b/", "--abuse-contact", "[red]a@b.example")
    listing = run_cli("site", "list")
    assert site.code == ReturnCode.OK and "https://board.example/[bold]b/" in listing.out


def test_a_report_shows_labels_and_urls_that_look_like_markup(run_cli, home):
    from tests.test_tracker_store_contract import IMAGE, PDQ, sighting
    from tracker import open_store

    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        store.ensure_case("c1")
        ref = store.add_reference("c1", IMAGE, "r" * 64, None, "[/]label[bold].jpg", [PDQ])
        store.save_sighting(sighting(ref.id, page_url="http://h.example/[/]p", media_url="http://h.example/[red]m.jpg"),
                            [], expected_revision=None)  # fmt: skip
    finally:
        store.close()
    result = run_cli("report", "c1")
    assert result.code == ReturnCode.OK, result.err
    for text in ("[/]label[bold].jpg", "http://h.example/[/]p", "[red]m.jpg"):
        assert text in result.out


def test_usage_errors_are_one_line(run_cli):
    result = run_cli("-s", "SPREADTRACE_PDQ_MAX_DISTANCE", "case", "list")
    assert result.code == ReturnCode.USER_ERROR
    assert error_lines(result.err) == [
        "error: Invalid value for '-s' / '--set': 'SPREADTRACE_PDQ_MAX_DISTANCE': expected NAME=VALUE (see: spreadtrace --help)"
    ]  # fmt: skip
    unknown = run_cli("case", "frobnicate")
    assert unknown.code == ReturnCode.USER_ERROR and len(error_lines(unknown.err)) == 1


def test_a_bad_registry_is_one_line_naming_file_site_and_key(run_cli, home):
    home.mkdir()
    (home / "sites.toml").write_text('[sites.board]\nstart_urls = ["https://b.example/"]\nmax_page = 10\n')
    for command in (("site", "list"), ("crawl",), ("site", "add", "tube", "https://t.example/")):
        result = run_cli(*command)
        assert result.code == ReturnCode.USER_ERROR
        assert error_lines(result.err) == [
            f"error: {home / 'sites.toml'}: [sites.board] unknown key 'max_page' (did you mean 'max_pages'?)"
        ]  # fmt: skip
    (home / "sites.toml").write_text("[sites]\na = 5\n")
    assert error_lines(run_cli("site", "list").err)[0].startswith(f"error: {home / 'sites.toml'}: [sites.a] must be a table")


def test_site_add_refuses_what_the_registry_would(run_cli, home):
    result = run_cli("site", "add", "board", "https://b.example/", "--media", "div[[[", "--every", "99999999999999999999w")
    assert result.code == ReturnCode.USER_ERROR
    assert error_lines(result.err) == [
        f"error: {home / 'sites.toml'}: [sites.board] every: '99999999999999999999w' is not an interval from 1s to 365d"
        " such as 30m, 6h, 1d or 2w"
    ]  # fmt: skip
    media = run_cli("site", "add", "board", "https://b.example/", "--media", "//a[")
    assert error_lines(media.err) == [
        f"error: {home / 'sites.toml'}: [sites.board] media: '//a[' is not an XPath expression: XPath error: Invalid expression in //a["
    ]  # fmt: skip
    assert not (home / "sites.toml").exists()
    ranged = run_cli("site", "add", "board", "https://b.example/", "--max-links", "0")
    assert "[sites.board] max_links: 0 is out of range (1 to 1,000,000)" in ranged.err


def test_a_file_name_with_a_line_break_is_one_error_line_and_no_label(run_cli, tmp_path):
    folder = pictures(tmp_path / "in", "fine.png", "two\nlines.png")
    result = run_cli("case", "add", "c1", str(folder), str(tmp_path / "gone\x1b[2J.jpg"))
    assert result.code == ReturnCode.OK and "1 reference(s) added" in result.out
    assert sorted(error_lines(result.err)) == [
        f"error: {tmp_path}/gone\\x1b[2J.jpg: no such file or folder",
        f"error: {folder}/two\\nlines.png: label 'two\\nlines.png' holds a control character or line break",
    ]  # fmt: skip


def test_every_console_of_the_cli_reads_no_markup():
    """The CLI prints outside text everywhere; a console made anywhere but render.py could read it as markup."""
    import ast

    for path in sorted((ROOT / "spreadtrace").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in ("Console", "TextColumn", "from_markup") and path.name != "render.py":
                    raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: {name}() outside spreadtrace/render.py")
                for keyword in node.keywords:
                    assert not (keyword.arg == "markup" and getattr(keyword.value, "value", None) is True), (
                        f"{path.relative_to(ROOT)}:{node.lineno}: markup=True"
                    )  # fmt: skip
