"""The unit pages viewed lately, for the cache warm-up to compute again after each load.

The unit page (dashboards/units.py) notes each view; the warm-up (dashboards/_warm.py) reads
them. Both import this module and neither imports the other at module level, so the page module
can be registered with Dash after the warm-up is wired.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager


class RecentViews:
    """The unit pages asked for lately: (unit code, query arguments), newest last."""

    def __init__(self, size: int = 12, ttl: float = 2 * 3600.0):
        self.size, self.ttl = size, ttl
        self._seen: OrderedDict[tuple, float] = OrderedDict()
        self._lock = threading.Lock()
        self._replaying = threading.local()

    def note(self, code: str, args: dict[str, str]) -> None:
        if self.is_replaying():  # the warm-up itself: not a viewer
            return
        # The language only changes labels, not what is read.
        key = (code, tuple(sorted((k, v) for k, v in args.items() if k != "lang")))
        with self._lock:
            self._seen.pop(key, None)
            self._seen[key] = time.monotonic()
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def views(self) -> list[tuple[str, dict[str, str]]]:
        """The views asked for within `ttl`, newest first."""
        since = time.monotonic() - self.ttl
        with self._lock:
            keys = [k for k, at in reversed(self._seen.items()) if at >= since]
        return [(code, dict(args)) for code, args in keys]

    def is_replaying(self) -> bool:
        return getattr(self._replaying, "on", False)

    @contextmanager
    def replaying(self) -> Iterator[None]:
        self._replaying.on = True
        try:
            yield
        finally:
            self._replaying.on = False


RECENT = RecentViews()
