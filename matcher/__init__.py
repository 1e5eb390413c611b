"""Recognition: media bytes -> hashes -> match decisions. No network, no database, no cases.

See docs/architecture.md ("matcher").
"""

from matcher.budget import HashingStopped
from matcher.errors import InvalidSignal, MatcherError, UnhashableContent
from matcher.matcher import Matcher
from matcher.media import MediaHashes, hash_file, hash_media, sha256_hex
from matcher.options import HashOptions
from matcher.policy import MatchDecision, MatchPolicy, SignalAgreement, Verdict
from matcher.signal import ContentKind, Signal
from matcher.video.hashing import VideoLimits

__all__ = [
    "ContentKind",
    "HashOptions",
    "HashingStopped",
    "InvalidSignal",
    "MatchDecision",
    "MatchPolicy",
    "Matcher",
    "MatcherError",
    "MediaHashes",
    "Signal",
    "SignalAgreement",
    "UnhashableContent",
    "Verdict",
    "VideoLimits",
    "hash_file",
    "hash_media",
    "sha256_hex",
]
