"""The CDXJ index of a WACZ's WARCs (cdxj-indexer, the indexer py-wacz uses) and the page list.

Each WARC is indexed as it is added; the lines go through cdxj-indexer's own sorting writer (which spills
sorted runs to temporary files past 32 MB, so a large case does not grow memory), and come out in the byte
order CDXJ requires. The index covers the records a reader looks up by URL: responses, revisits and
resources (the screenshots), with each record's offset, length, payload digest and whole-record SHA-256
(``recordDigest``: the signing spec's check of a record loaded on its own). Request and warcinfo records stay
in the WARCs beside their responses; indexing a request under its URL would let a replayer serve it as
the page.
"""

from __future__ import annotations

import html
import io
import json
import re
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO

from cdxj_indexer.main import CDXJIndexer, SortingWriter
from warcio.archiveiterator import ArchiveIterator

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_TITLE_WINDOW = 256 * 1024  # a page's <title> is in its head; never read a whole body for it


@dataclass(frozen=True, slots=True)
class IndexLine:
    url: str
    timestamp: str  # 14 digits, UTC
    fields: dict[str, Any]

    @property
    def rfc3339(self) -> str:
        t = self.timestamp
        return f"{t[0:4]}-{t[4:6]}-{t[6:8]}T{t[8:10]}:{t[10:12]}:{t[12:14]}Z"


class _Collected:
    """What the indexer writes for one file: kept to return, and passed on to the sorter."""

    def __init__(self, sorter: SortingWriter) -> None:
        self.sorter = sorter
        self.lines: list[str] = []

    def write(self, line: str) -> None:
        self.lines.append(line)
        self.sorter.write(line)


class ArchiveIndex:
    def __init__(self) -> None:
        self._sorted = tempfile.TemporaryFile()
        self._text = io.TextIOWrapper(self._sorted, encoding="utf-8", newline="\n", write_through=True)
        self._sorter = SortingWriter(self._text)
        self._indexer = CDXJIndexer(None, [], fields="referrer", digest_records=True)  # a req. field: records are buffered, so digested

    def add(self, warc: BinaryIO, filename: str) -> list[IndexLine]:
        """Index ``warc`` (rewound here; seekable) as ``archive/filename``; its lines."""
        warc.seek(0)
        collected = _Collected(self._sorter)
        self._indexer.process_one(warc, collected, filename)
        return [parse_line(line) for line in collected.lines]

    def finish(self) -> BinaryIO:
        """Every line, sorted, UTF-8, in a temporary file rewound to its start."""
        self._sorter.flush()
        self._text.flush()
        self._sorted.seek(0)
        return self._sorted

    def close(self) -> None:
        self._text.close()  # and the file under it


def parse_line(line: str) -> IndexLine:
    """Raises ValueError for a line that is not CDXJ."""
    key, timestamp, raw = line.rstrip("\n").split(" ", 2)
    fields = json.loads(raw)
    if not isinstance(fields, dict) or not (len(timestamp) == 14 and timestamp.isdigit()):
        raise ValueError(f"not a CDXJ line: {line[:80]!r}")
    return IndexLine(str(fields.get("url", key)), timestamp, fields)


def page_title(warc: BinaryIO, url: str) -> str | None:
    """The ``<title>`` of the HTML response for ``url`` in ``warc`` (rewound here), if it has one."""
    warc.seek(0)
    for record in ArchiveIterator(warc):
        if record.rec_type != "response" or record.rec_headers.get_header("WARC-Target-URI") != url:
            continue
        kind = record.http_headers.get_header("Content-Type", "") if record.http_headers else ""
        if "html" not in kind.lower():
            return None
        found = _TITLE.search(record.content_stream().read(_TITLE_WINDOW))
        if found is None:
            return None
        charset = re.search(r"charset=([\w-]+)", kind, re.I)
        try:
            text = found.group(1).decode(charset.group(1) if charset else "utf-8", errors="replace")
        except LookupError:
            text = found.group(1).decode("utf-8", errors="replace")
        return " ".join(html.unescape(text).split())[:300] or None
    return None
