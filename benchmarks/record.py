"""The record at a million media: retroactive matching of a new case, and its report; time and peak memory.

One store is built and grown through the sizes asked for (10k, 100k, 1M media by default), in bulk SQL, one
transaction per size, through the store's own schema:

- distractors: PDQ (quality 50-100), pHash and dHash from random bits, one observation each on a page of
  one of five sites; one in a hundred is a video of 30 random vPDQ frames;
- keypoints: ``--keypoint-media`` distractors (the same ones at every size) carry the ORB keypoints of an
  unrelated photograph (38 KB each: a million would be ~38 GB, so the cost of keypoints is measured on
  these, and extrapolated);
- the new case's material, crawled before the case was opened: every picture edit of `simsites.transforms`
  (crops, rotations, screenshots and collages included) of the case's four pictures, and every video edit
  of its video, hashed for real and observed on pages of three sites, some claiming an upload time.

For each size, each command runs in a process of its own on a copy of the store: its click command, given
an `App` on that copy, exactly as `spreadtrace` runs it. Seconds are the command's own (the interpreter's
start-up aside: a start-up row shows it once); peak RSS is the whole process's.

(a) `spreadtrace case add NEWCASE FILES`: four pictures and a video, keypoints included;
(a') the same with SPREADTRACE_LOCAL_FEATURES off, now only: no keypoints (the difference is what they cost);
(b) `spreadtrace case import-hashes IMPORTED LIST`: the pictures' PDQ and ``--list-hashes`` unrelated ones;
(c) `spreadtrace report NEWCASE --format json` after (a) (the report has no HTML form).

"before" is the retroactive matching of commit 8f3304b, kept below as `OneByOneTracker`: every stored media,
streamed with all its signals, through a matcher of the new references, one at a time; "now" is
`tracker.retroactive`. Each row prints the sightings both found (a fast but wrong run shows) and whether
they are the same ones. ``--before-max`` leaves "before" out above a size (it takes minutes at a million).
Commands run as a user runs them: the CLI sets OMP_WAIT_POLICY=PASSIVE itself (spreadtrace/__init__.py).

Run: make bench-record   (or: .venv/bin/python -m benchmarks.record --media 10000,100000,1000000)
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from crawler.config import default_hash_options
from matcher import Matcher, MediaHashes, hash_file, hash_media
from matcher.hashers.vpdq import VpdqFrame, frames_to_text
from simsites.corpus import encode, generated_image, sample_image
from simsites.transforms import IMAGE_EDITS, collage
from simsites.videos import VIDEO_EDITS, decode_all, slideshow, write_video
from tracker import Observation, Sighting, Tracker, open_store
from tracker.models import Reference
from tracker.retroactive import Progress

PICTURES = ("coffee", "chelsea", "rocket", "hubble_deep_field")
SITES = ("board", "tube", "forum")
FPS, SIZE = 12, (320, 240)


class OneByOneTracker(Tracker):
    """`Tracker.match_history` as it was at 8f3304b: the "before" of this benchmark."""

    def match_history(self, references: Sequence[Reference], progress: Progress | None = None) -> list[Sighting]:
        only_these: Matcher | None = None
        found: dict[int, Sighting] = {}
        with self._lock:
            for sha256, signals in self.store.iter_media_signals():
                if only_these is None:
                    only_these = Matcher(self.policy, ((ref.id, ref.signals) for ref in references))
                decisions = only_these.match(signals)
                for observation in self.store.observations_of(sha256) if decisions else ():
                    if observation.shows and observation.error is None:
                        for decision in decisions:
                            sighting = self._record(observation, decision)
                            found[sighting.id] = sighting
            replayed = [self._replay(sighting) for sighting in found.values()]
        return replayed


def run_command(path: str, home: str, settings: str, *words: str) -> None:
    """One command's own function in this process, on the tracker of ``path`` ("before": 8f3304b's, "now":
    today's); ``settings`` is NAME=VALUE,... Prints the seconds it took, start-up aside, on stderr."""
    import click

    from crawler.config import match_policy
    from spreadtrace.app import App
    from spreadtrace.cli import cli

    app = App(Path(home), dict(pair.split("=", 1) for pair in settings.split(",") if pair))
    if path == "before":
        app.__dict__["tracker"] = OneByOneTracker(app.store, match_policy(app.settings))  # what App.tracker caches
    command: click.Command = cli
    args = list(words)
    while isinstance(command, click.Group):
        command = command.commands[args.pop(0)]
    start = time.perf_counter()
    try:
        command.main(args, obj=app, standalone_mode=False)
    finally:
        app.end()
    print(f"{_SECONDS} {time.perf_counter() - start:.3f}", file=sys.stderr)


@dataclass
class NewCase:
    """The new case's files, and what the crawl met of them before the case was opened."""

    files: list[Path]
    hash_list: Path
    copies: list[tuple[MediaHashes, list[Observation]]]


def make_case(folder: Path, list_hashes: int) -> NewCase:
    options = default_hash_options()
    files = []
    for name in PICTURES:
        files.append(folder / f"{name}.png")
        files[-1].write_bytes(encode(sample_image(name), "PNG"))
    files.append(folder / "clip.mp4")
    write_video(files[-1], slideshow([generated_image(101), generated_image(102)], 4.0, FPS, SIZE), FPS)
    rng = random.Random(7)
    with (folder / "list.txt").open("w") as out:
        for path in files[:-1]:
            signals = hash_file(path, options, reference=True).signals
            out.write(f"{next(s.value for s in signals if s.kind == 'pdq' and s.variant == 'original')}\n")
        for _ in range(list_hashes):
            out.write(f"{rng.getrandbits(256):064x},{rng.randint(50, 100)}\n")
    crawled = []
    fillers = [generated_image(seed) for seed in range(3)]
    for name in PICTURES:
        picture = sample_image(name)
        crawled += [edit.bytes_of(picture, seed) for edit in IMAGE_EDITS.values() for seed in (0, 1)]
        crawled.append(encode(collage(picture, rng, fillers)))
    copies = [hash_media(data, options) for data in dict.fromkeys(crawled)]
    frames, fps = decode_all(files[-1])
    for number, edit in enumerate(VIDEO_EDITS):
        edited, rate = edit.apply(frames, fps)
        write_video(folder / f"copy{number}.mp4", edited, rate, crf=edit.crf)
        copies.append(hash_file(folder / f"copy{number}.mp4", options))
    return NewCase(files, folder / "list.txt", [(hashes, _pages(n, hashes)) for n, hashes in enumerate(copies)])


def _pages(number: int, hashes: MediaHashes) -> list[Observation]:
    """One to three pages of different sites show the copy, the first of them saying when it was uploaded."""
    observed = []
    for page in range(1 + number % 3):
        site = SITES[(number + page) % 3]
        url = f"http://{site}.example/post/{number}"
        observed.append(Observation(
            observed_at=f"2026-02-{1 + (number + page) % 27:02d}T12:00:00Z", site=site, page_url=url,
            media_url=f"http://cdn.{site}.example/{number}", http_status=200, sha256=hashes.sha256,
            content_type="video/mp4" if hashes.kind == "video" else "image/jpeg", claimed_at="2026-01-10T00:00:00Z" if page == 0 else None,
            claimed_source="html:time" if page == 0 else None,
        ))  # fmt: skip
    return observed


def keypoint_signals(count: int) -> list[str]:
    """ORB keypoints of unrelated pictures (generated: never the case's)."""
    options = default_hash_options()
    found = [hash_media(encode(generated_image(500 + n)), options).signals for n in range(count)]
    return [s.value for signals in found for s in signals if s.kind == "orb"]


def keypoint_cost(database: str, *files: str) -> None:
    """The matcher over the keypoint distractors (the same ones at every size) against the case's
    references: before and now alike, every media with keypoints goes through it. Prints: media, seconds."""
    from crawler.config import default_match_policy

    options = default_hash_options()
    hashed = [hash_file(Path(name), options, reference=True) for name in files]
    matcher = Matcher(default_match_policy(), ((n, h.signals) for n, h in enumerate(hashed, 1)))
    conn = sqlite3.connect(database)
    found = conn.execute("SELECT c.sha256 FROM media_codes c JOIN media m USING (sha256) WHERE c.keypoints AND m.hashed_at = ?",
                         (_DISTRACTED_AT,)).fetchall()  # fmt: skip
    conn.close()
    store = open_store(f"sqlite:///{database}")
    try:
        start = time.perf_counter()
        for (sha256,) in found:
            signals = store.media_signals(sha256)
            assert isinstance(signals, tuple)
            matcher.match(signals)
        print(len(found), time.perf_counter() - start)
    finally:
        store.close()


_DISTRACTED_AT = "2026-01-01T00:00:00Z"  # when distractors were "hashed": how the keypoint ones are told apart
_DISTRACTORS = """
CREATE TEMP TABLE distractor AS
WITH RECURSIVE n(i) AS (SELECT :start UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :stop)
SELECT i, lower(hex(randomblob(32))) AS sha256, lower(hex(randomblob(32))) AS pdq, 50 + abs(random() % 51) AS quality,
       lower(hex(randomblob(8))) AS phash, lower(hex(randomblob(8))) AS dhash, 'site' || (i % 5) AS site
FROM n WHERE i % 100 != 99;
INSERT INTO media (sha256, md5, size, kind, width, height, hashed_at)
    SELECT sha256, substr(pdq, 1, 32), 20000 + i % 400000, 'image', 640, 480, :at FROM distractor;
INSERT INTO media_signals (sha256, kind, version, value, quality, variant)
    SELECT sha256, kind, 1, CASE k WHEN 0 THEN pdq WHEN 1 THEN phash ELSE dhash END, CASE k WHEN 0 THEN quality END,
           'original'
    FROM distractor, (SELECT 0 AS k, 'pdq' AS kind UNION ALL SELECT 1, 'phash' UNION ALL SELECT 2, 'dhash')
    ORDER BY i, k;
INSERT INTO media_codes (sha256, pdq, phash, keypoints) SELECT sha256, pdq, phash, 0 FROM distractor ORDER BY i;
INSERT INTO observations (observed_at, site, page_url, media_url, host, http_status, sha256, content_type, size)
    SELECT '2026-02-' || printf('%02d', 1 + i % 28) || 'T00:00:00Z', site, 'http://' || site || '.example/p/' || i,
           'http://' || site || '.example/m/' || i || '.jpg', site || '.example', 200, sha256, 'image/jpeg', 50000
    FROM distractor ORDER BY i;
DROP TABLE distractor;
"""


def grow(path: Path, first: int, last: int, keypoints: Sequence[str], keypoint_media: int) -> None:
    """Add distractors ``first`` to ``last`` (numbered from 0) in one transaction: picture hashes and
    observations in SQL, videos here; the first ``keypoint_media`` pictures get keypoints."""
    rng = random.Random(first)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -1000000")  # a GB of page cache: the indexes take random inserts
    conn.execute("BEGIN")
    hashed_before = conn.execute("SELECT coalesce(max(id), 0) FROM media_codes").fetchone()[0]
    for statement in filter(str.strip, _DISTRACTORS.split(";\n")):
        conn.execute(statement, {"start": first, "stop": last, "at": _DISTRACTED_AT})
    for _ in range(first + 99 - first % 100, last, 100):
        sha, frames = f"{rng.getrandbits(256):064x}", [f"{rng.getrandbits(256):064x}" for _ in range(30)]
        text = frames_to_text(VpdqFrame(n, 90, pdq, float(n)) for n, pdq in enumerate(frames))
        conn.execute("INSERT INTO media (sha256, md5, size, kind, width, height, duration, hashed_at)"
                     " VALUES (?, ?, 900000, 'video', 640, 360, 30.0, ?)", (sha, sha[:32], _DISTRACTED_AT))
        conn.executemany("INSERT INTO media_signals (sha256, kind, version, value, quality, variant)"
                         " VALUES (?, ?, 1, ?, ?, 'original')",
                         [(sha, "vpdq", text, 90), (sha, "videohash", f"{rng.getrandbits(64):016x}", None)])
        conn.execute("INSERT INTO media_codes (sha256, pdq, phash, keypoints) VALUES (?, ?, '', 0)", (sha, "".join(frames)))
    if first == 0:
        chosen = conn.execute("SELECT sha256 FROM media_codes WHERE id > ? AND length(pdq) = 64 ORDER BY id LIMIT ?",
                              (hashed_before, keypoint_media)).fetchall()
        for n, (sha,) in enumerate(chosen):
            conn.execute("INSERT INTO media_signals (sha256, kind, version, value, variant) VALUES (?, 'orb', 1, ?, 'original')",
                         (sha, keypoints[n % len(keypoints)]))
            conn.execute("UPDATE media_codes SET keypoints = 1 WHERE sha256 = ?", (sha,))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# Peak RSS through a small parent: a child forked from this process (hundreds of MB by now) would count
# this process's pages as its own until it execs.
_WRAPPER = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
)
_SECONDS = "spreadtrace-bench-seconds"


def measure(path: str, home: Path, settings: Sequence[str], words: Sequence[str]) -> tuple[float, float]:
    """Seconds in the command and peak RSS (MB) of its process, one of its own."""
    runner = [sys.executable, "-m", "benchmarks.record", "--run", path, str(home), ",".join(settings), *words]
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *runner], capture_output=True, text=True)
    peak, code = done.stdout.split()
    timing = [line for line in done.stderr.splitlines() if line.startswith(_SECONDS)]
    if done.returncode or int(code) or not timing:
        raise SystemExit(f"{' '.join(words)} failed ({code}):\n{done.stderr}")
    return float(timing[-1].split()[1]), int(peak) / 1024


def start_up() -> tuple[float, float]:
    """Seconds and peak RSS of `spreadtrace --version`: what loading the CLI costs every command."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m", "spreadtrace", "--version"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return time.perf_counter() - start, int(done.stdout.split()[0]) / 1024


def sightings_of(home: Path, case_id: str) -> set[tuple[object, ...]]:
    conn = sqlite3.connect(home / "spreadtrace.db")
    try:
        found = conn.execute("SELECT reference_id, page_url, media_url, verdict, decided_by, status FROM sightings"
                             " WHERE case_id = ?", (case_id,)).fetchall()  # fmt: skip
        return set(found)
    finally:
        conn.close()


@dataclass
class Row:
    media: int
    command: str
    before: tuple[float, float, int] | None  # seconds, MB, sightings
    now: tuple[float, float, int]
    same: bool | None


def run_size(root: Path, base: Path, media: int, case: NewCase, with_before: bool) -> list[Row]:
    """Each command on its own copy of the store, before and now; the report on what (a) now found."""
    files = [str(p) for p in case.files]
    commands = [
        ("(a) case add", [], ["case", "add", "new", *files], "new"),
        ("(a') case add, keypoints off", ["SPREADTRACE_LOCAL_FEATURES=false"], ["case", "add", "new", *files], "new"),
        ("(b) case import-hashes", [], ["case", "import-hashes", "imported", str(case.hash_list)], "imported"),
    ]
    rows, kept = [], root / "after-a"
    for number, (label, settings, words, case_id) in enumerate(commands):
        found: dict[str, tuple[float, float, set[tuple[object, ...]]]] = {}
        for path in ("before", "now") if with_before and not settings else ("now",):
            home = root / f"{media}-{number}-{path}"
            home.mkdir(mode=0o700)
            shutil.copy(base, home / "spreadtrace.db")
            seconds, peak = measure(path, home, settings, words)
            found[path] = (seconds, peak, sightings_of(home, case_id))
            if number == 0 and path == "now":
                home.rename(kept)
            else:
                shutil.rmtree(home)
        now, before = found["now"], found.get("before")
        rows.append(Row(media, label, None if before is None else (before[0], before[1], len(before[2])),
                        (now[0], now[1], len(now[2])), None if before is None else before[2] == now[2]))  # fmt: skip
    seconds, peak = measure("now", kept, [], ["report", "new", "--format", "json"])
    rows.append(Row(media, "(c) report --format json", None, (seconds, peak, len(sightings_of(kept, "new"))), None))
    shutil.rmtree(kept)
    return rows


def main() -> None:
    if sys.argv[1:2] == ["--run"]:
        run_command(*sys.argv[2:])
        return
    if sys.argv[1:2] == ["--keypoint-cost"]:
        keypoint_cost(*sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--media", default="10000,100000,1000000", help="store sizes, ascending (comma-separated)")
    parser.add_argument("--keypoint-media", type=int, default=300, help="distractors with ORB keypoints")
    parser.add_argument("--list-hashes", type=int, default=1000, help="unrelated PDQ hashes in the imported list")
    parser.add_argument("--before-max", type=int, default=1_000_000, help="largest store the one-by-one path runs on")
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.media.split(","))
    console = Console(width=150)
    root = Path(tempfile.mkdtemp(prefix="spreadtrace-bench-record-"))
    try:
        start = time.perf_counter()
        case = make_case(root, args.list_hashes)
        base = root / "base.db"
        store = open_store(f"sqlite:///{base}")
        for hashes, observed in case.copies:
            store.put_media(hashes)
            for observation in observed:
                store.append_observation(observation)
        store.close()
        pool = keypoint_signals(24)
        console.print(f"new case: {len(case.files)} files, {len(case.copies)} copies crawled before "
                      f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
        rows = [Row(0, "start-up: spreadtrace --version", None, (*start_up(), 0), None)]
        distractors, keypoints = 0, ""
        for media in sizes:
            start = time.perf_counter()
            grow(base, distractors, media - len(case.copies), pool, args.keypoint_media)
            distractors = media - len(case.copies)
            console.print(f"store of {media:,} media built ({time.perf_counter() - start:.0f} s, "
                          f"{base.stat().st_size / 1e6:,.0f} MB)")  # fmt: skip
            rows += run_size(root, base, media, case, media <= args.before_max)
            if not keypoints:
                command = [sys.executable, "-m", "benchmarks.record", "--keypoint-cost", str(base), *map(str, case.files)]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                count, seconds = done.stdout.split()
                keypoints = _keypoint_note(int(count), float(seconds))
            console.print(table(rows, args.keypoint_media, keypoints))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _keypoint_note(count: int, seconds: float) -> str:
    hours = seconds * 1_000_000 / max(count, 1) / 3600
    return (f"Keypoints: the matcher took {seconds:.1f} s over the {count} distractors with ORB ({seconds / max(count, 1) * 1000:.0f} "
            f"ms a media), before and now alike: a million media with keypoints would take about {hours:.0f} h "
            "(extrapolated, not run).")  # fmt: skip


def table(rows: Sequence[Row], keypoint_media: int, keypoints: str) -> Table:
    title = (f"Retroactive matching and report against N stored media (ORB keypoints: on {keypoint_media} "
             "distractors and the picture copies, at every N; one media in 100 is a video)")  # fmt: skip
    grid = Table(title=title, caption=keypoints)
    for column in ("media", "command", "before s", "now s", "speed-up", "before MB", "now MB", "sightings before/now"):
        grid.add_column(column, justify="left" if column == "command" else "right")
    for row in rows:
        now_s, now_mb, now_found = row.now
        if not row.media:
            grid.add_row("-", row.command, "-", f"{now_s:.1f}", "-", "-", f"{now_mb:.0f}", "-")
            continue
        if row.before is None:
            grid.add_row(f"{row.media:,}", row.command, "-", f"{now_s:.1f}", "-", "-", f"{now_mb:.0f}", f"- / {now_found}")
            continue
        before_s, before_mb, before_found = row.before
        same = "" if row.same else " DIFFER"
        grid.add_row(f"{row.media:,}", row.command, f"{before_s:.1f}", f"{now_s:.1f}", f"{before_s / now_s:.1f}x",
                     f"{before_mb:.0f}", f"{now_mb:.0f}", f"{before_found} / {now_found}{same}")  # fmt: skip
    return grid


if __name__ == "__main__":
    main()
