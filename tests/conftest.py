from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from crawler.config import default_hash_options, default_match_policy
from matcher import HashOptions, MatchPolicy
from simsites import SimulatedWorld, running_world
from simsites.corpus import encode, sample_image
from spreadtrace.cli import main


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
