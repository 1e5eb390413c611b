"""Hash lists in the formats organisations exchange: PDQ hex per line, or CSV with a header.

Accepted, line by line (blank lines and ``#`` comments skipped):

- ``HEX``, ``HEX QUALITY``, ``HEX,QUALITY`` or ``HEX,QUALITY,NAME`` (what Meta's pdq-photo-hasher prints),
  with or without a ``pdq:`` prefix;
- CSV whose first line is a header naming the hash column (``pdq``, ``hash``, ``signal_value``, ``pdq_hash``
  or ``value``), optionally ``quality``, ``label``/``name``/``filename`` and ``signal_type`` (must be pdq).

- vPDQ, one file per video: ``FRAME_NUMBER,QUALITY,PDQ_HEX,SECONDS`` per line (what Meta's
  ``vpdq-hash-video`` writes); the whole list is then one video hash.

Every bad line is reported with its number; nothing is guessed. Lists are read as a stream of bytes, one
line at a time, so a million lines cost no more memory than their entries, and a line longer than
`MAX_LINE_BYTES` (a 200 MB line of garbage) is reported and read past in chunks, never held whole. A CSV row
is one line: quoted fields do not run on to the next line.

Labels (a partner's file names) never hold control characters or line separators: a list that has one is
refused line by line, and labels written out have theirs escaped, so a label can never become a line.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from matcher.errors import InvalidSignal
from matcher.hashers import PdqHasher, VpdqHasher
from matcher.hashers.vpdq import VpdqFrame, frames_to_text, looks_like_vpdq, median_quality, parse_frame
from matcher.signal import Signal

_PDQ = PdqHasher()
_HASH_COLUMNS = ("pdq", "hash", "signal_value", "pdq_hash", "value")
_LABEL_COLUMNS = ("label", "name", "filename", "file")
MAX_LINE_BYTES = 65_536
MAX_LABEL_CHARS = 1_000
# int(x, 16), which the hashers validate with, also takes "0x", "_" and non-ASCII digits; a list must not.
# Unicode's control characters (Cc) and line and paragraph separators (Zl, Zp): everything str.splitlines
# breaks a line at, and the terminal escapes.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class HashEntry:
    line: int
    signal: Signal
    label: str | None = None


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot be a reference's label, or None when it can."""
    if CONTROL_CHARACTERS.search(label):
        return f"label {label[:80]!r} holds a control character or line break"
    if len(label) > MAX_LABEL_CHARS:
        return f"label is {len(label):,} characters long (at most {MAX_LABEL_CHARS:,})"
    return None


def escape_controls(text: str) -> str:
    r"""``text`` with each control character or line separator written as a Python escape (``\n``,
    ``\x1b``, ``\u2028``): what a label stored before labels were checked becomes when written out."""
    return CONTROL_CHARACTERS.sub(lambda m: repr(m.group())[1:-1], text)


def parse_hash_list(text: str) -> tuple[list[HashEntry], list[BadLine]]:
    """A whole list held in memory: its entries, and its bad lines."""
    bad: list[BadLine] = []
    entries = list(read_hash_list(io.BytesIO(text.encode("utf-8")), bad.append))
    return entries, bad


def read_hash_list(stream: BinaryIO, on_bad: Callable[[BadLine], None]) -> Iterator[HashEntry]:
    """Entries as they are read from ``stream``; each bad line goes to ``on_bad`` when it is met."""
    lines = _lines(stream, on_bad)
    for number, line in lines:  # blank and comment lines until the first that says which format this is
        if line.strip() and not line.lstrip().startswith("#"):
            break
    else:
        return
    if looks_like_vpdq(line):
        yield from _vpdq(itertools.chain([(number, line)], lines), on_bad)
    elif _is_header(line):
        yield from _csv(line, lines, on_bad)
    else:
        yield from _plain(itertools.chain([(number, line)], lines), on_bad)


def _lines(stream: BinaryIO, on_bad: Callable[[BadLine], None]) -> Iterator[tuple[int, str]]:
    """``(number, text)`` of each readable line; too long and undecodable ones go to ``on_bad``."""
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
            on_bad(BadLine(number, f"line longer than {MAX_LINE_BYTES:,} bytes"))
            continue
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            on_bad(BadLine(number, f"not UTF-8 text (byte {exc.start + 1} of the line)"))
            continue
        yield number, text.rstrip("\r\n")


def _plain(lines: Iterable[tuple[int, str]], on_bad: Callable[[BadLine], None]) -> Iterator[HashEntry]:
    for number, line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = [f.strip() for f in (stripped.split(",", 2) if "," in stripped else stripped.split(maxsplit=2))]
        try:
            yield _entry(number, fields[0], fields[1] if len(fields) > 1 else None, fields[2] if len(fields) > 2 else None)
        except InvalidSignal as exc:
            on_bad(BadLine(number, str(exc)))


def _vpdq(lines: Iterable[tuple[int, str]], on_bad: Callable[[BadLine], None]) -> Iterator[HashEntry]:
    """A vPDQ file: every line is a frame of one video."""
    frames: list[VpdqFrame] = []
    for number, text in lines:
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        try:
            frame = parse_frame(text)
            _PDQ.validate(frame.pdq)  # hex digits only, and 64 of them
            if not math.isfinite(frame.timestamp):
                raise InvalidSignal(f"frame time is not a number of seconds: {text.strip()[:80]!r}")
            frames.append(frame)
        except InvalidSignal as exc:
            on_bad(BadLine(number, str(exc)))
    if frames:
        yield HashEntry(1, Signal(VpdqHasher.name, frames_to_text(frames), VpdqHasher.version, median_quality(frames)))


def _is_header(line: str) -> bool:
    try:
        names = [c.strip().lower() for c in _row(line)]
    except InvalidSignal:
        return False
    return any(name in _HASH_COLUMNS for name in names)


def _row(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        raise InvalidSignal(f"not a CSV row: {exc}") from None


def _csv(header_line: str, lines: Iterable[tuple[int, str]], on_bad: Callable[[BadLine], None]) -> Iterator[HashEntry]:
    header = [c.strip().lower() for c in _row(header_line)]
    hash_col = next(header.index(name) for name in _HASH_COLUMNS if name in header)
    quality_col = next((header.index(n) for n in ("quality", "pdq_quality") if n in header), None)
    label_col = next((header.index(n) for n in _LABEL_COLUMNS if n in header), None)
    type_col = header.index("signal_type") if "signal_type" in header else None
    for number, line in lines:
        try:
            row = _row(line)
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidSignal(f"{len(row)} columns, the header has {len(header)}")
            if type_col is not None and row[type_col].strip().lower() not in ("pdq", ""):
                raise InvalidSignal(f"signal_type {row[type_col].strip()!r} is not pdq")
            quality = row[quality_col] if quality_col is not None else None
            label = row[label_col] if label_col is not None else None
            yield _entry(number, row[hash_col], quality, label)
        except InvalidSignal as exc:
            on_bad(BadLine(number, str(exc)))


def _entry(number: int, value: str, quality: str | None, label: str | None) -> HashEntry:
    value = value.strip()
    if value[:4].lower() == "pdq:":
        value = value[4:]
    score: int | None = None
    if quality is not None and quality.strip():
        try:
            score = int(quality.strip())
        except ValueError:
            raise InvalidSignal(f"quality {quality.strip()[:20]!r} is not a whole number") from None
        if not 0 <= score <= 100:
            raise InvalidSignal(f"quality {score} is outside 0-100")
    label = (label or "").strip() or None
    if label is not None and (problem := label_problem(label)):
        raise InvalidSignal(problem)
    signal = Signal(_PDQ.name, _PDQ.validate(value), _PDQ.version, score)
    return HashEntry(number, signal, label)




def write_hash_list(entries: Iterable[HashEntry], *, fmt: str, labels: bool) -> str:
    """The list as text (see `dump_hash_list`)."""
    buffer = io.StringIO()
    dump_hash_list(entries, buffer, fmt=fmt, labels=labels)
    return buffer.getvalue()


def dump_hash_list(entries: Iterable[HashEntry], out: TextIO, *, fmt: str, labels: bool) -> int:
    """``txt``: ``HEX,QUALITY`` per line (pdq-photo-hasher's order); ``csv``: HMA-style columns. Returns the
    number of entries written. Labels have control characters escaped: one entry is always one line."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["signal_type", "signal_value", "quality", *(["label"] if labels else [])])
        for e in entries:
            quality = "" if e.signal.quality is None else e.signal.quality
            writer.writerow(["pdq", e.signal.value, quality, *([escape_controls(e.label or "")] if labels else [])])
            count += 1
    else:
        for e in entries:
            fields = [e.signal.value, "" if e.signal.quality is None else str(e.signal.quality)]
            if labels and e.label:
                fields.append(escape_controls(e.label).replace(",", " "))
            out.write(",".join(fields).rstrip(",") + "\n")
            count += 1
    return count
