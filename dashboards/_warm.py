"""Warm the cache right after a load, in the background.

Every load that changes a figure bumps the data version, and so empties the query cache
(metrics/query.py). The first screen to ask afterwards would pay for the cold queries: at 3
years, ~50 ms for a wall board and ~100 ms for a unit page, against ~20 ms warm. So after each
load the boards are computed once here, before anyone asks, most looked-at first: the wall boards, the city page, the unit pages
viewed lately with their query arguments (`RECENT`: a department head's district for the
quarter, say), then every other unit's page as it first opens, departments and districts before
wards, and last the city page by each sector. A request arriving meanwhile waits for the same
computation (the cache is single-flight) instead of repeating it.

Every unit's page costs little to warm because a page reads rollups, not dossiers: at 3 years of
city data the wall, the 105 units and the 18 sectors took 9–12 s and ~1 MB of cache (959
entries). The warm-up builds its sections one after another in its own thread (`in_line`),
about 1.2 cores: a view no warm-up covers, asked for meanwhile, takes ~1.7× its time alone,
against 2.4× with the warm-up in the section pool. A load arriving during a warm-up stops it
(`stale`): the rest would be of the old data version, and the next run starts again from the
wall.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date

import flask

from base.tz import local_today
from config.model import Config
from dashboards._parallel import in_line
from dashboards._recent import RECENT
from metrics.query import CACHE

log = logging.getLogger(__name__)


def unit_views(config: Config, today: date) -> Iterator[tuple[str | None, dict[str, str]]]:
    """The unit pages to warm, in order: the city page, the recent views, every unit's page as it
    first opens, level by level down the hierarchy as it stands `today`, then the city page by
    each sector (the click a department head makes there first)."""
    yield None, {}
    root = config.root.code
    recent = [(code, args) for code, args in RECENT.views() if args or code != root]
    yield from recent
    opened = {code for code, args in recent if not args} | {root}
    seen, level = {root}, [root]
    while level:  # `seen`: overlapping validity rows could make the tree a loop
        level = [u.code for code in level for u in config.children(code, today)
                 if u.code not in seen]  # fmt: skip
        seen.update(level)
        yield from ((code, {}) for code in level if code not in opened)
    yield from ((None, {"sector": code}) for code in config.sectors)


def warm(server: flask.Flask, stale: Callable[[], bool] = lambda: False) -> int:
    """Compute what the wall boards and the unit pages (`unit_views`) read, as a request would
    (unrestricted scope), so their queries are cached at the current data version; stop as soon
    as `stale()`. The number of pages computed. Who may see a page is checked when it is asked
    for, not here."""
    with in_line():  # the section pool stays free for requests
        return _warm_pages(server, stale)


def _warm_pages(server: flask.Flask, stale: Callable[[], bool]) -> int:
    # Imported here, not at the top: `units` and `wall` call dash.register_page, which needs the
    # Dash app that app.py creates after importing this module. Neither imports this module back
    # (the views they note are in dashboards/_recent.py), so this hides no cycle.
    from dashboards import _forecast as forecast
    from dashboards import units, wall
    from dashboards._runtime import runtime
    from dashboards._wall_config import wall_config

    boards = wall_config().boards
    for board in boards:
        with server.test_request_context("/wall"):
            wall.render_board(board, "vi")
    with server.test_request_context("/alerts"):  # the year-end projections of every metric
        forecast.outlooks(runtime().config.root.code)
    pages = len(boards) + 1
    with RECENT.replaying():
        for code, args in unit_views(runtime().config, local_today()):
            if stale():
                break
            with server.test_request_context(f"/units/{code or ''}"):
                units.warm(code, args)
            pages += 1
    return pages


class Warmer:
    """Runs `warm` in a background thread. Loads arriving during a run stop it and ask for one
    more run (not one each), so a burst of batches ends in one whole warm-up of the last. A
    feed run that changed no figure leaves the data version, and so the cache, as it was: no run."""

    def __init__(self, server: flask.Flask, data_version: Callable[[], int]):
        self.server = server
        self.data_version = data_version
        self._warmed: int | None = None  # the version the last whole run computed
        self._last: dict[str, float | int] = {}  # that run's pages and seconds
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

    def state(self) -> dict:
        """For /healthz: whether a warm-up runs, and the last whole one."""
        with self._lock:
            return {"running": self._running, "warmed_version": self._warmed, **self._last}

    def _run(self) -> None:
        while True:
            try:
                self._warm_once()
            except Exception:  # a failed warm-up only means a cold first request
                log.exception("warming the boards' cache failed")
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False

    def _stale(self) -> bool:
        return self._again or self._stopped

    def _warm_once(self) -> None:
        version, started = self.data_version(), time.monotonic()
        if version == self._warmed or not CACHE.enabled:  # off: nothing would be kept
            return
        pages = warm(self.server, self._stale)
        if self._stale():
            log.info("warm-up stopped after %d pages by a newer load", pages)
            return
        seconds = round(time.monotonic() - started, 2)
        with self._lock:
            self._warmed, self._last = version, {"pages": pages, "seconds": seconds}
        log.info("cache warmed: %d pages in %.1f s", pages, seconds)
