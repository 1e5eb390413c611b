"""Match indexes: binary rows -> the ids near a query (`MatchIndex`), one interface, two implementations."""

from matcher.index.base import MatchIndex
from matcher.index.descriptors import DescriptorIndex
from matcher.index.multi import MultiIndex

__all__ = ["DescriptorIndex", "MatchIndex", "MultiIndex"]
