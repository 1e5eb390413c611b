"""Scan benchmark: files per second over a folder of photos, side by side in one run, against raw pdqhash.

A folder of >= 4,000 photo-like JPEGs of 1,000-2,000 px on the long side is generated in a temporary
folder (on every core): people-free scikit-image photographs, Thorn perception's testing photographs and
generated pictures, each cropped, scaled, rotated, colour-shifted, given sensor noise and re-encoded, so
every file is distinct. A home is opened with three cases of 30 references in all (pictures of the same
kinds, kept apart from the folder's sources); 20 of them are planted in the folder three times each,
edited (re-encoded, shrunk, watermarked, cropped, mirrored), so that matches happen.

Then, on the same files:

(a) raw pdqhash with decoding: PIL open + convert("RGB") + pdqhash.compute, in ONE process (the baseline;
    half the files before (b) and (c), half after, since the load of a shared machine drifts);
(b) `spreadtrace hash FOLDER -o LIST` (the hash-only path: PDQ for a hash list), its own process, every core;
(c) `spreadtrace scan --json FOLDER` (the full matcher: every hasher, keypoint voting, RANSAC), likewise.

Each row gives files/s and its time per file against (a): the targets are <= 1.5x for (b) and <= 3x for
(c). The matches (c) found are scored against the planted copies, and (b)'s hashes against (a)'s values,
so a fast but wrong path shows. ``--pdq-downscale`` adds how far PDQ moves when the picture is shrunk to
512x512 first, as Meta's C++ pdq-photo-hasher does (spreadtrace hashes the full picture, as pdqhash and
python-threatexchange do).

Run: make bench-scan   (or: .venv/bin/python -m benchmarks.scan --files 4300; --files 400 for a quick look)
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from rich.console import Console
from rich.table import Table

from matcher.borders import trim_borders
from matcher.hashers.pdq import bits_to_hex
from spreadtrace.pool import available_cores
from simsites.corpus import generated_image, sample_image

ROOT = Path(__file__).resolve().parent.parent
# Sources of the folder's photos, and the ones kept for references only (a crop of a reference's source
# would rightly match it, and then count as a false match).
FOLDER_SAMPLES = ("hubble_deep_field", "immunohistochemistry", "retina", "brick", "grass", "gravel", "moon",
                  "coins", "horse", "clock", "cell")  # fmt: skip
REFERENCE_SAMPLES = ("coffee", "chelsea", "rocket")
REFERENCE_PERCEPTION = 4  # perception's image1-4 are references' sources, image5-10 the folder's
REFERENCES, PLANTED, COPIES = 30, 20, 3
CASES = ("case-a", "case-b", "case-c")


# -- the folder ---------------------------------------------------------------------------------------


def perception_photo(number: int) -> Image.Image:
    folder = resources.files("perception") / "testing" / "images"
    with Image.open(folder / f"image{number}.jpg") as image:  # type: ignore[arg-type]
        return image.convert("RGB")


def source_picture(kind: str, key: int) -> Image.Image:
    """A base picture: a photograph, or a generated picture (made small, then scaled up like the rest)."""
    if kind == "sample":
        return sample_image(FOLDER_SAMPLES[key % len(FOLDER_SAMPLES)])
    if kind == "perception":
        return perception_photo(REFERENCE_PERCEPTION + 1 + key % (10 - REFERENCE_PERCEPTION))
    return generated_image(key, (640, 480))


def photo_like(base: Image.Image, rng: random.Random, noise: np.ndarray) -> Image.Image:
    """A crop of ``base`` at 1,000-2,000 px on its long side, shifted in colour, maybe turned a little,
    with sensor noise: what a folder of phone photos and downloads looks like to a decoder and a hasher."""
    w, h = base.size
    cw, ch = round(w * rng.uniform(0.6, 1.0)), round(h * rng.uniform(0.6, 1.0))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    picture = base.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.3:
        picture = picture.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        picture = ImageOps.mirror(picture)
    side = rng.randint(1000, 2000)
    scale = side / max(picture.size)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BICUBIC)
    picture = ImageEnhance.Color(picture).enhance(rng.uniform(0.6, 1.4))
    picture = ImageEnhance.Brightness(picture).enhance(rng.uniform(0.8, 1.2))
    return with_noise(picture, rng, noise)


def with_noise(picture: Image.Image, rng: random.Random, noise: np.ndarray) -> Image.Image:
    """Add a window of a pre-drawn noise field at a random strength (drawing fresh noise per file costs
    more than everything else in generating it)."""
    w, h = picture.size
    x, y = rng.randint(0, noise.shape[1] - w), rng.randint(0, noise.shape[0] - h)
    strength = rng.uniform(0.3, 1.0)
    pixels = np.asarray(picture, dtype=np.float32) + noise[y : y + h, x : x + w] * strength
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def jpeg(picture: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


_NOISE: np.ndarray | None = None


def _noise() -> np.ndarray:
    global _NOISE
    if _NOISE is None:
        _NOISE = np.random.default_rng(7).normal(0, 6, (2000, 2000, 3)).astype(np.float32)
    return _NOISE


def make_reference(number: int) -> bytes:
    """Reference ``number``: its own source (a kept-apart photograph, or a generated picture of its own)."""
    rng = random.Random(10_000 + number)
    if number < len(REFERENCE_SAMPLES):
        base = sample_image(REFERENCE_SAMPLES[number])
    elif number < len(REFERENCE_SAMPLES) + REFERENCE_PERCEPTION:
        base = perception_photo(number - len(REFERENCE_SAMPLES) + 1)
    else:
        base = generated_image(500_000 + number, (640, 480))
    return jpeg(photo_like(base, rng, _noise()), 92)


def make_copy(reference: bytes, number: int) -> bytes:
    """An uploader's edit of a reference: re-encoded, shrunk, watermarked, cropped or mirrored."""
    rng = random.Random(20_000 + number)
    with Image.open(io.BytesIO(reference)) as opened:
        picture = opened.convert("RGB")
    edit = number % 5
    if edit == 1:
        picture = picture.resize((picture.width * 2 // 3, picture.height * 2 // 3), Image.Resampling.LANCZOS)
    elif edit == 2:
        draw = ImageDraw.Draw(picture, "RGBA")
        w, h = picture.size
        draw.rectangle((w - w // 3, h - h // 8, w - 8, h - 8), fill=(0, 0, 0, 150))
    elif edit == 3:
        w, h = picture.size
        picture = picture.crop((w // 10, h // 10, w - w // 20, h - h // 20))
    elif edit == 4:
        picture = ImageOps.mirror(picture)
    return jpeg(picture, rng.randint(60, 85) if edit == 0 else 85)


def make_photo(number: int) -> bytes:
    rng = random.Random(number)
    kind = ("sample", "perception", "generated")[number % 3]
    return jpeg(photo_like(source_picture(kind, number), rng, _noise()), rng.randint(75, 95))


@dataclass(frozen=True)
class Corpus:
    folder: Path
    files: list[Path]
    references: Path
    planted: dict[str, int]  # file name -> the reference it is a copy of


def _write(task: tuple[str, int, str]) -> None:
    kind, number, target = task
    data = make_photo(number) if kind == "photo" else make_reference(number)
    Path(target).write_bytes(data)


def generate(root: Path, files: int, console: Console) -> Corpus:
    folder, references = root / "photos", root / "references"
    folder.mkdir()
    references.mkdir()
    start = time.perf_counter()
    reference_paths = [references / CASES[n % len(CASES)] / f"reference-{n:02d}.jpg" for n in range(REFERENCES)]
    for path in reference_paths:
        path.parent.mkdir(exist_ok=True)
    photos = files - PLANTED * COPIES
    tasks = [("reference", n, str(path)) for n, path in enumerate(reference_paths)]
    tasks += [("photo", n, str(folder / f"photo-{n:05d}.jpg")) for n in range(photos)]
    with multiprocessing.get_context("spawn").Pool(available_cores()) as pool:
        for _ in pool.imap_unordered(_write, tasks, chunksize=8):
            pass
    # Copies get names that sort among the photos, so matches are spread through the scan.
    rng = random.Random(3)
    planted = {}
    for n in range(PLANTED * COPIES):
        reference = n % PLANTED
        name = f"photo-{rng.randrange(photos):05d}-{n}.jpg"
        (folder / name).write_bytes(make_copy(reference_paths[reference].read_bytes(), n))
        planted[name] = reference
    names = sorted(p for p in folder.iterdir())
    sizes = sorted(max(Image.open(p).size) for p in names[:: max(1, len(names) // 200)])
    console.print(
        f"generated {len(names):,} files ({sum(p.stat().st_size for p in names) / 2**20:,.0f} MiB, long side "
        f"{sizes[0]}-{sizes[-1]} px, median {sizes[len(sizes) // 2]}) and {REFERENCES} references in "
        f"{time.perf_counter() - start:.0f} s"
    )
    return Corpus(folder, names, references, planted)


# -- the contenders -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """Wall time, and the CPU time every process of the run used (on a shared machine the wall time says
    what the load allowed; the CPU time what the work cost)."""

    seconds: float
    cpu: float

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.seconds + other.seconds, self.cpu + other.cpu)


def raw_pdqhash(files: Sequence[Path]) -> tuple[Timing, list[str]]:
    """The baseline: decode and hash each file in this one process, as a bare pdqhash user would."""
    start, cpu = time.perf_counter(), time.process_time()
    hashes = []
    for path in files:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        vector, _ = pdqhash.compute(pixels)
        hashes.append(bits_to_hex(vector))
    return Timing(time.perf_counter() - start, time.process_time() - cpu), hashes


def spreadtrace(home: Path, *args: str, stdout: Path | None = None) -> Timing:
    """Run the CLI in its own process (start-up and workers included), as a user would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start, cpu = time.perf_counter(), _children_cpu()
    with open(stdout or os.devnull, "w") as out:
        done = subprocess.run([sys.executable, "-m", "spreadtrace", "--home", str(home), *args], stdout=out,
                              stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    timing = Timing(time.perf_counter() - start, _children_cpu() - cpu)
    if done.returncode != 0:
        raise SystemExit(f"spreadtrace {' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}")
    return timing


def _children_cpu() -> float:
    """CPU seconds of the ended children, their own ended children (the workers) included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def trimmed_first(path: Path) -> bool:
    """Whether spreadtrace hashes less than the whole picture (`matcher.borders`: plain borders cut)."""
    with Image.open(path) as opened:
        picture = opened.convert("RGB")
    return trim_borders(picture) is not picture


def score_matches(records: list[dict[str, object]], planted: dict[str, int]) -> dict[str, int]:
    counts = {"found": 0, "needs review": 0, "missed": 0, "false": 0, "errors": 0}
    for record in records:
        name = Path(str(record["path"])).name
        truth = planted.get(name)
        matches = record["matches"]
        assert isinstance(matches, list)
        matched = {int(m["reference_label"].split("-")[1][:2]) for m in matches if m["verdict"] == "match"}
        review = {int(m["reference_label"].split("-")[1][:2]) for m in matches if m["verdict"] == "needs_review"}
        counts["errors"] += record["error"] is not None
        counts["false"] += len(matched - {truth})
        if truth is not None:
            counts["found" if truth in matched else "needs review" if truth in review else "missed"] += 1
    return counts


def pdq_downscale_table(files: Sequence[Path], sample: int) -> Table:
    """PDQ of the picture as decoded against PDQ after shrinking it to 512x512 first (nearest neighbour,
    as Meta's pdq-photo-hasher does with CImg's default resize), and after an area-averaging shrink."""
    chosen = list(files[:: max(1, len(files) // sample)])[:sample]
    distances: dict[str, list[int]] = {"512x512 nearest (pdq-photo-hasher)": [], "512x512 box filter": []}
    for path in chosen:
        with Image.open(path) as opened:
            picture = opened.convert("RGB")
        full = np.asarray(pdqhash.compute(np.asarray(picture))[0], dtype=bool)
        for label, resample in zip(distances, (Image.Resampling.NEAREST, Image.Resampling.BOX), strict=True):
            small = np.asarray(picture.resize((512, 512), resample))
            distances[label].append(int((np.asarray(pdqhash.compute(small)[0], dtype=bool) != full).sum()))
    table = Table(title=f"PDQ distance, full-size picture vs shrunk first ({len(chosen)} files of the folder)")
    for column in ("shrink", "mean", "max", "> 10 bits", "> 31 bits"):
        table.add_column(column, justify="left" if column == "shrink" else "right")
    for label, found in distances.items():
        table.add_row(label, f"{np.mean(found):.1f}", str(max(found)), str(sum(d > 10 for d in found)),
                      str(sum(d > 31 for d in found)))  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=4300, help="files in the folder (the issue's: about 4,300)")
    parser.add_argument("--pdq-downscale", type=int, default=0, metavar="N",
                        help="also measure PDQ full-size vs shrunk to 512x512 on N of the files")  # fmt: skip
    args = parser.parse_args()
    if args.files < PLANTED * COPIES + 10:
        parser.error(f"--files must be at least {PLANTED * COPIES + 10}")
    console = Console() if sys.stdout.isatty() else Console(width=160)  # a log keeps the table unfolded
    cores = available_cores()
    with tempfile.TemporaryDirectory(prefix="bench-scan-") as temporary:
        root = Path(temporary)
        corpus = generate(root, args.files, console)
        home = root / "home"
        for case in CASES:
            spreadtrace(home, "case", "add", case, str(corpus.references / case))
        console.print(f"timing {len(corpus.files):,} files; {cores} core(s); load average {os.getloadavg()[0]:.1f}")
        # The baseline runs half before and half after the others: on a shared machine the load drifts.
        half = len(corpus.files) // 2
        first_raw, first_hashes = raw_pdqhash(corpus.files[:half])
        hashing = spreadtrace(home, "hash", str(corpus.folder), "-o", str(root / "list.txt"))
        scanning = spreadtrace(home, "scan", "--json", str(corpus.folder), stdout=root / "scan.json")
        second_raw, second_hashes = raw_pdqhash(corpus.files[half:])
        raw, raw_hashes = first_raw + second_raw, first_hashes + second_hashes
        console.print(f"load average {os.getloadavg()[0]:.1f} after; raw pdqhash {half / first_raw.seconds:.1f} "
                      f"files/s before, {(len(corpus.files) - half) / second_raw.seconds:.1f} after")  # fmt: skip
        listed = [line.split(",")[0] for line in (root / "list.txt").read_text().splitlines()]
        records = json.loads((root / "scan.json").read_text())
        differing = [path for path, a, b in zip(corpus.files, raw_hashes, listed, strict=True) if a != b]
        trimmed = sum(trimmed_first(path) for path in differing)
        if args.pdq_downscale:
            console.print(pdq_downscale_table(corpus.files, args.pdq_downscale))
    same = len(corpus.files) - len(differing)
    scores = score_matches(records, corpus.planted)
    planted = len(corpus.planted)
    count = len(corpus.files)
    table = Table(title=f"Scan: {count:,} photos of 1,000-2,000 px, {REFERENCES} references in {len(CASES)} cases, "
                        f"{cores} core(s)")  # fmt: skip
    for column in ("path", "processes", "files/s", "time vs raw", "target", "CPU s/file", "what it found"):
        table.add_column(column, justify="left" if column in ("path", "what it found") else "right")
    rows = [
        ("raw pdqhash (PIL open + convert RGB + pdqhash.compute)", "1", raw, "-",
         f"{count:,} PDQ hashes"),
        ("spreadtrace hash (PDQ only, a hash list)", str(cores), hashing, "<= 1.5x",
         f"{len(listed):,} hashes: {same:,} equal to raw pdqhash's, {trimmed:,} of a picture with plain borders "
         f"trimmed first (as case add), {len(differing) - trimmed:,} others"),
        ("spreadtrace scan (full matcher)", str(cores), scanning, "<= 3x",
         f"{scores['found']}/{planted} planted copies matched, {scores['needs review']} need review, "
         f"{scores['missed']} missed; {scores['false']} false matches; {scores['errors']} errors"),
    ]  # fmt: skip
    for label, processes, timing, target, found in rows:
        ratio = "1.00x" if timing is raw else f"{timing.seconds / raw.seconds:.2f}x"
        table.add_row(label, processes, f"{count / timing.seconds:,.1f}", ratio, target, f"{timing.cpu / count:.3f}", found)
    console.print(table)


if __name__ == "__main__":
    main()
