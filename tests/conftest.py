from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from crawler.config import default_hash_options, default_match_policy
from matcher import HashOptions, MatchPolicy
from simsites import SimulatedWorld, running_world
from simsites.corpus import encode, sample_image
from spreadtrace.cli import main


ROOT = Path(__file__).resolve().parent.parent
# Made by tools, not by the tests: the virtualenv, caches, and the editable install's metadata.
_TOOL_OUTPUT = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", "spreadtrace.egg-info"}


def checkout_files() -> set[Path]:
    found = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in _TOOL_OUTPUT]
        found.update(Path(folder, name) for name in files)
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_checkout() -> Iterator[None]:
    """No test (nor a crawl it starts) writes into the repository: homes, caches and stores go to tmp."""
    before = checkout_files()
    yield
    written = sorted(str(p.relative_to(ROOT)) for p in checkout_files() - before)
    assert not written, f"tests wrote into the checkout: {written[:10]}"


@pytest.fixture(scope="session")
def world() -> Iterator[SimulatedWorld]:
    """The simulated board, tube site and forum, served on loopback for the whole session."""
    with running_world() as w:
        yield w


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session")
def policy() -> MatchPolicy:
    return default_match_policy()


@pytest.fixture(scope="session")
def hash_options() -> HashOptions:
    """What hashing may cost and keep: crawler/settings.py's defaults, as a crawl without overrides uses."""
    return default_hash_options()


@pytest.fixture(scope="session")
def coffee() -> Image.Image:
    return sample_image("coffee")


def interruptible() -> None:
    """A child's ``preexec_fn``: Ctrl-C's signal acts on it whatever this run inherited. A shell starts a
    background job with SIGINT ignored, and a child inherits that; Python then raises no
    KeyboardInterrupt, and a test of what Ctrl-C does would test nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def png_bytes(image: Image.Image) -> bytes:
    return encode(image, "PNG")


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def run_cli(home: Path, capsys: pytest.CaptureFixture[str]):
    """Run the CLI in-process, as `spreadtrace --home HOME ...`."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(["--home", str(home), *args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
