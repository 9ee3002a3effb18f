"""Failed sign-ins, counted per account and per client address over a sliding window.

In memory: the app is one process (`gunicorn --workers 1`), and a restart forgetting the counts
costs an attacker a restart they cannot cause.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class FailureLimiter:
    def __init__(self, max_failures: int, window_seconds: float, clock=time.monotonic):
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._seen.setdefault(key, deque())
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        return q

    def blocked_for(self, key: str) -> float:
        """Seconds until `key` may try again (0 when it may now)."""
        with self._lock:
            q = self._recent(key)
            if len(q) < self.max_failures:
                return 0.0
            return max(0.0, q[0] + self.window - self.clock())

    def fail(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())
            if len(self._seen) > 100_000:  # bounded memory under a spray of keys
                self._seen = {k: v for k, v in self._seen.items() if v}

    def clear(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)
