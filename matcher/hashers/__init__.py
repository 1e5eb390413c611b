"""Hash algorithms, one small class each, looked up by name."""

from matcher.errors import InvalidSignal
from matcher.hashers.base import Hasher, PictureHasher, SignalType
from matcher.hashers.dhash import DHasher
from matcher.hashers.pdq import PdqHasher
from matcher.hashers.phash import PHasher
from matcher.hashers.videohash import VideoHasher
from matcher.hashers.vpdq import VpdqHasher
from matcher.local import OrbExtractor
from matcher.spectrum import SpectrumHasher

IMAGE_HASHERS: tuple[Hasher, ...] = (PdqHasher(), PHasher(), DHasher())
_KEYPOINTS: tuple[PictureHasher, ...] = (OrbExtractor(),)
_SPECTRUM = SpectrumHasher()
# Video signals are made by `matcher.video.hashing` from sampled frames; these classes read and compare them.
VIDEO_HASHERS: tuple[SignalType, ...] = (VpdqHasher(), VideoHasher())
_BY_NAME: dict[str, SignalType] = {hasher.name: hasher for hasher in (*IMAGE_HASHERS, *VIDEO_HASHERS)}


def picture_hashers(*, local_features: bool, spectrum: bool = True) -> tuple[PictureHasher, ...]:
    """What hashes a picture, in the order its signals are kept: the image hashers, ORB keypoints when
    local features are on (SPREADTRACE_LOCAL_FEATURES), then a periodic picture's spectrum signature
    (``spectrum=False`` only where a benchmark measures what it costs)."""
    return (*IMAGE_HASHERS, *(_KEYPOINTS if local_features else ()), *((_SPECTRUM,) if spectrum else ()))


def hasher_for(name: str) -> SignalType:
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise InvalidSignal(f"unknown hash algorithm {name!r} (known: {known})") from None


__all__ = [
    "IMAGE_HASHERS",
    "VIDEO_HASHERS",
    "DHasher",
    "Hasher",
    "PHasher",
    "PdqHasher",
    "PictureHasher",
    "SignalType",
    "VideoHasher",
    "VpdqHasher",
    "hasher_for",
    "picture_hashers",
]
