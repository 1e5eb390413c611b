"""Wrong passwords, rate-limited: per account (a guesser spread over many addresses) and per client address
(one guesser trying many accounts). Failures are counted in memory over a sliding window; a restart forgets
them, which costs a guesser a restart of our server, not a bypass."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

ACCOUNT_FAILURES = 5  # per account per window: a person mistyping stays well under it
ADDRESS_FAILURES = 20  # per address per window: several people behind one office address
WINDOW_S = 15 * 60


class LoginLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, account: str, address: str) -> bool:
        """Whether a login for ``account`` from ``address`` is refused without looking at its password."""
        with self._lock:
            return (self._recent(f"account:{account}") >= ACCOUNT_FAILURES
                    or self._recent(f"address:{address}") >= ADDRESS_FAILURES)  # fmt: skip

    def failed(self, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._failures[f"account:{account}"].append(now)
            self._failures[f"address:{address}"].append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(f"account:{account}", None)

    def _recent(self, key: str) -> int:
        failures = self._failures.get(key)
        if not failures:
            return 0
        horizon = self._clock() - WINDOW_S
        while failures and failures[0] < horizon:
            failures.popleft()
        return len(failures)
