"""The report's previews of captured copies, read from the case's evidence vault and blurred on the server
(`tracker.evidence.preview`) before they go anywhere: a sighting's latest screenshot, else the media file
inside its capture's WARC. Reading the vault decrypts evidence, so `Previews.artefacts_read` tells the
caller whether the report is an export to be logged (`tracker.pictures.export`).
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from tracker.evidence.custody import CustodyEntry
from tracker.evidence.errors import EvidenceError
from tracker.evidence.preview import DEFAULT_RADIUS, PreviewFailed, blurred_preview
from tracker.evidence.stills import still_frame
from tracker.evidence.vault import EvidenceVault, artefacts_of

logger = logging.getLogger(__name__)

# A picture larger than this is not read into memory to be previewed (blurred_preview caps pixels too).
_MAX_PICTURE_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class Preview:
    jpeg: bytes = field(repr=False)  # blurred, greyscale: never the captured picture itself
    source: str  # "screenshot" or "media"
    taken_at: str  # when the screenshot was taken, or the capture observed


@dataclass(frozen=True, slots=True)
class Previews:
    by_sighting: dict[int, Preview]
    artefacts_read: int  # artefacts decrypted to make them: more than 0, and the report is an export


def kept_previews(vault: EvidenceVault, case_id: str, sightings: Iterable[tuple[int, str]], *,
                  radius: float = DEFAULT_RADIUS) -> Previews:  # fmt: skip
    """A preview of each of ``sightings`` (id, media URL) the vault keeps a picture of, blurred with
    ``radius`` (a dashboard account's own choice; reports use the default)."""
    wanted = {sighting_id: media_url for sighting_id, media_url in sightings}
    if case_id not in vault.cases() or not wanted:
        return Previews({}, 0)
    screenshots, captures = _entries(vault, case_id, wanted)
    reader = _Reader(vault, case_id)
    found: dict[int, Preview] = {}
    for sighting_id, media_url in wanted.items():
        preview = next(reader.previews(reversed(screenshots.get(sighting_id, [])), reversed(captures.get(sighting_id, [])),
                                       media_url, radius), None)  # fmt: skip
        if preview is not None:
            found[sighting_id] = preview
    return Previews(found, reader.read)


def kept_picture(vault: EvidenceVault, case_id: str, sighting_id: int, media_url: str) -> Picture | None:
    """The picture a sighting's preview is made from, NOT blurred: what a deliberate, logged reveal shows
    (the dashboard's). The same choice as `kept_previews`: the newest screenshot, else the captured media."""
    if case_id not in vault.cases():
        return None
    screenshots, captures = _entries(vault, case_id, {sighting_id: media_url})
    reader = _Reader(vault, case_id)
    for picture in reader.pictures(reversed(screenshots.get(sighting_id, [])), reversed(captures.get(sighting_id, [])),
                                   media_url):  # fmt: skip
        if _blurred(picture.data) is not None:  # a picture Pillow can read, as the preview was
            return picture
    return None


@dataclass(frozen=True, slots=True)
class Picture:
    data: bytes = field(repr=False)  # the captured bytes themselves
    source: str
    taken_at: str


def with_evidence(vault: EvidenceVault, case_id: str, sighting_ids: Iterable[int]) -> set[int]:
    """The sightings the vault holds a capture or screenshot of, from the custody log alone (nothing is
    decrypted): where a page can offer a preview."""
    wanted = dict.fromkeys(sighting_ids, "")
    if case_id not in vault.cases() or not wanted:
        return set()
    screenshots, captures = _entries(vault, case_id, wanted)
    return set(screenshots) | set(captures)


def _entries(vault: EvidenceVault, case_id: str, wanted: dict[int, str]) -> tuple[dict[int, list[CustodyEntry]], dict[int, list[CustodyEntry]]]:
    screenshots: dict[int, list[CustodyEntry]] = {}
    captures: dict[int, list[CustodyEntry]] = {}
    for entry in vault.custody(case_id).entries():
        sighting = entry.detail.get("sighting")
        if isinstance(sighting, int) and sighting in wanted and entry.kind in ("screenshot", "capture"):
            (screenshots if entry.kind == "screenshot" else captures).setdefault(sighting, []).append(entry)
    return screenshots, captures


class _Reader:
    """Reads artefacts out of the vault, counting each one decrypted."""

    def __init__(self, vault: EvidenceVault, case_id: str) -> None:
        self.vault, self.case_id, self.read = vault, case_id, 0

    def previews(self, screenshots: Iterable[CustodyEntry], captures: Iterable[CustodyEntry], media_url: str,
                 radius: float) -> Iterator[Preview]:  # fmt: skip
        """Candidates, best first: each screenshot, newest first, then each capture's media, newest first."""
        for picture in self.pictures(screenshots, captures, media_url):
            if (jpeg := _blurred(picture.data, radius)) is not None:
                yield Preview(jpeg, picture.source, picture.taken_at)

    def pictures(self, screenshots: Iterable[CustodyEntry], captures: Iterable[CustodyEntry], media_url: str) -> Iterator[Picture]:
        for entry in screenshots:
            for artefact in artefacts_of(entry):
                if artefact.role == "screenshot" and (data := self._picture(artefact.sha256, artefact.size)) is not None:
                    yield Picture(data, "screenshot", str(entry.detail.get("taken_at") or entry.at))
        for entry in captures:
            for artefact in artefacts_of(entry):
                if artefact.role == "warc" and (data := self._media_in_warc(artefact.sha256, media_url)) is not None:
                    taken_at = str(entry.detail.get("observed_at") or entry.at)
                    if _is_picture(data):  # read whole, and blurred, by the caller: here the header only
                        yield Picture(data, "media", taken_at)
                    elif (still := still_frame(data)) is not None:  # a video: one frame of it, never the video
                        yield Picture(still, "video still", taken_at)

    def _picture(self, sha256: str, size: int) -> bytes | None:
        if size > _MAX_PICTURE_BYTES:
            return None
        try:
            self.read += 1
            return b"".join(self.vault.read(self.case_id, sha256))
        except (EvidenceError, OSError) as exc:
            logger.warning("case %s: artefact %s could not be read for a preview: %s", self.case_id, sha256, exc,
                           extra={"case_id": self.case_id})  # fmt: skip
            return None

    def _media_in_warc(self, sha256: str, media_url: str) -> bytes | None:
        with tempfile.TemporaryFile() as warc:  # nameless: the decrypted WARC is gone with the file
            try:
                self.read += 1
                for chunk in self.vault.read(self.case_id, sha256):
                    warc.write(chunk)
            except (EvidenceError, OSError) as exc:
                logger.warning("case %s: capture %s could not be read for a preview: %s", self.case_id, sha256, exc,
                               extra={"case_id": self.case_id})  # fmt: skip
                return None
            warc.seek(0)
            return _response_payload(warc, media_url)


def _response_payload(warc: IO[bytes], url: str) -> bytes | None:
    """The body of the WARC's response record for ``url`` (a revisit record holds none)."""
    for record in ArchiveIterator(warc):
        if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI") == url:
            payload: bytes = record.content_stream().read(_MAX_PICTURE_BYTES + 1)
            return payload if len(payload) <= _MAX_PICTURE_BYTES else None
    return None


def _is_picture(data: bytes) -> bool:
    """Whether Pillow knows the format as a picture (MPEG it recognises, but is a video)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format != "MPEG"
    except (OSError, Image.DecompressionBombError, SyntaxError):
        return False


def _blurred(picture: bytes, radius: float = DEFAULT_RADIUS) -> bytes | None:
    try:
        return blurred_preview(picture, radius=radius)
    except PreviewFailed:
        return None  # a video, or bytes that are no picture: the next candidate, or no preview
