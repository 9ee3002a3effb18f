"""Warm the cache right after a load, in the background.

Every load bumps the data version, and so empties the query cache (metrics/query.py). The first
screen to ask afterwards would pay for the cold queries: at 3 years, ~100 ms for a wall board
and ~0.5 s for the city page, against ~20 ms warm. So after each load the wall boards and the
city page are computed once here, before anyone asks. A request arriving meanwhile waits for
the same computation (the cache is single-flight) instead of repeating it.

Unit pages people looked at lately (a department head's own district, say) are warmed too, as
Superset warms its most viewed dashboards: `RECENT` holds the last few, replayed with their
query arguments. They are few (`RecentViews.size`) and recent (`RecentViews.ttl`), so a warm-up
stays around a second or two of one core at 3 years of city data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import flask

log = logging.getLogger(__name__)


class RecentViews:
    """The unit pages asked for lately: (unit code, query arguments), newest last."""

    def __init__(self, size: int = 12, ttl: float = 2 * 3600.0):
        self.size, self.ttl = size, ttl
        self._seen: OrderedDict[tuple, float] = OrderedDict()
        self._lock = threading.Lock()
        self._replaying = threading.local()

    def note(self, code: str, args: dict[str, str]) -> None:
        if getattr(self._replaying, "on", False):  # the warm-up itself: not a viewer
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

    @contextmanager
    def replaying(self) -> Iterator[None]:
        self._replaying.on = True
        try:
            yield
        finally:
            self._replaying.on = False


RECENT = RecentViews()


def warm(server: flask.Flask) -> None:
    """Compute what the wall boards, the city page and the recently viewed unit pages read, as
    a request would (unrestricted scope), so their queries are cached at the current data
    version. Who may see a page is checked when it is asked for, not here."""
    from dashboards import units, wall  # the page modules Dash imported at start-up
    from dashboards._wall_config import wall_config

    for board in wall_config().boards:
        with server.test_request_context("/wall"):
            wall.render_board(board, "vi")
    with RECENT.replaying():
        for code, args in [(None, {}), *RECENT.views()]:
            with server.test_request_context(f"/units/{code or ''}"):
                units.layout(code, **args)


class Warmer:
    """Runs `warm` in a background thread; loads arriving during a run ask for one more run
    (not one each), so a burst of batches costs at most two."""

    def __init__(self, server: flask.Flask):
        self.server = server
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._stopped = False
        self._thread: threading.Thread | None = None

    def __call__(self) -> None:
        with self._lock:
            if self._stopped:
                return
            if self._running:
                self._again = True
                return
            self._running = True
            self._thread = threading.Thread(target=self._run, name="ioc-warm", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Start no more runs and wait (up to `timeout` s) for the one running to finish."""
        with self._lock:
            self._stopped, self._again = True, False
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            try:
                warm(self.server)
            except Exception:  # a failed warm-up only means a cold first request
                log.exception("warming the boards' cache failed")
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False
