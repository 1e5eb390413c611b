"""Accuracy benchmark: recall per edit and false matches, side by side in one run, for PDQ alone (<= 31),
pHash alone (<= 8), spreadtrace with global hashes only, and spreadtrace with local features.

References (100 by default, `benchmarks.corpus`): Thorn perception's testing photographs and people-free
scikit-image photographs, generated photo-like scenes, and a few fine periodic textures. Distractors
(10,000 by default): real pictures shipped in installed packages (scikit-image samples, frames of
perception's testing videos), crops of them, and generated pictures of eleven families, fine periodic
textures among them. Every row's edit (`benchmarks.edits`: everyday edits; crops, pads, rotations,
screenshots and collages; issue 14's caption bars, corner logos, square-tile collages, one-side and
top-left crops and cropped rotation; thumbnails of 240/160/120 px; the periodic textures' re-encodings)
of every reference of its kind is a query; so is every distractor. A false match is any match to a
reference the query was not made from; every query meets every reference, so the pairs counted are
queries x references (about 1.35 million by default).

Queries are rendered, hashed and judged by worker processes, one per core (`spreadtrace.pool`).

Run: make bench-accuracy   (or: .venv/bin/python -m benchmarks.accuracy; about an hour on 2 cores)
Quick look: .venv/bin/python -m benchmarks.accuracy --distractors 200 --references 20   (about 2 minutes)
The workers' time per query is printed, to foresee other sizes (at 100 references a third to a half of a
second of one core each, most of it spreadtrace's matching, which grows with the references).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from benchmarks.corpus import Spec, distractors, references, source_of
from benchmarks.edits import ROWS
from benchmarks.jobs import HashedReference, Query, QueryJob, ReferenceJob
from benchmarks.tally import Tally
from crawler.config import default_hash_options, default_match_policy
from spreadtrace.pool import parallel_map, worker_count
from spreadtrace.progress import file_progress


def queries(refs: list[Spec], fillers: list[Spec], others: list[Spec]) -> Iterator[Query]:
    """Every row's copy of every reference of its kind, a reference's copies together (a worker keeps the
    last pictures it drew), then every distractor of ``others``."""
    for truth, reference in enumerate(refs):
        for row in ROWS:
            if row.textures != (reference.family == "texture"):
                continue
            pick = random.Random(f"fillers:{row.key}:{truth}")
            chosen = tuple(pick.sample(fillers, row.fillers)) if row.fillers else ()
            yield Query(reference, row.key, truth, seed=truth, fillers=chosen)
    for picture in others:
        yield Query(picture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--distractors", type=int, default=10_000, help="distractors [default: 10,000]")
    parser.add_argument("--references", type=int, default=100, help="references, at least 4 [default: 100]")
    parser.add_argument("--workers", type=int, default=None, help="processes [default: one per core]")
    parser.add_argument("--json", type=Path, default=None, help="also write the counts to this file")
    args = parser.parse_args()
    console, progress = Console(), Console(stderr=True)
    if not console.is_terminal:  # a file or a pipe: tables as wide as they need, not 80 columns
        console = Console(width=200)
    policy, options = default_match_policy(), default_hash_options()
    started = time.perf_counter()

    refs = references(args.references)
    others = distractors(args.distractors)
    fillers = others if len(others) >= 3 else [Spec("still-life", seed=10_000 + i) for i in range(3)]
    hashed: list[HashedReference] = []
    with (
        file_progress(progress, "hashing references", len(refs), unit="pictures") as advance,
        parallel_map(ReferenceJob(options), refs, workers=worker_count(args.workers, len(refs))) as results,
    ):
        for reference in results:
            if reference.error:
                raise SystemExit(f"a reference could not be hashed: {reference.error}")
            hashed.append(reference)
            advance()

    tally = Tally(ROWS, refs)
    work = list(queries(refs, fillers, others))
    job = QueryJob(tuple(hashed), policy, options)
    with (
        file_progress(progress, "judging copies and distractors", len(work), unit="pictures") as advance,
        parallel_map(job, work, workers=worker_count(args.workers, len(work))) as outcomes,
    ):
        for query, outcome in zip(work, outcomes, strict=True):
            tally.add(query, outcome, source_of(query.picture))
            advance()
    seconds = time.perf_counter() - started

    console.print(tally.recall_table(len(others)))
    console.print(tally.group_table())
    console.print(tally.false_table())
    console.print(tally.pairs_line())
    console.print(tally.review_line())
    console.print(tally.cost_line())
    console.print("spreadtrace's most-missed references:", *tally.missed_lines(), sep="\n")
    if tally.examples:
        console.print("spreadtrace's false matches (first few):", *(f"  {e}" for e in tally.examples), sep="\n")
    if tally.errors:
        console.print(f"{len(tally.errors)} copies could not be hashed (counted as missed):", *tally.errors[:5], sep="\n  ")
    workers = worker_count(args.workers, len(work))
    console.print(f"{len(work):,} queries in {seconds:,.0f} s on {workers} worker(s): {len(work) / seconds:,.1f}/s")
    if args.json:
        args.json.write_text(json.dumps({**tally.as_json(), "seconds": seconds, "workers": workers}, indent=2))


if __name__ == "__main__":
    main()
