"""The ZIP of a WACZ, written member by member as each is ready, each hashed as it streams in, so that
``datapackage.json`` can list every member's SHA-256 and size without reading anything twice.

WARCs (gzipped already) and the PDF are stored (``ZIP_STORED``): the WACZ spec wants archive files stored,
so a replayer reads a record at its offset with an HTTP range request; text (JSON, JSONL, CDXJ, HTML) is
deflated. Members over 2 GiB get ZIP64 headers (their size is known before they are written).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import zipfile
from dataclasses import dataclass
from typing import Any, BinaryIO

from tracker.clock import utc_now

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Resource:
    """A member of the package as datapackage.json lists it."""

    path: str
    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.path.rsplit("/", 1)[-1], "path": self.path, "hash": f"sha256:{self.sha256}", "bytes": self.size}


class PackageWriter:
    def __init__(self, target: BinaryIO, created: str | None = None) -> None:
        self._zip = zipfile.ZipFile(target, "w", allowZip64=True)
        self._date = _zip_date(created or utc_now())
        self.resources: list[Resource] = []

    def add_stream(self, path: str, source: BinaryIO, size: int, *, stored: bool, listed: bool = True) -> Resource:
        """Copy ``size`` bytes of ``source`` (from where it stands) into the member ``path``."""
        info = zipfile.ZipInfo(path, self._date)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.file_size = size  # decides ZIP64 before the first byte is written
        info.external_attr = 0o600 << 16
        digest = hashlib.sha256()
        written = 0
        with self._zip.open(info, "w") as member:
            while chunk := source.read(min(_CHUNK, size - written)):
                digest.update(chunk)
                member.write(chunk)
                written += len(chunk)
        if written != size:
            raise ValueError(f"{path}: {written:,} bytes read, {size:,} expected")
        resource = Resource(path, digest.hexdigest(), size)
        if listed:
            self.resources.append(resource)
        return resource

    def add_bytes(self, path: str, data: bytes, *, stored: bool = False, listed: bool = True) -> Resource:
        return self.add_stream(path, io.BytesIO(data), len(data), stored=stored, listed=listed)

    def add_file(self, path: str, source: BinaryIO, *, stored: bool) -> Resource:
        """Copy the whole of ``source`` (a temporary file, rewound here)."""
        size = source.seek(0, io.SEEK_END)
        source.seek(0)
        return self.add_stream(path, source, size, stored=stored)

    def close(self) -> None:
        self._zip.close()

    def abandon(self) -> None:
        """Give up on a package whose file is about to be deleted (ZipFile would otherwise write its directory
        into a closed file when collected)."""
        with contextlib.suppress(Exception):
            self._zip.close()


def _zip_date(moment: str) -> tuple[int, int, int, int, int, int]:
    """A ``YYYY-MM-DDTHH:MM:SSZ`` time as a ZIP member's date (ZIP keeps no zone: this one is UTC)."""
    date, _, time = moment.rstrip("Z").partition("T")
    year, month, day = (int(part) for part in date.split("-"))
    hour, minute, second = (int(part) for part in time.split(":")[:3]) if time else (0, 0, 0)
    return (max(year, 1980), month, day, hour, minute, second)
