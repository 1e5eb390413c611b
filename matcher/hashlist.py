"""Hash lists in the formats organisations exchange: PDQ hex per line, or CSV with a header.

Accepted, line by line (blank lines and ``#`` comments skipped):

- ``HEX``, ``HEX QUALITY``, ``HEX,QUALITY`` or ``HEX,QUALITY,NAME`` (what Meta's pdq-photo-hasher prints),
  with or without a ``pdq:`` prefix;
- CSV whose first line is a header naming the hash column (``pdq``, ``hash``, ``signal_value``, ``pdq_hash``
  or ``value``), optionally ``quality``, ``label``/``name``/``filename`` and ``signal_type`` (must be pdq).

- vPDQ, one file per video: ``FRAME_NUMBER,QUALITY,PDQ_HEX,SECONDS`` per line (what Meta's
  ``vpdq-hash-video`` writes); the whole list is then one video hash.

Every bad line is reported with its number; nothing is guessed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from matcher.errors import InvalidSignal
from matcher.hashers import PdqHasher, VpdqHasher
from matcher.hashers.vpdq import VpdqFrame, frames_to_text, looks_like_vpdq, median_quality, parse_frame
from matcher.signal import Signal

_PDQ = PdqHasher()
_HASH_COLUMNS = ("pdq", "hash", "signal_value", "pdq_hash", "value")
_LABEL_COLUMNS = ("label", "name", "filename", "file")


@dataclass(frozen=True, slots=True)
class HashEntry:
    line: int
    signal: Signal
    label: str | None = None


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


def parse_hash_list(text: str) -> tuple[list[HashEntry], list[BadLine]]:
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if first is not None and looks_like_vpdq(lines[first]):
        return _parse_vpdq(lines)
    if first is not None and _is_header(lines[first]):
        return _parse_csv(lines, first)
    entries, bad = [], []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f.strip() for f in (stripped.split(",", 2) if "," in stripped else stripped.split(maxsplit=2))]
        try:
            entries.append(_entry(number, fields[0], fields[1] if len(fields) > 1 else None,
                                  fields[2] if len(fields) > 2 else None))  # fmt: skip
        except InvalidSignal as exc:
            bad.append(BadLine(number, str(exc)))
    return entries, bad


def _parse_vpdq(lines: list[str]) -> tuple[list[HashEntry], list[BadLine]]:
    """A vPDQ file: every line is a frame of one video."""
    frames: list[VpdqFrame] = []
    bad = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            frames.append(parse_frame(line))
        except InvalidSignal as exc:
            bad.append(BadLine(number, str(exc)))
    if not frames:
        return [], bad
    signal = Signal(VpdqHasher.name, frames_to_text(frames), VpdqHasher.version, median_quality(frames))
    return [HashEntry(1, signal)], bad


def _is_header(line: str) -> bool:
    names = [c.strip().lower() for c in next(csv.reader([line]))]
    return any(name in _HASH_COLUMNS for name in names)


def _parse_csv(lines: list[str], header_at: int) -> tuple[list[HashEntry], list[BadLine]]:
    reader = csv.reader(lines[header_at:])
    header = [c.strip().lower() for c in next(reader)]
    hash_col = next(header.index(name) for name in _HASH_COLUMNS if name in header)
    quality_col = next((header.index(n) for n in ("quality", "pdq_quality") if n in header), None)
    label_col = next((header.index(n) for n in _LABEL_COLUMNS if n in header), None)
    type_col = header.index("signal_type") if "signal_type" in header else None
    entries, bad = [], []
    for number, row in enumerate(reader, start=header_at + 2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(header):
                raise InvalidSignal(f"{len(row)} columns, the header has {len(header)}")
            if type_col is not None and row[type_col].strip().lower() not in ("pdq", ""):
                raise InvalidSignal(f"signal_type {row[type_col].strip()!r} is not pdq")
            quality = row[quality_col] if quality_col is not None else None
            label = row[label_col] if label_col is not None else None
            entries.append(_entry(number, row[hash_col], quality, label))
        except InvalidSignal as exc:
            bad.append(BadLine(number, str(exc)))
    return entries, bad


def _entry(number: int, value: str, quality: str | None, label: str | None) -> HashEntry:
    value = value.strip()
    if value.lower().startswith("pdq:"):
        value = value[4:]
    score: int | None = None
    if quality is not None and quality.strip():
        try:
            score = int(quality.strip())
        except ValueError:
            raise InvalidSignal(f"quality {quality.strip()!r} is not a whole number") from None
        if not 0 <= score <= 100:
            raise InvalidSignal(f"quality {score} is outside 0-100")
    signal = Signal(_PDQ.name, _PDQ.validate(value), _PDQ.version, score)
    return HashEntry(number, signal, (label or "").strip() or None)


def write_hash_list(entries: Iterable[HashEntry], *, fmt: str, labels: bool) -> str:
    """``txt``: ``HEX,QUALITY`` per line (pdq-photo-hasher's order); ``csv``: HMA-style columns."""
    buffer = io.StringIO()
    if fmt == "csv":
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["signal_type", "signal_value", "quality", *(["label"] if labels else [])])
        for e in entries:
            quality = "" if e.signal.quality is None else e.signal.quality
            writer.writerow(["pdq", e.signal.value, quality, *([e.label or ""] if labels else [])])
    else:
        for e in entries:
            fields = [e.signal.value, "" if e.signal.quality is None else str(e.signal.quality)]
            if labels and e.label:
                fields.append(e.label.replace(",", " "))
            buffer.write(",".join(fields).rstrip(",") + "\n")
    return buffer.getvalue()
