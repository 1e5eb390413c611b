"""Headless Chromium, as every part of spreadtrace starts it: Debian's ``chromium`` binary driven by
Playwright through ``executable_path`` (``playwright install`` downloads a browser, which nothing here may
do), with the flags that keep it from reaching anywhere on its own (component updates, background
networking, WebRTC's local addresses) and from needing a GPU or a large /dev/shm.

Screenshots (`crawler.screenshots`) and PDF reports both launch it from here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_ARGS = (
    "--no-sandbox",  # the sandbox needs user namespaces, which containers often lack; the pages are still untrusted
    "--disable-gpu",
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


@contextmanager
def chromium(executable: Path) -> Iterator[Browser]:
    """A running headless Chromium, closed (with its Playwright driver) on leaving."""
    from playwright.sync_api import sync_playwright

    # Chromium makes its singleton socket in TMPDIR, and a Unix socket's path holds at most 107 bytes: the
    # CLI's private scratch folder (HOME/tmp/run-PID-XXXX) is deep enough to pass that, and the browser
    # aborts. It gets a short folder of its own (0700, like the scratch), removed with it.
    short = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="chromium-", dir=short) as scratch:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS),
                                             env={**os.environ, "TMPDIR": scratch})  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


def html_to_pdf(html: str, executable: Path, *, timeout_s: float = 60.0) -> bytes:
    """Print ``html`` (a self-contained page: scripts and pictures inline) to an A4 PDF. The page may not
    fetch anything: every request but the page's own inline content is refused."""
    with chromium(executable) as browser:
        context = browser.new_context(java_script_enabled=True, service_workers="block", accept_downloads=False)
        try:
            context.route("**/*", lambda route: route.abort("blockedbyclient"))
            page = context.new_page()
            page.set_default_timeout(timeout_s * 1000)
            page.set_content(html, wait_until="load")
            page.emulate_media(media="print")
            return page.pdf(format="A4", print_background=True, margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
        finally:
            context.close()
