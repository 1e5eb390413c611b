"""Exact Hamming range search over tens of millions of PDQ hashes: multi-index hashing.

Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index Hashing" (CVPR 2012). The
256 bits are cut into ``m`` chunks. Two hashes within distance ``r`` differ in at most ``r // m`` bits
of at least one chunk (pigeonhole), so probing each chunk's table with every key within that many bit
flips finds *every* hash within ``r``: exact, not approximate. With m = 11 and r = 31 that is 301
probes per chunk into direct-address tables, and a few thousand candidates per query at 10M hashes.

Why not FAISS's IndexBinaryMultiHash (16 tables of 16 bits, as HMA uses): to stay exact at 31 it must
flip one bit per table, and its per-candidate bookkeeping then caps it near 100 lookups/s at 10M hashes
on two cores (benchmarks/index_speed.py runs both side by side). It also cannot remove entries.

Entries are added to a small linear-scanned tail and merged into the tables when the tail grows past a
fraction of the whole; removal marks entries dead. Neither rebuilds the tables on each change.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np

_FORMAT = 1


def _popcount_rows(xored: np.ndarray) -> np.ndarray:
    counts: np.ndarray = np.bitwise_count(xored).sum(axis=1, dtype=np.int32)
    return counts


def _popcount_words(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance of rows of uint64 words, one word column at a time (faster than a 2-D sum)."""
    total: np.ndarray = np.bitwise_count(a[:, 0] ^ b[:, 0]).astype(np.int32)
    for column in range(1, a.shape[1]):
        total += np.bitwise_count(a[:, column] ^ b[:, column])
    return total


class MultiIndex:
    """Binary codes of ``bits`` bits (uint8 rows), each with an int64 id; exact search within a radius.

    Below ``table_threshold`` entries every search is one vectorised linear scan, which is faster than
    probing at that size and needs no tables at all.
    """

    def __init__(self, bits: int = 256, chunks: int = 11, *, table_threshold: int = 100_000) -> None:
        if bits % 8 or not 1 <= chunks <= bits // 8:
            raise ValueError(f"bits must be a multiple of 8 and chunks between 1 and {bits // 8}")
        self.bits, self.chunks, self.table_threshold = bits, chunks, table_threshold
        base, extra = divmod(bits, chunks)
        self._widths = [base + (1 if i < extra else 0) for i in range(chunks)]
        self._starts = np.cumsum([0, *self._widths[:-1]])
        self._codes = np.zeros((0, bits // 8), np.uint8)
        self._ids = np.zeros(0, np.int64)
        self._alive = np.zeros(0, bool)
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_rows = 0  # kept, not summed per add: one-row adds would be quadratic
        self._tabled = 0  # the first ``_tabled`` rows are in the tables; the rest are the scanned tail
        self._orders: list[np.ndarray] = []
        self._offsets: list[np.ndarray] = []
        self._halves: tuple[np.ndarray, np.ndarray] = (np.zeros((0, 0), np.uint64),) * 2

    def __len__(self) -> int:
        self._flush()
        return int(self._alive.sum())

    # -- changes ----------------------------------------------------------------------------------

    def add(self, ids: Sequence[int] | np.ndarray, codes: np.ndarray) -> None:
        codes = np.ascontiguousarray(codes, dtype=np.uint8).reshape(-1, self.bits // 8)
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) != len(codes):
            raise ValueError(f"{len(ids)} ids for {len(codes)} codes")
        self._pending.append((ids, codes))
        self._pending_rows += len(ids)
        if self._pending_rows >= 10_000:
            self._flush()

    def _flush(self) -> None:
        """Append pending entries (adds are buffered: one concatenation per batch, not per hash)."""
        if not self._pending:
            return
        ids = np.concatenate([p[0] for p in self._pending])
        self._codes = np.concatenate([self._codes, *(p[1] for p in self._pending)])
        self._pending = []
        self._pending_rows = 0
        self._ids = np.concatenate([self._ids, ids])
        self._alive = np.concatenate([self._alive, np.ones(len(ids), bool)])
        tail = len(self._ids) - self._tabled
        if len(self._ids) >= self.table_threshold and tail > max(10_000, len(self._ids) // 20):
            self._build_tables()

    def remove(self, ids: Iterable[int]) -> int:
        """Mark entries dead; returns how many were alive. Rows are dropped at the next table build."""
        self._flush()
        dead = np.isin(self._ids, np.fromiter(ids, np.int64)) & self._alive
        self._alive &= ~dead
        if self._tabled and (~self._alive).sum() > len(self._alive) // 4:
            self._build_tables()
        return int(dead.sum())

    def _build_tables(self) -> None:
        keep = self._alive
        self._codes, self._ids, self._alive = self._codes[keep], self._ids[keep], self._alive[keep]
        self._orders, self._offsets = [], []
        for chunk in range(self.chunks):
            keys = self._keys(self._codes, chunk)
            order = np.argsort(keys, kind="stable").astype(np.int32)
            counts = np.bincount(keys, minlength=1 << self._widths[chunk])
            offsets = np.zeros(len(counts) + 1, np.int32)
            np.cumsum(counts, out=offsets[1:])
            self._orders.append(order)
            self._offsets.append(offsets)
        self._tabled = len(self._ids)
        self._split_halves()

    def _split_halves(self) -> None:
        """Contiguous copies of each code's first and second half: gathering rows from a contiguous
        array is several times faster than from a strided view."""
        words = self._codes[: self._tabled].view(np.uint64)
        half = words.shape[1] // 2
        self._halves = (np.ascontiguousarray(words[:, :half]), np.ascontiguousarray(words[:, half:]))

    def _keys(self, codes: np.ndarray, chunk: int) -> np.ndarray:
        """The chunk's bits of each row as an integer, most significant bit first (in batches: unpacking
        10M rows at once would take 2.5 GB)."""
        start, width = int(self._starts[chunk]), self._widths[chunk]
        first, last = start // 8, (start + width + 7) // 8
        weights = (1 << np.arange(width - 1, -1, -1)).astype(np.int64)
        keys = np.empty(len(codes), np.int64)
        for lo in range(0, len(codes), 1_000_000):
            bits = np.unpackbits(codes[lo : lo + 1_000_000, first:last], axis=1)
            offset = start - first * 8
            keys[lo : lo + len(bits)] = bits[:, offset : offset + width].astype(np.int64) @ weights
        return keys

    # -- search -----------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, max_distance: int, *, threads: int = 1) -> list[list[tuple[int, int]]]:
        """For each query row, every live (id, distance) within ``max_distance`` bits, nearest first.

        ``threads`` > 1 probes batches of queries in parallel (numpy releases the GIL in the heavy steps).
        """
        self._flush()
        queries = np.ascontiguousarray(queries, dtype=np.uint8).reshape(-1, self.bits // 8)
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        flips = max_distance // self.chunks
        if self._tabled and self._probe_count(flips) * 8 < self._tabled:
            starts = range(0, len(queries), 256)
            with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                found.extend(pool.map(lambda lo: self._probe(queries[lo : lo + 256], max_distance, flips, lo), starts))
            found.append(self._scan(queries, max_distance, self._tabled))
        else:
            found.append(self._scan(queries, max_distance, 0))
        return self._collect(len(queries), found)

    def _probe_count(self, flips: int) -> int:
        return sum(sum(math.comb(w, k) for k in range(flips + 1)) for w in self._widths)

    def _scan(self, queries: np.ndarray, max_distance: int, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = self._codes[start:].view(np.uint64)
        hit_q, hit_row, hit_d = [], [], []
        for qi, query in enumerate(queries.view(np.uint64)):
            distances = _popcount_rows(rows ^ query)
            (rows_hit,) = np.nonzero(distances <= max_distance)
            hit_q.append(np.full(len(rows_hit), qi))
            hit_row.append(rows_hit + start)
            hit_d.append(distances[rows_hit])
        if not hit_q:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
        return np.concatenate(hit_q), np.concatenate(hit_row), np.concatenate(hit_d)

    def _probe(
        self, queries: np.ndarray, max_distance: int, flips: int, first: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        words = queries.view(np.uint64)
        front, back = self._halves
        half = front.shape[1]
        hit_q, hit_row, hit_d = [], [], []
        for chunk in range(self.chunks):
            masks = _flip_masks(self._widths[chunk], flips)
            probes = (self._keys(queries, chunk)[:, None] ^ masks[None, :]).ravel()
            starts, ends = self._offsets[chunk][probes], self._offsets[chunk][probes + 1]
            counts = ends - starts
            total = int(counts.sum())
            if not total:
                continue
            # Concatenate the ranges [start, end) of every probe without a Python loop.
            ends_cum = np.cumsum(counts)
            slots = np.arange(total, dtype=np.int32) + np.repeat(starts - (ends_cum - counts), counts)
            rows = np.take(self._orders[chunk], slots)
            owners = np.repeat(np.arange(len(queries), dtype=np.int32), counts.reshape(len(queries), -1).sum(axis=1))
            # Most candidates are far: the first half of the words rules them out before the second is read.
            near = _popcount_words(np.take(front, rows, axis=0), words[owners, :half])
            keep = near <= max_distance
            rows, owners, near = rows[keep], owners[keep], near[keep]
            distances = near + _popcount_words(np.take(back, rows, axis=0), words[owners, half:])
            close = distances <= max_distance
            hit_q.append(owners[close].astype(np.int64) + first)
            hit_row.append(rows[close].astype(np.int64))
            hit_d.append(distances[close])
        if not hit_q:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
        return np.concatenate(hit_q), np.concatenate(hit_row), np.concatenate(hit_d)

    def _collect(
        self, count: int, found: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    ) -> list[list[tuple[int, int]]]:
        results: list[list[tuple[int, int]]] = [[] for _ in range(count)]
        q = np.concatenate([f[0] for f in found])
        rows = np.concatenate([f[1] for f in found])
        distances = np.concatenate([f[2] for f in found])
        live = self._alive[rows]
        q, rows, distances = q[live], rows[live], distances[live]
        # A hash close in several chunks is found once per chunk.
        _, first = np.unique(q * (len(self._ids) + 1) + rows, return_index=True)
        order = first[np.lexsort((self._ids[rows[first]], distances[first], q[first]))]
        for qi, row, distance in zip(q[order].tolist(), rows[order].tolist(), distances[order].tolist(), strict=True):
            results[qi].append((int(self._ids[row]), int(distance)))
        return results

    # -- persistence ------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index to ``folder`` (created); tables included, so loading is a memory map."""
        self._flush()
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"codes": self._codes, "ids": self._ids, "alive": self._alive}
        for chunk, (order, offsets) in enumerate(zip(self._orders, self._offsets, strict=True)):
            arrays[f"order{chunk}"], arrays[f"offsets{chunk}"] = order, offsets
        # Each file is replaced, never rewritten in place: an index loaded with mmap=True may still be
        # reading the old one.
        for name, array in arrays.items():
            with open(folder / f"{name}.npy.tmp", "wb") as out:
                np.save(out, array)
            os.replace(folder / f"{name}.npy.tmp", folder / f"{name}.npy")
        meta = {"format": _FORMAT, "bits": self.bits, "chunks": self.chunks, "tabled": self._tabled,
                "table_threshold": self.table_threshold}  # fmt: skip
        (folder / "index.json.tmp").write_text(json.dumps(meta))
        os.replace(folder / "index.json.tmp", folder / "index.json")

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = False) -> MultiIndex:
        meta = json.loads((folder / "index.json").read_text())
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{folder}: index format {meta.get('format')} is not {_FORMAT}; rebuild it")
        index = cls(meta["bits"], meta["chunks"], table_threshold=meta["table_threshold"])
        mode: Literal["r"] | None = "r" if mmap else None
        index._codes = np.load(folder / "codes.npy", mmap_mode=mode)
        index._ids = np.load(folder / "ids.npy")
        index._alive = np.load(folder / "alive.npy")
        index._tabled = meta["tabled"]
        if index._tabled:
            index._orders = [np.load(folder / f"order{c}.npy", mmap_mode=mode) for c in range(index.chunks)]
            index._offsets = [np.load(folder / f"offsets{c}.npy", mmap_mode=mode) for c in range(index.chunks)]
            index._split_halves()
        return index


_MASKS: dict[tuple[int, int], np.ndarray] = {}


def _flip_masks(width: int, flips: int) -> np.ndarray:
    """Every ``width``-bit mask with at most ``flips`` bits set, the empty mask first."""
    key = (width, flips)
    if key not in _MASKS:
        masks = [sum(1 << b for b in bits) for k in range(flips + 1) for bits in itertools.combinations(range(width), k)]
        _MASKS[key] = np.array(masks, dtype=np.int64)
    return _MASKS[key]
