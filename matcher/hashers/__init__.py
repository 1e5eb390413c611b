"""Hash algorithms, one small class each, looked up by name."""

from matcher.errors import InvalidSignal
from matcher.hashers.base import Hasher
from matcher.hashers.dhash import DHasher
from matcher.hashers.pdq import PdqHasher
from matcher.hashers.phash import PHasher

IMAGE_HASHERS: tuple[Hasher, ...] = (PdqHasher(), PHasher(), DHasher())
_BY_NAME: dict[str, Hasher] = {hasher.name: hasher for hasher in IMAGE_HASHERS}


def hasher_for(name: str) -> Hasher:
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise InvalidSignal(f"unknown hash algorithm {name!r} (known: {known})") from None


__all__ = ["IMAGE_HASHERS", "DHasher", "Hasher", "PHasher", "PdqHasher", "hasher_for"]
