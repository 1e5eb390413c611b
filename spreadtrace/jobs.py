"""What a worker process does with one file (`spreadtrace.pool`): scan it, hash it for a hash list, or
hash it as a reference.

A job travels to each worker once, pickled; it names what it needs (the store's URI, the settings' hashing
options and match policy) rather than carrying it, and builds it there on its first file. This module
imports neither click nor the crawler, whose imports (Scrapy's) would add seconds to each worker's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher import HashOptions, Matcher, MatchPolicy, MediaHashes, Signal, UnhashableContent, hash_file
from matcher.media import exchange_hash, is_picture
from matcher.video.hashing import checked_size

# An item: a file, and why it cannot be used when `spreadtrace.files.expand_paths` already knows.
FileItem = tuple[Path, str | None]
ScanRecord = dict[str, Any]
NO_VIDEO_FOLDER = "a video: its vPDQ hash is a list of its own (name a folder for those with --vpdq-dir)"


@dataclass
class ScanJob:
    """Hash a file with every hasher and match it against every case's references: ``scan``'s record of
    it (``path``, ``sha256``, ``error``, ``matches``, each match naming its case and reference label).

    Each worker reads the references from the store and indexes them once, on its first file: with the
    few references of a home's cases that costs less than hashing one photo, and every worker then
    matches on its own core (matching a photo that matches nothing, keypoint voting included, is a third
    of its time: one matching process would cap the scan, whatever the cores).
    """

    store_uri: str
    policy: MatchPolicy
    options: HashOptions
    _index: tuple[Matcher, dict[int, tuple[str, str | None]]] | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_index": None}  # each worker builds its own

    def __call__(self, item: FileItem) -> ScanRecord:
        path, problem = item
        try:
            if problem:
                raise UnhashableContent(problem)
            hashes = hash_file(path, self.options)
        except UnhashableContent as exc:
            return self.failed(item, str(exc))
        matcher, references = self._references()
        matches = [
            {"case": references[d.reference_id][0], "reference_id": d.reference_id,
             "reference_label": references[d.reference_id][1], **d.as_dict()}
            for d in matcher.match(hashes.signals)
        ]  # fmt: skip
        return {"path": str(path), "sha256": hashes.sha256, "error": None, "matches": matches}

    def failed(self, item: FileItem, reason: str) -> ScanRecord:
        return {"path": str(item[0]), "error": reason, "matches": []}

    def _references(self) -> tuple[Matcher, dict[int, tuple[str, str | None]]]:
        if self._index is None:
            from tracker import open_store

            store = open_store(self.store_uri)
            try:
                references = store.references()
            finally:
                store.close()
            labels = {ref.id: (ref.case_id, ref.label) for ref in references}
            self._index = Matcher(self.policy, ((ref.id, ref.signals) for ref in references)), labels
        return self._index


@dataclass(frozen=True, slots=True)
class ListedHash:
    """A file's exchangeable hash (`matcher.media.exchange_hash`), or why it has none."""

    path: Path
    signal: Signal | None
    error: str | None = None


@dataclass(frozen=True)
class HashJob:
    """The hash a list carries of a file, and nothing else: PDQ of a picture, and of a video (or an
    animation) its vPDQ when ``videos`` are wanted."""

    options: HashOptions
    videos: bool

    def __call__(self, item: FileItem) -> ListedHash:
        path, problem = item
        try:
            if problem:
                raise UnhashableContent(problem)
            if not self.videos and not is_picture(path):
                checked_size(path, self.options.video.max_bytes, "video")  # an empty or unreadable file says so
                raise UnhashableContent(NO_VIDEO_FOLDER)  # rather than be hashed for nothing
            signal = exchange_hash(path, self.options)
        except UnhashableContent as exc:
            return self.failed(item, str(exc))
        if signal.kind != "pdq" and not self.videos:
            return self.failed(item, NO_VIDEO_FOLDER)
        return ListedHash(path, signal)

    def failed(self, item: FileItem, reason: str) -> ListedHash:
        return ListedHash(item[0], None, reason)


@dataclass(frozen=True, slots=True)
class HashedReference:
    """A file hashed as a reference (`hash_file(reference=True)`), or why it could not be."""

    path: Path
    hashes: MediaHashes | None
    error: str | None = None


@dataclass(frozen=True)
class ReferenceJob:
    """Hash a file as `case add` keeps it: every hasher, every orientation, region and mirrored keypoint."""

    options: HashOptions

    def __call__(self, item: FileItem) -> HashedReference:
        path, problem = item
        try:
            if problem:
                raise UnhashableContent(problem)
            return HashedReference(path, hash_file(path, self.options, reference=True))
        except UnhashableContent as exc:
            return self.failed(item, str(exc))

    def failed(self, item: FileItem, reason: str) -> HashedReference:
        return HashedReference(item[0], None, reason)
