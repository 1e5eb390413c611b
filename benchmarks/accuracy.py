"""Accuracy benchmark: recall per edit and false matches, side by side in one run, for PDQ alone (<= 31),
pHash alone (<= 8), spreadtrace with global hashes only, and spreadtrace with local features.

References: Thorn perception's testing photographs and people-free scikit-image photographs. Distractors
(>= 2,000): the other scikit-image samples, frames of perception's testing videos, crops of both, and
generated pictures. Every edit of every reference is a query; so is every distractor. A false match is
any match to a reference the query was not made from.

Run: make bench-accuracy   (or: .venv/bin/python -m benchmarks.accuracy --distractors 2000)
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources

import cv2
import imagehash
import numpy as np
import pdqhash
from PIL import Image
from rich.console import Console
from rich.progress import track
from rich.table import Table

from crawler.config import default_hash_options, default_match_policy
from matcher import MatchDecision, Matcher, Verdict, hash_media
from matcher.image import decode_image
from simsites.corpus import DISTRACTOR_SAMPLES, encode, generated_image, sample_image
from simsites.transforms import EVERYDAY, HARD, collage

SKIMAGE_REFERENCES = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "coins", "moon")
PERCEPTION_VIDEOS = ("extra_channel_attached_pic.mp4", "rgb.m4v", "v1.m4v", "v2.m4v")  # the others repeat these


def perception_images() -> list[tuple[str, Image.Image]]:
    folder = resources.files("perception") / "testing" / "images"
    names = sorted((p.name for p in folder.iterdir() if p.name.endswith(".jpg")), key=lambda n: int(n[5:-4]))
    return [(f"perception/{n}", Image.open(folder / n).convert("RGB")) for n in names]  # type: ignore[arg-type]


def video_frames(every: int) -> Iterator[Image.Image]:
    folder = resources.files("perception") / "testing" / "videos"
    for name in PERCEPTION_VIDEOS:
        capture = cv2.VideoCapture(str(folder / name))
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % every == 0:
                yield Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            index += 1
        capture.release()


def distractor_set(count: int, seed: int = 11) -> list[Image.Image]:
    """Real pictures first (samples, video frames), then crops of them, then generated pictures."""
    rng = random.Random(seed)
    real = [sample_image(n) for n in DISTRACTOR_SAMPLES if n not in SKIMAGE_REFERENCES]
    real += list(video_frames(every=4))
    crops = []
    for _ in range(min(count // 3, 4 * len(real))):
        picture = rng.choice(real)
        w, h = picture.size
        cw, ch = int(w * rng.uniform(0.35, 0.7)), int(h * rng.uniform(0.35, 0.7))
        x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crops.append(picture.crop((x, y, x + cw, y + ch)))
    pictures = real + crops
    pictures += [generated_image(1000 + i) for i in range(max(0, count - len(pictures)))]
    return pictures[:count]


@dataclass
class Contender:
    label: str
    hits: dict[str, int] = field(default_factory=dict)
    false_matches: int = 0
    reviews: int = 0
    true_reviews: int = 0


def raw_pdq(image: Image.Image) -> tuple[np.ndarray, int]:
    vector, quality = pdqhash.compute(np.asarray(image))
    return np.asarray(vector, dtype=bool), int(quality)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distractors", type=int, default=2000)
    args = parser.parse_args()
    console = Console()
    policy, options = default_match_policy(), default_hash_options()

    references = perception_images() + [(f"skimage/{n}", sample_image(n)) for n in SKIMAGE_REFERENCES]
    ref_signals = [hash_media(encode(image, "PNG"), options, reference=True).signals for _, image in references]
    full = Matcher(policy, enumerate(ref_signals))
    hashes_only = Matcher(policy, ((i, [s for s in sig if s.kind != "orb"]) for i, sig in enumerate(ref_signals)))
    ref_pdq = np.stack([raw_pdq(image)[0] for _, image in references])
    ref_phash = np.stack([imagehash.phash(image).hash.ravel() for _, image in references])

    contenders = [Contender("PDQ alone (<= 31)"), Contender("pHash alone (<= 8)"),
                  Contender("spreadtrace, hashes only"), Contender("spreadtrace")]  # fmt: skip

    def judge(image: Image.Image, data: bytes, truth: int | None, row: str | None) -> None:
        pdq, quality = raw_pdq(image)
        phash = imagehash.phash(image).hash.ravel()
        signals = hash_media(data, options).signals
        outcomes: list[tuple[set[int], set[int]]] = [
            (set(np.flatnonzero((ref_pdq != pdq).sum(axis=1) <= 31)) if quality >= 50 else set(), set()),
            (set(np.flatnonzero((ref_phash != phash).sum(axis=1) <= 8)), set()),
            _verdicts(hashes_only.match([s for s in signals if s.kind != "orb"])),
            _verdicts(full.match(signals)),
        ]
        for contender, (matched, review) in zip(contenders, outcomes, strict=True):
            if row is not None and truth in matched:
                contender.hits[row] = contender.hits.get(row, 0) + 1
            contender.false_matches += len(matched - {truth})
            contender.reviews += len(review - {truth})
            contender.true_reviews += truth in review

    fillers = distractor_set(args.distractors)
    edits = [*EVERYDAY, *HARD]
    queries = [(i, edit.name) for i in range(len(references)) for edit in edits]
    queries += [(i, "collage 2x2") for i in range(len(references))]
    for index, row in track(queries, description="edited references", console=console):
        _, image = references[index]
        if row == "collage 2x2":
            data = encode(collage(image, random.Random(index), fillers[index * 3 : index * 3 + 3]))
        else:
            data = next(e for e in edits if e.name == row).bytes_of(image, seed=index)
        judge(decode_image(data, max_pixels=options.max_pixels), data, index, row)
    for picture in track(fillers, description="distractors", console=console):
        data = encode(picture)
        judge(decode_image(data, max_pixels=options.max_pixels), data, None, None)

    rows = [e.name for e in edits] + ["collage 2x2"]
    table = Table(title=f"Recall per edit: {len(references)} references, {len(fillers):,} distractors")
    table.add_column("edit")
    for contender in contenders:
        table.add_column(contender.label, justify="right")
    for row in rows:
        if row == HARD[0].name:
            table.add_section()
        table.add_row(row, *(f"{c.hits.get(row, 0) / len(references):.0%}" for c in contenders))
    table.add_section()
    everyday = [e.name for e in EVERYDAY]
    hard = [r for r in rows if r not in everyday]
    for label, group in (("everyday (mean)", everyday), ("crop/pad/rotate/screenshot/collage (mean)", hard)):
        table.add_row(label, *(f"{sum(c.hits.get(r, 0) for r in group) / (len(group) * len(references)):.1%}"
                               for c in contenders))  # fmt: skip
    pairs = (len(queries) + len(fillers)) * len(references)
    table.add_row(f"false matches (of {pairs:,} pairs)", *(str(c.false_matches) for c in contenders))
    table.add_row("needs review: true reference", *("-", "-", *(str(c.true_reviews) for c in contenders[2:])))
    table.add_row("needs review: wrong reference", *("-", "-", *(str(c.reviews) for c in contenders[2:])))
    console.print(table)


def _verdicts(decisions: list[MatchDecision]) -> tuple[set[int], set[int]]:
    matched = {d.reference_id for d in decisions if d.verdict is Verdict.MATCH}
    review = {d.reference_id for d in decisions if d.verdict is Verdict.NEEDS_REVIEW}
    return matched, review


if __name__ == "__main__":
    main()
