"""Artefacts encrypted at rest, streamed: a capture of a 500 MB video is never held in memory.

The layout follows Tink's streaming AEAD (AES-GCM-HKDF): each file has its own key, derived by HKDF-SHA256
from the case key and a random salt, and is cut into segments of `SEGMENT` bytes, each sealed by AES-GCM
with a nonce of a random prefix, the segment's number and a last-segment flag. So a segment cannot be
moved, dropped, or the file cut short without decryption failing, and two files never share a key and
nonce. The header binds the case and the artefact's role: a file copied into another case does not open.

    header:   MAGIC (6 bytes) | salt (16) | nonce prefix (7)
    segments: AES-GCM(segment) with nonce prefix | number (4, big-endian) | last (1), each SEGMENT + 16 bytes
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tracker.evidence.errors import ArtefactDamaged

MAGIC = b"STEV1\n"
SEGMENT = 1 << 16
_TAG = 16
_SALT = 16
_PREFIX = 7
HEADER = len(MAGIC) + _SALT + _PREFIX


def _file_key(case_key: bytes, salt: bytes, context: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"spreadtrace evidence\x00" + context).derive(case_key)
    return AESGCM(derived)


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def seal(source: BinaryIO, target: BinaryIO, case_key: bytes, context: bytes) -> tuple[str, int]:
    """Encrypt ``source`` into ``target``; the plaintext's SHA-256 (hex) and size. ``context`` names the
    case (and anything else the file must stay bound to)."""
    salt, prefix = os.urandom(_SALT), os.urandom(_PREFIX)
    aead = _file_key(case_key, salt, context)
    target.write(MAGIC + salt + prefix)
    digest, size, number = hashlib.sha256(), 0, 0
    segment = source.read(SEGMENT)
    while True:
        following = source.read(SEGMENT) if len(segment) == SEGMENT else b""
        last = not following
        digest.update(segment)
        size += len(segment)
        target.write(aead.encrypt(_nonce(prefix, number, last), segment, MAGIC))
        if last:
            return digest.hexdigest(), size
        if number == 0xFFFFFFFF:
            raise ValueError("an artefact of over 256 TiB")
        segment, number = following, number + 1


def unseal(source: BinaryIO, case_key: bytes, context: bytes, name: str = "artefact") -> Iterator[bytes]:
    """The plaintext of a sealed file, segment by segment. Raises ArtefactDamaged (naming ``name``) for a
    file that was changed, cut short, extended, or sealed for another context or key."""
    header = source.read(HEADER)
    if len(header) != HEADER or not header.startswith(MAGIC):
        raise ArtefactDamaged(f"{name}: not a sealed artefact (its header is wrong)")
    salt, prefix = header[len(MAGIC) : len(MAGIC) + _SALT], header[len(MAGIC) + _SALT :]
    aead = _file_key(case_key, salt, context)
    number = 0
    sealed = source.read(SEGMENT + _TAG)
    while True:
        following = source.read(SEGMENT + _TAG)
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, number, last), sealed, MAGIC)
        except InvalidTag:
            raise ArtefactDamaged(f"{name}: segment {number} does not decrypt (changed, truncated, or not this case's)") from None
        if last:
            return
        sealed, number = following, number + 1
