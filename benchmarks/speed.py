"""Speed benchmark, side by side in one run.

1. Hashing: images per second through spreadtrace's matcher against raw ``pdqhash.compute`` on the same
   decoded images: the hash-only path (trim, PDQ, pHash, dHash, index lookup), the verify path (plus ORB
   keypoints, voting and the geometric check), and what each later signal adds to it: periodic pictures'
   spectrum signatures (`matcher.spectrum`) and a collage's tiles (`matcher.collage`), then both, which
   is what the crawl runs. The pictures are the accuracy benchmark's first 200 distractors: real
   pictures, crops of them and every generated family, periodic textures among them.
2. Index: lookups per second and memory for N random PDQ hashes (default 10M) at radius 31, for
   spreadtrace's MultiIndex (1 and 2 threads) against FAISS's IndexBinaryMultiHash (16 x 16 bits, one flip,
   as HMA configures it for 31). Each index is built in its own process, so its memory is its own.

Run: make bench-speed   (or: .venv/bin/python -m benchmarks.speed --index-size 10000000)
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from collections.abc import Callable

import numpy as np
import pdqhash
from PIL import Image
from rich.console import Console
from rich.table import Table

from benchmarks.corpus import SKIMAGE_REFERENCES, distractors, perception_images, render
from crawler.config import default_hash_options, default_match_policy
from matcher import Matcher, hash_media
from matcher.media import hash_image
from simsites.corpus import encode, sample_image


def rate(fn: Callable[[], object], count: int, repeat: int = 3) -> float:
    best = min(_timed(fn) for _ in range(repeat))
    return count / best


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def hashing_table(console: Console) -> Table:
    policy = default_match_policy()
    references = [image for _, image in perception_images()] + [sample_image(n) for n in SKIMAGE_REFERENCES]
    signals = [hash_media(encode(image, "PNG"), default_hash_options(), reference=True).signals for image in references]
    full = Matcher(policy, enumerate(signals))
    hashes_only = Matcher(policy, ((i, [s for s in sig if s.kind != "orb"]) for i, sig in enumerate(signals)))
    images = [render(spec) for spec in distractors(200)]
    arrays = [np.asarray(image) for image in images]
    console.print(f"hashing {len(images)} decoded pictures, median size {_median_size(images)}")
    def verify(*, tiles: bool, spectrum: bool) -> Callable[[], object]:
        return lambda: [full.match(hash_image(i, local_features=True, tiles=tiles, spectrum=spectrum)) for i in images]

    paths: list[tuple[str, Callable[[], object]]] = [
        ("raw pdqhash.compute", lambda: [pdqhash.compute(a) for a in arrays]),
        ("hash-only path (trim, PDQ, pHash, dHash, lookup)",
         lambda: [hashes_only.match(hash_image(i, local_features=False, tiles=False, spectrum=False)) for i in images]),
        ("verify path (+ ORB keypoints, voting, RANSAC)", verify(tiles=False, spectrum=False)),
        ("verify path + spectrum signatures", verify(tiles=False, spectrum=True)),
        ("verify path + collage tiles", verify(tiles=True, spectrum=False)),
        ("verify path + both: the crawl's path", verify(tiles=True, spectrum=True)),
    ]  # fmt: skip
    rates = [(label, rate(fn, len(images))) for label, fn in paths]
    table = Table(title="Hashing speed, same decoded pictures, one core")
    table.add_column("path")
    table.add_column("pictures/s", justify="right")
    table.add_column("time vs raw PDQ", justify="right")
    table.add_column("ms/picture", justify="right")
    table.add_column("vs verify path", justify="right")
    for label, per_second in rates:
        table.add_row(label, f"{per_second:,.1f}", f"{rates[0][1] / per_second:.2f}x", f"{1000 / per_second:.1f}",
                      f"{rates[2][1] / per_second:.2f}x")  # fmt: skip
    return table


def _median_size(images: list[Image.Image]) -> str:
    w, h = sorted(i.size for i in images)[len(images) // 2]
    return f"{w}x{h}"


def _index_run(kind: str, size: int, queries: int, threads: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (size, 32), dtype=np.uint8)
    probes = rng.integers(0, 256, (queries, 32), dtype=np.uint8)
    planted = min(200, queries)
    for i in range(planted):  # near copies of indexed hashes at distance 0-31: every one must be found
        bits = np.unpackbits(codes[i * 13])
        bits[rng.choice(256, i % 32, replace=False)] ^= 1
        probes[i] = np.packbits(bits)
    before = _rss() - codes.nbytes  # the index's memory: what remains once the input array is freed
    start = time.perf_counter()
    if kind == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = 1
        index.add(codes)
        built = time.perf_counter() - start
        del codes
        start = time.perf_counter()
        lims, _, ids = index.range_search(probes, 32)  # FAISS's radius is exclusive
        elapsed = time.perf_counter() - start
        found = sum(i * 13 in set(ids[lims[i] : lims[i + 1]].tolist()) for i in range(planted))
    else:
        from matcher.index.multi import MultiIndex

        multi = MultiIndex()
        multi.add(np.arange(size), codes)
        multi.search(probes[:1], 31)
        built = time.perf_counter() - start
        del codes
        start = time.perf_counter()
        results = multi.search(probes, 31, threads=threads)
        elapsed = time.perf_counter() - start
        found = sum(any(hit == i * 13 for hit, _ in results[i]) for i in range(planted))
    peak = _rss() - before
    out.put((queries / elapsed, built, peak, f"{found}/{planted}"))


def _rss() -> int:
    """Resident memory now, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def index_table(console: Console, size: int, queries: int) -> Table:
    table = Table(title=f"PDQ index: {size:,} random hashes, radius 31, {queries:,} queries")
    for column in ("index", "threads", "build s", "lookups/s", "index memory", "planted near copies found"):
        table.add_column(column, justify="right" if column != "index" else "left")
    runs = [("spreadtrace MultiIndex (11 x ~23 bits, exact)", "multi", 1, queries),
            ("spreadtrace MultiIndex (11 x ~23 bits, exact)", "multi", 2, queries),
            ("FAISS IndexBinaryMultiHash (16 x 16, nflip 1)", "faiss", 2, max(200, queries // 20))]  # fmt: skip
    context = multiprocessing.get_context("spawn")
    for label, kind, threads, count in runs:
        console.print(f"building {label} ({threads} thread(s)) ...")
        out = context.Queue()
        process = context.Process(target=_index_run, args=(kind, size, count, threads, out))
        process.start()
        per_second, built, peak, found = out.get()
        process.join()
        table.add_row(label, str(threads), f"{built:.0f}", f"{per_second:,.0f}", f"{peak / 2**30:.2f} GiB", found)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-size", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--skip-hashing", action="store_true")
    args = parser.parse_args()
    console = Console()
    if not args.skip_hashing:
        console.print(hashing_table(console))
    console.print(index_table(console, args.index_size, args.queries))


if __name__ == "__main__":
    main()
