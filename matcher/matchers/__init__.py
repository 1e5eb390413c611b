"""Signal matchers: how each kind of signal takes part in matching, and the registry of them all.

See docs/architecture.md ("matcher").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from matcher.hashers import DHasher, PHasher, VideoHasher
from matcher.index.multi import MultiIndex
from matcher.matchers.base import Query, SignalMatcher
from matcher.matchers.hashes import HashMatcher
from matcher.matchers.orb import OrbMatcher
from matcher.matchers.pdq import PdqMatcher
from matcher.matchers.spectrum import SpectrumMatcher
from matcher.matchers.vpdq import VpdqMatcher
from matcher.policy import MatchPolicy


@dataclass(frozen=True)
class SignalMatchers:
    """Every signal matcher of one `Matcher`, by the part it plays in a decision.

    - ``pictures``: whole-picture hashes (PDQ, pHash, dHash). Each one with an index proposes
      candidates, every one is compared with every candidate, and `decide_global` decides. A new
      picture hash joins this tuple (and `decide_global` shows it beside the others).
    - ``keypoints``: ORB, which proposes candidates when no global hash matched and checks geometry.
    - ``videos``: whole-video signals (vPDQ, videohash), compared with every reference a copy's frames
      align with; ``frames`` (vPDQ, the first) is the one that aligns.
    - ``spectrum``: periodic pictures' signatures (`matcher.spectrum`), asked last, when neither the
      hashes nor the keypoints found a match.
    - ``pdq`` and ``frames`` also meet across media: video frames are PDQ hashes, so a video's frames
      look for picture references in PDQ's index and a picture's PDQ looks for frames in vPDQ's.

    Named parts rather than one flat tuple with a role flag on each: the parts do different things, and
    a type checker can then see that the matcher asks the keypoints, and only them, for a geometric check.
    """

    pdq: PdqMatcher
    pictures: tuple[SignalMatcher, ...]
    keypoints: OrbMatcher
    spectrum: SpectrumMatcher
    frames: VpdqMatcher
    videos: tuple[SignalMatcher, ...]

    def __iter__(self) -> Iterator[SignalMatcher]:
        """Each signal matcher once."""
        return iter((*self.pictures, self.keypoints, self.spectrum, *self.videos))


def signal_matchers(policy: MatchPolicy) -> SignalMatchers:
    """The registry: every kind of signal the matcher knows, each with its index and its threshold."""
    pdq, frames = PdqMatcher(policy), VpdqMatcher(policy)
    phash = HashMatcher(PHasher(), policy.phash_max_distance, MultiIndex(PHasher.bits, chunks=4))
    dhash = HashMatcher(DHasher(), policy.dhash_max_distance, None)
    videohash = HashMatcher(VideoHasher(), policy.videohash_max_distance, None)
    return SignalMatchers(pdq, (pdq, phash, dhash), OrbMatcher(policy), SpectrumMatcher(), frames, (frames, videohash))


__all__ = ["HashMatcher", "OrbMatcher", "PdqMatcher", "Query", "SignalMatcher", "SignalMatchers", "SpectrumMatcher", "VpdqMatcher", "signal_matchers"]
