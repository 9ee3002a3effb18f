"""Failed sign-ins, counted per account and address, per address and per account.

In memory: the app is one process (`gunicorn --workers 1`), and a restart forgetting the counts
costs an attacker a restart they cannot cause.

A try is counted when it starts, before the password is checked (and given back when it
succeeds), so concurrent tries cannot all pass a limit that was read before any was counted.
Three limits, so that strangers cannot lock an owner out:
  - an account from one address: a few tries, then that address waits;
  - one address over all accounts: a spray from one place waits;
  - one account over all addresses: a distributed guess waits, except from an address where
    the owner has signed in with the password before (`known`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


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
            return max(0.0, q[-self.max_failures] + self.window - self.clock())

    def fail(self, key: str) -> None:
        with self._lock:
            self._recent(key).append(self.clock())
            if len(self._seen) > 100_000:  # bounded memory under a spray of keys
                self._seen = {k: v for k, v in self._seen.items() if v}

    def undo(self, key: str) -> None:
        """Give back the newest count of `key` (a try that turned out right)."""
        with self._lock:
            q = self._seen.get(key)
            if q:
                q.pop()

    def clear(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


@dataclass
class SignInLimits:
    per_pair: FailureLimiter = field(default_factory=lambda: FailureLimiter(5, 900))
    per_address: FailureLimiter = field(default_factory=lambda: FailureLimiter(30, 900))
    per_account: FailureLimiter = field(default_factory=lambda: FailureLimiter(20, 900))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _keys(account: str, address: str | None) -> tuple[str, str, str]:
        return f"u:{account}|ip:{address}", f"ip:{address}", f"u:{account}"

    def begin(self, account: str, address: str | None, known: Callable[[], bool]) -> float:
        """0 and the try counted, or the seconds to wait (nothing counted)."""
        pair, addr, acct = self._keys(account, address)
        with self._lock:  # the three are read and counted as one step
            wait = max(self.per_pair.blocked_for(pair), self.per_address.blocked_for(addr))
            if not wait:
                wait = self.per_account.blocked_for(acct)
                if wait and known():
                    wait = 0.0
            if wait:
                return wait
            self.per_pair.fail(pair)
            self.per_address.fail(addr)
            self.per_account.fail(acct)
            return 0.0

    def succeeded(self, account: str, address: str | None) -> None:
        """The password was right: this pair starts afresh, and the try is given back."""
        pair, addr, acct = self._keys(account, address)
        with self._lock:
            self.per_pair.clear(pair)
            self.per_address.undo(addr)
            self.per_account.undo(acct)
