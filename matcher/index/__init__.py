"""Match indexes: hash -> the entries within a Hamming distance."""

from matcher.index.linear import IndexMatch, LinearIndex

__all__ = ["IndexMatch", "LinearIndex"]
