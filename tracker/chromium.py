"""Headless Chromium, as every part of spreadtrace starts it: Debian's ``chromium`` binary driven by
Playwright through ``executable_path`` (``playwright install`` downloads a browser, which nothing here may
do), with the flags that keep it from reaching anywhere on its own (component updates, background
networking, WebRTC's local addresses) and from needing a GPU or a large /dev/shm.

Screenshots (`crawler.screenshots`) and PDF reports both launch it from here.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM_ARGS = (
    "--no-sandbox",  # the sandbox needs user namespaces, which containers often lack; the pages are still untrusted
    "--disable-gpu",
    # Crash dumps hold the renderer's memory, pictures of the pages included: none may be written (Debian's
    # build starts crashpad with a database in ~/.config/chromium otherwise).
    "--disable-crash-reporter",
    "--disable-breakpad",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--mute-audio",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",  # WebRTC would reveal and reach local addresses
    "--js-flags=--max-old-space-size=512",
    "--renderer-process-limit=2",
)


# Chromium's socket goes in TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket (45 bytes more), within
# the 107 a socket's path may hold.
_LONGEST_TEMP = 60
_LINKS = Path("/tmp")


class ChromiumMissing(RuntimeError):
    """No Chromium binary where the settings say, nor on the PATH."""


def find_chromium(configured: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium to run: ``configured`` (SPREADTRACE_CHROMIUM) if set, else ``chromium`` on the PATH."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise ChromiumMissing(f"SPREADTRACE_CHROMIUM: no executable Chromium at {path}")
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ChromiumMissing("no Chromium found (install Debian's chromium package, or set SPREADTRACE_CHROMIUM)")


def launch(playwright: Playwright, executable: Path | str) -> Browser:
    """Start headless Chromium from ``executable``, with the flags above."""
    return playwright.chromium.launch(executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS),
                                      env=_short_temp_env())  # fmt: skip


@contextmanager
def chromium(executable: Path) -> Iterator[Browser]:
    """A running headless Chromium, closed (with its Playwright driver) on leaving."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright, executable)
        try:
            yield browser
        finally:
            browser.close()


def _short_temp_env() -> dict[str, str | float | bool] | None:
    """The environment for Chromium when the process's temporary folder is too long for its socket: TMPDIR
    a short link to that same folder.

    Chromium puts its singleton's Unix socket in TMPDIR, and a socket's path holds at most 107 bytes: under
    a CLI's private scratch folder (``HOME/tmp/run-PID-XXXX``, `crawler.scratch`) in a deep home it aborts
    at start ("Socket path too long"). A link, not a folder of its own, so what Chromium writes (its
    profile, the pages' caches) stays in the scratch folder and is swept with it when a killed process
    leaves it behind."""
    folder = tempfile.gettempdir()
    if len(folder) <= _LONGEST_TEMP:
        return None
    link = _LINKS / f"spreadtrace-chromium-{os.getpid()}-{hashlib.sha256(folder.encode()).hexdigest()[:8]}"
    if not (link.is_symlink() and os.readlink(link) == folder):
        for stale in _LINKS.glob("spreadtrace-chromium-*"):  # links to folders swept since
            if stale.is_symlink() and not stale.exists():
                stale.unlink(missing_ok=True)
        try:
            link.unlink(missing_ok=True)
            os.symlink(folder, link)
        except OSError:
            return None  # Chromium says why it cannot start; the caller reports it
        atexit.register(link.unlink, missing_ok=True)
    return {**os.environ, "TMPDIR": str(link)}


def html_to_pdf(html: str, executable: Path, *, timeout_s: float = 60.0, ready: str | None = None) -> bytes:
    """Print ``html`` (a self-contained page: scripts and pictures inline) to an A4 PDF. The page may not
    fetch anything: every request but the page's own inline content is refused.

    The page is laid out for print from the start, so scripts that draw (charts) draw at the size they
    print; ``ready``, a JavaScript expression (``"window.reportReady === true"``), is waited for before
    printing, for pages that finish drawing after ``load``."""
    with chromium(executable) as browser:
        context = browser.new_context(java_script_enabled=True, service_workers="block", accept_downloads=False)
        try:
            context.route("**/*", lambda route: route.abort("blockedbyclient"))
            page = context.new_page()
            page.set_default_timeout(timeout_s * 1000)
            page.emulate_media(media="print")
            page.set_content(html, wait_until="load")
            if ready is not None:
                page.wait_for_function(ready)
            return page.pdf(format="A4", print_background=True, margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
        finally:
            context.close()
