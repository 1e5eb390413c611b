"""The harness of tests/test_hostile_sites.py: run `spreadtrace` as a real process and measure it, read what
it recorded, and make the hostile media the servers serve.

- `spreadtrace` / `run_crawl`: a child process in the worktree with TMPDIR set to ``HOME/../systmp`` (so
  files left in the system temp folder can be counted), reaped with ``os.wait4`` (its rusage is the
  child's own: ``ru_maxrss`` is the crawl's peak RSS), killed past a timeout or when a test says so.
- `Record`: the store's public API over ``HOME/spreadtrace.db``: visits, pages, observations, links.
- Media: an animated GIF bomb, large BMPs made cheaply, a video that takes seconds to hash. No real
  person's image anywhere: noise only.
"""

from __future__ import annotations

import io
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import tomli_w
from PIL import Image

from tracker import open_store
from tracker.models import Link, Observation, PageVisit, Visit

ROOT = Path(__file__).resolve().parent.parent
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


# -- running spreadtrace -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """A finished (or killed) `spreadtrace` process: exit code (negative: the signal that ended it), its
    output, its peak resident memory, and how long it ran."""

    code: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    seconds: float
    killed: bool  # by the harness: past its timeout, or when `kill_when` said so

    def errors(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    def __str__(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-15:])
        return (f"exit {self.code}{' (killed)' if self.killed else ''} after {self.seconds:.1f} s, "
                f"peak RSS {self.peak_rss_mb:.0f} MB; stderr ends:\n{tail}")  # fmt: skip


def system_tmp(home: Path) -> Path:
    """The TMPDIR a process in ``home`` gets: a folder beside it, made empty by the first call."""
    folder = home.parent / "systmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def spreadtrace(
    home: Path, *args: str, settings: Mapping[str, object] | None = None, timeout: float = 60,
    env: Mapping[str, str] | None = None, kill_when: Callable[[int], bool] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Result:  # fmt: skip
    """Run ``spreadtrace --home HOME -s NAME=VALUE... ARGS``; SIGKILL it past ``timeout`` seconds or as soon
    as ``kill_when(pid)`` is true. No proxy from this process's environment reaches it unless ``env`` sets one."""
    overrides = [arg for name, value in (settings or {}).items() for arg in ("-s", f"{name}={value}")]
    command = [sys.executable, "-m", "spreadtrace", "--home", str(home), *overrides, *args]
    child_env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARIABLES and k != "SPREADTRACE_HOME"}
    child_env.update({"TMPDIR": str(system_tmp(home)), **(env or {})})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=out, stderr=err, preexec_fn=preexec_fn)
        killed = False
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout or (kill_when is not None and kill_when(process.pid)):
                os.kill(process.pid, signal.SIGKILL)
                killed = True
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Result(process.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                      usage.ru_maxrss / 1024, seconds, killed)  # fmt: skip


def run_crawl(
    home: Path, site: str | list[str], settings: Mapping[str, object] | None = None, timeout: float = 60,
    *, args: tuple[str, ...] = (), env: Mapping[str, str] | None = None, kill_when: Callable[[int], bool] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> Result:  # fmt: skip
    """``spreadtrace crawl --site SITE --no-progress ARGS`` in ``home`` (``site`` may name several)."""
    names = [arg for name in ([site] if isinstance(site, str) else site) for arg in ("--site", name)]
    return spreadtrace(home, "crawl", *names, "--no-progress", *args, settings=settings, timeout=timeout, env=env,
                       kill_when=kill_when, preexec_fn=preexec_fn)  # fmt: skip


def site_entry(start_url: str, **options: object) -> dict[str, object]:
    """A registry entry for a loopback test site: no delay, no robots.txt, private addresses allowed."""
    return {"start_urls": [start_url], "delay": 0.0, "robots": False, "allow_private": True, **options}


def write_sites(home: Path, **sites: dict[str, object]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "sites.toml").write_text(tomli_w.dumps({"sites": sites}), encoding="utf-8")


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def holding(needle: bytes, *folders: Path, outside: Path | None = None) -> list[Path]:
    """Files under ``folders`` (not under ``outside``) whose bytes contain ``needle``."""
    found = []
    for folder in folders:
        for path in files_under(folder):
            if outside is not None and path.is_relative_to(outside):
                continue
            try:
                if needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue  # gone since it was listed
    return found


# -- reading the record ------------------------------------------------------------------------------------


class Record:
    """What the crawls left in a home's store, read through the store's public API."""

    def __init__(self, home: Path) -> None:
        self.store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")

    def visits(self, site: str) -> list[Visit]:
        return self.store.visits(site)

    def pages(self, site: str) -> dict[str, PageVisit]:
        return {page.url: page for visit in self.visits(site) for page in self.store.page_visits(visit.id)}

    def observation(self, page_url: str, media_url: str) -> Observation | None:
        found = self.store.observations_at(page_url, media_url)
        return found[-1] if found else None

    def links_from(self, page_url: str) -> list[Link]:
        return [link for link in self.store.links() if link.from_url == page_url]

    def reason(self, page_url: str, media_url: str, stderr: str) -> str:
        """Why a media file was given up on, or hashed only in part: its observation's error, else the
        crawl's log lines about it (a partial hash is logged with the file's SHA-256 prefix)."""
        observed = self.observation(page_url, media_url)
        if observed is not None and observed.error:
            return observed.error
        keys = [media_url] + ([observed.sha256[:12]] if observed is not None and observed.sha256 else [])
        return "\n".join(line for line in stderr.splitlines() if any(key in line for key in keys))

    def close(self) -> None:
        self.store.close()


# -- generated media ---------------------------------------------------------------------------------------


def small_png(seed: int, side: int = 96) -> bytes:
    """A smooth picture of coloured noise (about side * side * 1.6 bytes as PNG)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side // 8, side // 8, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).resize((side, side), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


Chunks = Callable[[], Iterator[bytes]]


def gif_bomb(width: int, height: int, frames: int, seed: int = 0) -> bytes:
    """An animated GIF with a ``width`` x ``height`` screen and ``frames`` frames of one pixel each (about 25
    bytes a frame): tiny on the wire, while a decoder composites the whole screen for every frame."""
    rng = np.random.default_rng(seed)
    screen = struct.pack("<6sHHBBB", b"GIF89a", width, height, 0xF0, 0, 0)  # global table of 2 colours
    palette = b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    parts = [screen, palette, loop]
    for x, y in zip(rng.integers(0, width, frames), rng.integers(0, height, frames), strict=True):
        control = b"\x21\xf9\x04" + struct.pack("<BHB", 0x04, 2, 0) + b"\x00"  # keep the canvas; 20 ms
        descriptor = b"\x2c" + struct.pack("<HHHHB", int(x), int(y), 1, 1, 0)
        parts.append(control + descriptor + _one_pixel_lzw(1))
    parts.append(b"\x3b")
    return b"".join(parts)


def _one_pixel_lzw(index: int) -> bytes:
    """Image data of one pixel: minimum code size 2, codes clear (4), ``index``, end (5), three bits each."""
    bits = 4 | (index << 3) | (5 << 6)
    return bytes([2, 2, bits & 0xFF, bits >> 8, 0])


def padded_bmp(size: int, stamp: int, noise: bytes, side: int = 256) -> Chunks:
    """A valid ``size``-byte uncompressed BMP of ``side`` x ``side`` noise pixels: a function streaming it.

    The pixel array starts at an offset the header names (BMP allows a gap after the headers), so a file of
    any size costs a decoder only its small picture, while a crawler that keeps bodies in memory keeps all
    of it. The gap starts with ``stamp`` (every stamp is a distinct file, another SHA-256) and is filled
    from ``noise``, shared by every file and held once by the caller (at least side * side * 3 bytes)."""
    pixels = side * side * 3  # rows need no padding when side is a multiple of 4
    assert side % 4 == 0 and len(noise) >= pixels and size > 54 + 8 + pixels
    offset = size - pixels
    header = struct.pack("<2sIHHI", b"BM", size, 0, 0, offset)
    header += struct.pack("<IiiHHIIiiII", 40, side, side, 1, 24, 0, pixels, 2835, 2835, 0, 0)
    view = memoryview(noise)

    def chunks() -> Iterator[bytes]:
        yield header + struct.pack("<Q", stamp)
        left = offset - len(header) - 8
        while left > 0:
            step = min(left, len(noise))
            yield bytes(view[:step])
            left -= step
        yield bytes(view[:pixels])

    return chunks


def busy_video(path: Path, seconds: float, fps: int = 30, size: tuple[int, int] = (640, 360), seed: int = 0) -> None:
    """An H.264 video of moving block noise: every frame differs (a decoder must work for each), yet it
    encodes small and fast (16 px blocks, a low quality)."""
    rng = np.random.default_rng(seed)
    width, height = size
    blocks = rng.integers(0, 256, (height // 16 + 2, width // 16 + 2, 3), dtype=np.uint8)
    tiles = np.kron(blocks, np.ones((16, 16, 1), dtype=np.uint8))
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "40", "preset": "ultrafast", "g": "60"}
        for number in range(round(seconds * fps)):
            dy, dx = number * 3 % 32, number * 5 % 32  # the pattern moves across the frame
            pixels = np.ascontiguousarray(tiles[dy : dy + height, dx : dx + width])
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode():
            output.mux(packet)
