"""Signals: one hash value, tagged with the algorithm and version that made it.

A signal's text form is ``pdq:f8f8...``, never bare hex, so that hashes of different algorithms can never
be compared by mistake (imagehash's hex strings do not say which algorithm made them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from matcher.errors import InvalidSignal


class ContentKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True, slots=True)
class Signal:
    """One hash of one piece of media.

    ``variant`` names the transform of the original that was hashed: references are hashed in every
    dihedral orientation ("rot90", "flip_h", ...) so that a mirrored re-upload, hashed as found, meets
    the reference's mirrored hash. ``quality`` is the hasher's own confidence (PDQ: 0-100), or None.
    """

    kind: str
    value: str
    version: int = 1
    quality: int | None = None
    variant: str = "original"

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str, *, quality: int | None = None) -> Signal:
        """Read the ``kind:value`` text form; the value is validated by the kind's hasher."""
        from matcher.hashers import hasher_for

        kind, sep, value = text.strip().partition(":")
        if not sep or not kind:
            raise InvalidSignal(f"{text!r}: expected KIND:VALUE, for example pdq:<64 hex digits>")
        hasher = hasher_for(kind)
        return cls(kind, hasher.validate(value), hasher.version, quality)
