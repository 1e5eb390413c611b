"""Matching benchmark: recall per transform and false matches, PDQ alone vs pHash alone vs spreadtrace,
and hashing speed against raw pdqhash on the same decoded images. Side by side, in one run.

Run: make bench   (or: .venv/bin/python -m benchmarks.matching --distractors 500)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
import pdqhash
from rich.console import Console
from rich.table import Table

from crawler.config import default_match_policy
from matcher import Matcher, MatchPolicy, Signal, hash_media
from matcher.hashers import PdqHasher, PHasher
from matcher.image import decode_image
from simsites.corpus import DISTRACTOR_SAMPLES, TRANSFORMS, distractors, encode, sample_image

REFERENCES = ("coffee", "chelsea", "rocket", "coins", "hubble_deep_field", "immunohistochemistry", "brick", "moon")
_PDQ, _PHASH = PdqHasher(), PHasher()


def single_signal(policy: MatchPolicy, kind: str) -> Callable[[Sequence[Signal], Sequence[Signal]], bool]:
    """A matcher that uses one signal alone at its standard threshold (over all reference orientations)."""
    hasher, threshold = (_PDQ, policy.pdq_max_distance) if kind == "pdq" else (_PHASH, policy.phash_max_distance)

    def matches(query: Sequence[Signal], reference: Sequence[Signal]) -> bool:
        q = next(s for s in query if s.kind == kind)
        return any(hasher.distance(q.value, r.value) <= threshold for r in reference if r.kind == kind)

    return matches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--distractors", type=int, default=300)
    args = parser.parse_args()
    console = Console()
    policy = default_match_policy()
    refs = {name: hash_media(encode(sample_image(name), "PNG"), reference=True).signals for name in REFERENCES}
    matcher = Matcher(policy, ((i, refs[name]) for i, name in enumerate(REFERENCES)))
    contenders: dict[str, Callable[[str, Sequence[Signal]], bool]] = {
        "PDQ alone (<= 31)": lambda name, q: single_signal(policy, "pdq")(q, refs[name]),
        "pHash alone (<= 8)": lambda name, q: single_signal(policy, "phash")(q, refs[name]),
        "spreadtrace": lambda name, q: REFERENCES.index(name) in {d.reference_id for d in matcher.match(q)},
    }

    table = Table(title=f"Recall per transform ({len(REFERENCES)} references)")
    table.add_column("transform")
    for label in contenders:
        table.add_column(label, justify="right")
    for transform in TRANSFORMS.values():
        copies = {name: hash_media(transform.apply(sample_image(name))[0]).signals for name in REFERENCES}
        row = [f"{sum(match(n, q) for n, q in copies.items()) / len(copies):.0%}" for match in contenders.values()]
        table.add_row(transform.name, *row)

    unrelated = [
        hash_media(encode(image)).signals
        for name, image in distractors(len(DISTRACTOR_SAMPLES) + args.distractors)
        if name not in REFERENCES
    ]
    false = [sum(match(n, q) for n in REFERENCES for q in unrelated) for match in contenders.values()]
    table.add_row(f"false matches ({len(unrelated)} x {len(REFERENCES)} pairs)", *map(str, false), style="bold")
    console.print(table)
    console.print(speed_table(REFERENCES))


def speed_table(names: Sequence[str], rounds: int = 5) -> Table:
    files = [encode(sample_image(name), "JPEG", 90) for name in names]
    decoded = [np.asarray(decode_image(data)) for data in files]
    timings: dict[str, float] = {}
    for label, work in (
        ("raw pdqhash.compute (decoded)", lambda: [pdqhash.compute(pixels) for pixels in decoded]),
        ("spreadtrace hash_media (bytes)", lambda: [hash_media(data) for data in files]),
        ("spreadtrace reference hashes", lambda: [hash_media(data, reference=True) for data in files]),
    ):
        best = min(_seconds(work) for _ in range(rounds))
        timings[label] = len(files) / best
    table = Table(title="Hashing speed (best of 5, one core)")
    table.add_column("path")
    table.add_column("images/s", justify="right")
    table.add_column("vs raw PDQ", justify="right")
    base = timings["raw pdqhash.compute (decoded)"]
    for label, rate in timings.items():
        table.add_row(label, f"{rate:,.0f}", f"{base / rate:.2f}x time")
    return table


def _seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
