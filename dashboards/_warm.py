"""Warm the cache right after a load, in the background.

Every load bumps the data version, and so empties the query cache (metrics/query.py). The first
screen to ask afterwards would pay for the cold queries: at 3 years, ~100 ms for a wall board
and ~0.5 s for the city page, against ~20 ms warm. So after each load the wall boards and the
city page are computed once here, before anyone asks. A request arriving meanwhile waits for
the same computation (the cache is single-flight) instead of repeating it.
"""

from __future__ import annotations

import logging
import threading

import flask

log = logging.getLogger(__name__)


def warm(server: flask.Flask) -> None:
    """Compute what the wall boards and the city page read, as a request would (unrestricted
    scope, the default views), so their queries are cached at the current data version."""
    from dashboards import units, wall  # the page modules Dash imported at start-up
    from dashboards._wall_config import wall_config

    for board in wall_config().boards:
        with server.test_request_context("/wall"):
            wall.render_board(board, "vi")
    with server.test_request_context("/units"):
        units.layout()


class Warmer:
    """Runs `warm` in a background thread; loads arriving during a run ask for one more run
    (not one each), so a burst of batches costs at most two."""

    def __init__(self, server: flask.Flask):
        self.server = server
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def __call__(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        threading.Thread(target=self._run, name="ioc-warm", daemon=True).start()

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
