"""Exceptions raised by the matcher. Each says who raises it and what the caller can do."""


class MatcherError(Exception):
    """Base class for matcher errors."""


class UnhashableContent(MatcherError):
    """Raised by `decode_image` and the hashers when bytes cannot be hashed.

    The message is a short reason fit for one log line ("truncated or corrupt image"); callers add the
    file name or URL. A batch skips the item and carries on.
    """


class InvalidSignal(MatcherError):
    """Raised by `Signal.parse` and `Hasher.validate` for a malformed hash string."""
