"""What the accuracy benchmark's worker processes do (`spreadtrace.pool.parallel_map`): hash a reference,
and judge a query (an edited reference or a distractor) with every contender.

Items are recipes (`benchmarks.corpus.Spec`, a row's key), never pictures: each worker renders what it
needs, so items pickle in bytes. A `QueryJob` carries the references' hashes and builds its matchers in
each worker, once, on its first query.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from benchmarks.corpus import Spec, render
from benchmarks.edits import ROWS_BY_KEY
from matcher import HashOptions, MatchDecision, Matcher, MatchPolicy, Signal, UnhashableContent, Verdict, hash_media
from matcher.image import decode_image
from simsites.transforms import encode

CONTENDERS = ("PDQ alone (<= 31)", "pHash alone (<= 8)", "spreadtrace, hashes only", "spreadtrace")
PDQ_ALONE_DISTANCE, PDQ_ALONE_QUALITY, PHASH_ALONE_DISTANCE = 31, 50, 8


@dataclass(frozen=True, slots=True)
class HashedReference:
    """A reference's signals as `case add` keeps them, and its raw PDQ and pHash bits for the contenders
    that use one hash alone; ``error`` when it could not be hashed (the run stops)."""

    signals: tuple[Signal, ...]
    pdq: np.ndarray
    phash: np.ndarray
    error: str | None = None


@dataclass(frozen=True)
class ReferenceJob:
    options: HashOptions

    def __call__(self, item: Spec) -> HashedReference:
        image = render(item)
        try:
            signals = hash_media(encode(image, "PNG"), self.options, reference=True).signals
        except UnhashableContent as exc:
            return self.failed(item, str(exc))
        return HashedReference(signals, raw_pdq(image)[0], raw_phash(image))

    def failed(self, item: Spec, reason: str) -> HashedReference:
        return HashedReference((), np.zeros(256, bool), np.zeros(64, bool), f"{item.label}: {reason}")


@dataclass(frozen=True, slots=True)
class Query:
    """One picture to judge: a reference (``truth``, its index) edited as a row says, with a collage's
    ``fillers`` and the edit's ``seed``; or a distractor as it is (``row`` and ``truth`` None)."""

    picture: Spec
    row: str | None = None
    truth: int | None = None
    seed: int = 0
    fillers: tuple[Spec, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """Per contender (`CONTENDERS`' order), the references it matched and those it sent to review;
    ``decided_by``: spreadtrace's matches with the signal that decided each and its distance; ``error``: why the query's
    file could not be hashed (it then matched nothing)."""

    matched: tuple[frozenset[int], ...]
    review: tuple[frozenset[int], ...]
    decided_by: tuple[tuple[int, str], ...] = ()
    error: str | None = None
    seconds: float = 0.0  # the worker's time on it: drawing, editing, hashing, matching


@dataclass
class QueryJob:
    references: tuple[HashedReference, ...]
    policy: MatchPolicy
    options: HashOptions
    _built: tuple[Matcher, Matcher, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_built": None}  # each worker builds its own

    def __call__(self, item: Query) -> Outcome:
        started = time.perf_counter()
        data = query_bytes(item)
        try:
            image = decode_image(data, max_pixels=self.options.max_pixels)
            signals = hash_media(data, self.options).signals
        except UnhashableContent as exc:
            return self.failed(item, str(exc))
        full, hashes_only, ref_pdq, ref_phash = self._matchers()
        pdq, quality = raw_pdq(image)
        by_pdq = np.flatnonzero((ref_pdq != pdq).sum(axis=1) <= PDQ_ALONE_DISTANCE) if quality >= PDQ_ALONE_QUALITY else ()
        by_phash = np.flatnonzero((ref_phash != raw_phash(image)).sum(axis=1) <= PHASH_ALONE_DISTANCE)
        global_only = hashes_only.match([s for s in signals if s.kind != "orb"])
        decisions = full.match(signals)
        matched = [frozenset(int(i) for i in by_pdq), frozenset(int(i) for i in by_phash)]
        review: list[frozenset[int]] = [frozenset(), frozenset()]
        for found in (global_only, decisions):
            matched.append(frozenset(d.reference_id for d in found if d.verdict is Verdict.MATCH))
            review.append(frozenset(d.reference_id for d in found if d.verdict is Verdict.NEEDS_REVIEW))
        return Outcome(tuple(matched), tuple(review), _deciders(decisions), seconds=time.perf_counter() - started)

    def failed(self, item: Query, reason: str) -> Outcome:
        nothing = (frozenset[int](),) * len(CONTENDERS)
        return Outcome(nothing, nothing, (), reason)

    def _matchers(self) -> tuple[Matcher, Matcher, np.ndarray, np.ndarray]:
        if self._built is None:
            signals = [ref.signals for ref in self.references]
            full = Matcher(self.policy, enumerate(signals))
            hashes_only = Matcher(self.policy, ((i, [s for s in sig if s.kind != "orb"]) for i, sig in enumerate(signals)))
            pdq = np.stack([ref.pdq for ref in self.references])
            phash = np.stack([ref.phash for ref in self.references])
            self._built = full, hashes_only, pdq, phash
        return self._built


def query_bytes(query: Query) -> bytes:
    """The file a query is: the distractor as a JPEG (quality 90), or the reference edited as its row says."""
    picture = render(query.picture)
    if query.row is None:
        return encode(picture)
    row = ROWS_BY_KEY[query.row]
    return row.make(picture, random.Random(query.seed), [render(spec) for spec in query.fillers])


def raw_pdq(image: Image.Image) -> tuple[np.ndarray, int]:
    vector, quality = pdqhash.compute(np.asarray(image))
    return np.asarray(vector, dtype=bool), int(quality)


def raw_phash(image: Image.Image) -> np.ndarray:
    return np.asarray(imagehash.phash(image).hash, dtype=bool).ravel()


def _deciders(decisions: list[MatchDecision]) -> tuple[tuple[int, str], ...]:
    """Each match's deciding signal, its PDQ distance, and the geometric check's keypoints when one ran."""
    return tuple((d.reference_id, _why(d)) for d in decisions if d.verdict is Verdict.MATCH)


def _why(decision: MatchDecision) -> str:
    check = decision.verification
    kept = f", {check.inliers} of {check.matches} keypoints fit" if check is not None else ""
    return f"{decision.decided_by}, distance {decision.distance}{kept}"
