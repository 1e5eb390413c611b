"""The one interface every match index meets: rows of bits in, the ids near a query out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class MatchIndex(Protocol):
    """Binary rows (uint8 arrays, one row per hash or descriptor), each under an integer id.

    Why this shape and not DESIGN.md's ``add(signal, ref)``/``query(signal) -> list[Match[T]]``:

    - Rows and queries go in as numpy batches. A reference brings 15 PDQ rows, 160 frames or 1,600 ORB
      descriptors at once, and a query 1 PDQ, 60 frames or 800 descriptors; one call per batch keeps the
      work in numpy, where a call per hash would spend it in Python.
    - Ids are the caller's and need not be unique: every row of one reference may share its id, and
      ``remove(ids)`` forgets every row under those ids (a withdrawn reference is one call). A caller that
      needs to know which row matched (a video frame's time) keeps its own table and uses row numbers.
    - ``search`` answers, per query row, ``(id, distance)`` pairs nearest first, every distance at most
      ``max_distance``. Which rows within that distance come back is the index's own rule, stated in its
      class docstring: `MultiIndex` returns all of them (exact range search); `DescriptorIndex` only the
      nearest, and only when it is clearly nearer than the next (Lowe's ratio test).
    - No save/load here: the matcher is rebuilt from the store when a process starts, and only
      `MultiIndex` (at tens of millions of hashes) has a use for persistence.
    """

    def __len__(self) -> int:
        """Rows that are searched (removed rows are not counted)."""
        ...

    def add(self, ids: Sequence[int] | np.ndarray, items: np.ndarray) -> None:
        """Add ``items`` (one row each) under ``ids`` (as many as rows)."""
        ...

    def remove(self, ids: Iterable[int]) -> int:
        """Forget every row under ``ids``; returns how many rows were forgotten."""
        ...

    def search(self, queries: np.ndarray, max_distance: int) -> list[list[tuple[int, int]]]:
        """For each query row, ``(id, distance)`` pairs, nearest first (ties: lower id first)."""
        ...
