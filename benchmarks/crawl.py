"""Crawl benchmark, side by side in one run, on a generated site served on loopback.

1. Throughput: pages and media per second for `spreadtrace crawl` (discovery, hashing, matching against a
   case, recording, the visit journal) against a plain Scrapy spider that only downloads the same pages and
   images, with the same politeness settings. Target: spreadtrace takes <= 1.5x the plain spider's time.
2. Revisit cost: bytes the site sends on a second visit of the unchanged site, as a share of the first.
   Target < 5%.
3. Capture cost: the same crawl with a case whose pictures the site shows on many pages, with evidence
   off, with captures (sealed WARCs and custody entries), and with captures and screenshots (Chromium),
   beside the plain spider. Screenshots are taken apart from the crawl; the crawl's end waits for them.
4. Memory: peak RSS of a crawl by pages crawled (each size in its own process, images from a small pool so
   that hashing does not dominate). Target: flat, not growing with the number of pages.

Run: make bench-crawl   (or: .venv/bin/python -m benchmarks.crawl --pages 2000 --memory-pages 1000,10000,100000;
     --capture-only for table 3 alone)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simsites.corpus import encode, generated_image
from simsites.server import Resource, SiteServer

PLAIN_SPIDER = textwrap.dedent('''
    import sys, scrapy
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor

    class Plain(scrapy.Spider):
        name = "plain"
        start_urls = [sys.argv[1]]
        links = LinkExtractor()

        def parse(self, response):
            for src in response.css("img::attr(src)").getall():
                yield response.follow(src, callback=self.media)
            for link in self.links.extract_links(response):
                yield scrapy.Request(link.url, callback=self.parse)

        def media(self, response):
            pass

    process = CrawlerProcess({"LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": True, "DOWNLOAD_DELAY": 0,
                              "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
                              "AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 0,
                              "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0, "TELNETCONSOLE_ENABLED": False})
    process.crawl(Plain)
    process.start()
''')


def build_site(pages: int, images: int, page_padding: int) -> SiteServer:
    """``pages`` pages in a chain with side links; each shows two of ``images`` distinct JPEGs."""
    site = SiteServer("bench", "127.0.0.9")
    for k in range(images):
        site.resources[f"/img/{k}.jpg"] = Resource(encode(generated_image(1000 + k, (480, 360)), "JPEG", quality=85), "image/jpeg")
    padding = "<p>" + "lorem ipsum " * (page_padding // 12) + "</p>"  # a real page carries its chrome
    for n in range(pages):
        links = "".join(f'<a href="/p/{m}">{m}</a>' for m in (n + 1, n + 2, n * 7 % pages) if m < pages)
        imgs = "".join(f'<img src="/img/{(2 * n + j) % images}.jpg">' for j in (0, 1))
        site.resources[f"/p/{n}"] = Resource(f"<html><body>{imgs}{links}{padding}</body></html>".encode())
    site.resources["/robots.txt"] = Resource(b"User-agent: *\nAllow: /\n", "text/plain")
    return site


def spreadtrace(home: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "spreadtrace", "--home", str(home), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return time.perf_counter() - start, result


def peak_rss_kib(command: list[str]) -> tuple[int, int]:
    """Peak RSS of ``command`` in KiB: of its largest process (the kernel's count, from rusage), and of its
    whole process tree (the crawl and its hashing workers), sampled every 50 ms from /proc."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tree_peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # reaped here, so its rusage is ours to read
        if pid:
            break
        tree_peak = max(tree_peak, _tree_rss_kib(process.pid))
        time.sleep(0.05)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command} failed with exit code {process.returncode}")
    return usage.ru_maxrss, tree_peak


def _tree_rss_kib(root: int) -> int:
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        sizes[int(entry.name)] = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += sizes.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def setup_home(root: Path, site: SiteServer, max_pages: int, references: int = 1) -> Path:
    home = root / "home"
    reported = root / "reported"
    reported.mkdir(parents=True)
    for k in range(references):  # the first of the site's images, each shown on a few pages
        (reported / f"case-{k}.png").write_bytes(encode(generated_image(1000 + k, (480, 360)), "PNG"))
    spreadtrace(home, "case", "add", "bench", str(reported))
    spreadtrace(home, "site", "add", "bench", site.url("/p/0"), "--delay", "0", "--allow-private", "--max-pages", str(max_pages))
    return home


def plain_crawl_seconds(root: Path, site: SiteServer) -> float:
    """Seconds the plain Scrapy spider takes to download ``site``'s pages and images."""
    plain_path = root / "plain.py"
    plain_path.write_text(PLAIN_SPIDER)
    start = time.perf_counter()
    subprocess.run([sys.executable, str(plain_path), site.url("/p/0")], check=True)
    return time.perf_counter() - start


def throughput_and_revisit(console: Console, root: Path, args: argparse.Namespace) -> None:
    site = build_site(args.pages, args.images, args.page_bytes)
    site.start()
    # 1. throughput
    plain_seconds = plain_crawl_seconds(root, site)
    plain_requests = sum(site.requests.values())
    site.reset_counts()
    home = setup_home(root / "a", site, args.pages + 10)
    seconds, result = spreadtrace(home, "crawl", "--no-progress")
    ours_requests = sum(site.requests.values())
    first_bytes = sum(site.bytes_sent.values())
    pages = len([p for p in site.requests if p.startswith("/p/")])
    media = len([p for p in site.requests if p.startswith("/img/")])
    # 2. revisit cost
    site.reset_counts()
    spreadtrace(home, "crawl", "--no-progress")
    second_bytes = sum(site.bytes_sent.values())
    media_second = sum(v for p, v in site.bytes_sent.items() if p.startswith("/img/"))
    table = Table(title=f"Crawl throughput ({pages} pages, {media} images, one run)")
    for column in ("crawler", "requests", "seconds", "pages/s", "media/s", "time vs plain"):
        table.add_column(column, justify="right" if column != "crawler" else "left")
    table.add_row("plain Scrapy (download only)", str(plain_requests), f"{plain_seconds:.1f}",
                  f"{pages / plain_seconds:.0f}", f"{media / plain_seconds:.0f}", "1.00x")
    table.add_row("spreadtrace (hash, match, record)", str(ours_requests), f"{seconds:.1f}",
                  f"{pages / seconds:.0f}", f"{media / seconds:.0f}", f"{seconds / plain_seconds:.2f}x")
    console.print(table)
    revisit = Table(title="Second visit of the unchanged site")
    for column in ("", "first visit", "second visit", "share"):
        revisit.add_column(column, justify="right" if column else "left")
    revisit.add_row("all bytes", f"{first_bytes:,}", f"{second_bytes:,}", f"{second_bytes / first_bytes:.1%}")
    first_media = first_bytes - sum(args.page_bytes for _ in range(pages))
    revisit.add_row("media bytes", f"~{first_media:,}", f"{media_second:,}", f"{media_second / max(first_media, 1):.1%}")
    console.print(revisit)
    site.stop()


def capture_cost(console: Console, root: Path, args: argparse.Namespace) -> None:
    site = build_site(args.pages, args.images, args.page_bytes)
    site.start()
    plain_seconds = plain_crawl_seconds(root, site)
    table = Table(title=f"What evidence costs ({args.pages} pages, {args.images} images, {args.capture_references} reported pictures)")
    for column in ("crawl", "sightings", "captures", "screenshots", "seconds", "vs plain", "vs evidence off"):
        table.add_column(column, justify="right" if column != "crawl" else "left")
    table.add_row("plain Scrapy (download only)", "", "", "", f"{plain_seconds:.1f}", "1.00x", "")
    off_seconds = 0.0
    for name, settings in [("spreadtrace, evidence off", ["-s", "SPREADTRACE_EVIDENCE=false"]),
                           ("spreadtrace, captures", ["-s", "SPREADTRACE_SCREENSHOTS=false"]),
                           ("spreadtrace, captures + screenshots", [])]:  # fmt: skip
        home = setup_home(root / f"capture-{len(table.rows)}", site, args.pages + 10, args.capture_references)
        seconds, _ = spreadtrace(home, *settings, "crawl", "--no-progress")
        off_seconds = off_seconds or seconds
        log = home / "evidence" / "bench" / "custody.jsonl"
        kinds = Counter(json.loads(line)["kind"] for line in log.read_text().splitlines()) if log.exists() else Counter()
        sightings = json.loads(spreadtrace(home, "report", "bench", "--format", "json")[1].stdout)["summary"]["sightings"]
        table.add_row(name, str(sightings), str(kinds["capture"]), str(kinds["screenshot"]), f"{seconds:.1f}",
                      f"{seconds / plain_seconds:.2f}x", f"{seconds / off_seconds:.2f}x")  # fmt: skip
    console.print(table)
    site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--page-bytes", type=int, default=30000, help="HTML size of each page")
    parser.add_argument("--memory-pages", default="1000,10000,100000")
    parser.add_argument("--memory-only", action="store_true", help="only the memory table")
    parser.add_argument("--capture-only", action="store_true", help="only the capture-cost table")
    parser.add_argument("--capture-references", type=int, default=50, help="reported pictures in the capture-cost case")
    args = parser.parse_args()
    console = Console()
    root = Path(tempfile.mkdtemp(prefix="spreadtrace-bench-crawl-"))
    try:
        if args.capture_only:
            capture_cost(console, root, args)
            return
        if not args.memory_only:
            throughput_and_revisit(console, root, args)
            capture_cost(console, root, args)
        # 3. memory
        memory = Table(title="Peak memory by pages crawled (each crawl in its own process)")
        for column in ("pages", "seconds", "crawl process", "vs smallest", "with its hashing workers", "vs smallest"):
            memory.add_column(column, justify="right")
        baseline: tuple[int, int] | None = None
        for count in [int(x) for x in args.memory_pages.split(",")]:
            big = build_site(count, 50, 2000)
            big.start()
            home = setup_home(root / f"m{count}", big, count + 10)
            start = time.perf_counter()
            rss = peak_rss_kib([sys.executable, "-m", "spreadtrace", "--home", str(home), "crawl", "--no-progress"])
            seconds = time.perf_counter() - start
            crawled = len([p for p in big.requests if p.startswith("/p/")])
            big.stop()
            baseline = baseline or rss
            memory.add_row(f"{crawled:,}", f"{seconds:,.0f}", f"{rss[0] / 1024:,.0f} MiB", f"{rss[0] / baseline[0]:.2f}x",
                           f"{rss[1] / 1024:,.0f} MiB", f"{rss[1] / baseline[1]:.2f}x")  # fmt: skip
        console.print(memory)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
