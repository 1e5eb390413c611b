"""Hash-list import benchmark: lines per second for generated PDQ lists, into a fresh store each time.

1. per-row (before): the whole list parsed in memory, then one store transaction per reference, each a
   round trip through the writer thread, and each reference added to the tracker's matcher as it came:
   what `case import-hashes` did before it was batched. Run on a smaller list (``--before-lines``).
2. batched: the list read as a stream and inserted in batches inside ONE transaction (`Store.import_references`
   through `Tracker.import_hashes`), all or nothing.
3. the CLI end to end: `spreadtrace case import-hashes` in its own process (start-up, reading, the
   transaction, the summary), on the same list as 2. Target: >= 20,000 lines/s.

Run: .venv/bin/python -m benchmarks.import_hashes   (--lines 1000000 --before-lines 20000)
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crawler.config import default_match_policy
from matcher import ContentKind
from matcher.hashlist import parse_hash_list, read_hash_list
from tracker import Tracker, open_store


def write_list(path: Path, lines: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w") as out:
        for _ in range(lines):
            out.write(f"{rng.getrandbits(256):064x},{rng.randint(50, 100)}\n")


def per_row(list_path: Path, home: Path) -> float:
    """The import as it was: parse everything, then one transaction per reference, each into the matcher."""
    store = open_store(f"sqlite:///{home / 'spreadtrace.db'}")
    try:
        start = time.perf_counter()
        matcher = Tracker(store, default_match_policy()).matcher
        entries, _ = parse_hash_list(list_path.read_text())
        store.ensure_case("bench")
        known = {(s.kind, s.value) for ref in store.references("bench") for s in ref.signals}
        for entry in entries:
            if (entry.signal.kind, entry.signal.value) not in known:
                known.add((entry.signal.kind, entry.signal.value))
                ref = store.add_reference("bench", ContentKind.IMAGE, None, None, f"list.txt:{entry.line}", (entry.signal,))
                if ref is not None:
                    matcher.add_reference(ref.id, ref.signals)
        return time.perf_counter() - start
    finally:
        store.close()


def batched(list_path: Path, home: Path) -> float:
    tracker = Tracker.open(f"sqlite:///{home / 'spreadtrace.db'}", default_match_policy())
    try:
        start = time.perf_counter()
        with list_path.open("rb") as stream:
            tracker.import_hashes("bench", read_hash_list(stream, print), "list.txt")
        return time.perf_counter() - start
    finally:
        tracker.close()


def cli(list_path: Path, home: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spreadtrace", "--home", str(home), "case", "import-hashes", "bench",
                    str(list_path)], check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--before-lines", type=int, default=20_000, help="list size for the per-row import")
    args = parser.parse_args()
    console = Console()
    root = Path(tempfile.mkdtemp(prefix="spreadtrace-bench-import-"))
    try:
        small, large = root / "small.txt", root / "large.txt"
        write_list(small, args.before_lines)
        write_list(large, args.lines)
        runs = [
            ("per-row, one transaction per line (before)", args.before_lines, per_row(small, root / "a")),
            ("batched, one transaction", args.lines, batched(large, root / "b")),
            ("spreadtrace case import-hashes (whole command)", args.lines, cli(large, root / "c")),
        ]
        table = Table(title="Importing generated PDQ lines into a fresh store")
        for column in ("path", "lines", "seconds", "lines/s", "vs per-row"):
            table.add_column(column, justify="left" if column == "path" else "right")
        base = args.before_lines / runs[0][2]
        for name, lines, seconds in runs:
            rate = lines / seconds
            table.add_row(name, f"{lines:,}", f"{seconds:.1f}", f"{rate:,.0f}", f"{rate / base:.1f}x")
        console.print(table)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
