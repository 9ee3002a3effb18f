"""Run one feed: read its cursor → pull from the source → one load batch per pull.

Each pull's rows and the cursor after them commit in one warehouse transaction, so a crash
between pulls resumes from the last commit and nothing loads twice. A source that cannot be read
becomes a recorded failed batch (the error, no rows); the data loaded before stays, and the
scheduler simply tries again at the next run. A pull that moves a cursor stops the run when it
fails (what follows it depends on it); a file does not: its failure is recorded and the feed's
other files load (issue #24: one bad file used to stop every later file, on every run). One run
per feed at a time, whoever asks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector, Pull, Window, make_connector
from connectors.feeds import Feed
from warehouse import Batch, BatchResult, Warehouse
from warehouse.feeds import already_loaded, feed_state, feed_summaries, iso

log = logging.getLogger(__name__)
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class FeedBusy(RuntimeError):
    """The feed is already running (a scheduled run and "run now" never overlap)."""


def run_feed(
    wh: Warehouse,
    feed: Feed,
    window: Window | None = None,
    now: datetime | None = None,
    connector: Connector | None = None,
    wait: bool = False,
) -> list[BatchResult]:
    """Pull `feed` (from its cursor, or over `window` for a backfill) and load every pull.

    Returns the batches recorded, one per pull: a failed pull that moves a cursor is the last
    (the run stops there); a failed file is recorded and the run goes on with the next file.
    Raises FeedBusy when the feed is already running and `wait` is false.
    """
    lock = _lock(feed.name)
    if not lock.acquire(blocking=wait):
        raise FeedBusy(f"feed {feed.name} is already running")
    try:
        return _run(wh, feed, window, now, connector)
    finally:
        lock.release()


def _run(wh, feed, window, now, connector) -> list[BatchResult]:
    results: list[BatchResult] = []
    connector = connector or make_connector(feed, wh.config)

    def seen(key: str, digest: str) -> bool:
        return already_loaded(wh.cursor(), feed.name, key, digest)

    try:
        state = feed_state(wh.cursor(), feed.name)
        for pull in connector.pulls(state, window, seen):
            result = _load(wh, feed, pull, now)
            results.append(result)
            log.info("feed %s: batch %s %s, %d loaded, %d quarantined", feed.name,
                     result.batch_id, result.status, result.rows_loaded,
                     result.rows_quarantined)  # fmt: skip
            if result.status != "ok" and not pull.independent:
                return results
    except Exception as e:  # noqa: BLE001 — a run that fails is recorded, never raised
        log.warning("feed %s failed: %s", feed.name, e)
        results.append(wh.loader.record_failure(Batch(feed.name), f"{type(e).__name__}: {e}", now))
        return results
    finally:
        connector.close()
    if not results:
        # Nothing new (every file already loaded): still a successful run, with no rows.
        results.append(wh.load(Batch(feed.name), now))
    return results


def _load(wh: Warehouse, feed: Feed, pull: Pull, now: datetime | None) -> BatchResult:
    """Load one pull, or record it failed when the connector could not read it."""
    if pull.failed is not None:
        log.warning("feed %s: %s", feed.name, pull.failed)
        return wh.loader.record_failure(pull.batch(feed.name), pull.failed, now)
    return wh.load(pull.batch(feed.name), now)


def feed_status(
    wh: Warehouse,
    feeds: dict[str, Feed],
    next_runs: dict[str, datetime | None] | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """One JSON-ready row per configured feed for the sources page and `GET /api/feeds`.

    `stale` is true when the feed's last success is older than its `stale_after` (an enabled
    feed that never succeeded is stale too).
    """
    now = now or datetime.now(UTC)
    summaries = feed_summaries(wh.cursor())
    out = []
    for name, feed in feeds.items():
        s = summaries.get(name, {})
        last_ok = s.get("last_success_at")
        stale = feed.enabled and (last_ok is None or now - last_ok > feed.stale_after)
        nxt = (next_runs or {}).get(name)
        out.append({
            "name": name,
            "kind": feed.kind,
            "shape": feed.shape,
            "enabled": feed.enabled,
            "description": feed.description,
            "schedule": feed.schedule.cron or f"every {feed.schedule.every}",
            "stale_after_seconds": feed.stale_after.total_seconds(),
            "next_run_at": iso(nxt),
            "last_run_at": iso(s.get("last_run_at")),
            "last_success_at": iso(last_ok),
            "last_status": s.get("last_status"),
            "last_error": s.get("last_error"),
            "last_rows_loaded": s.get("last_rows_loaded"),
            "last_rows_quarantined": s.get("last_rows_quarantined"),
            "total_rows_loaded": s.get("total_rows_loaded") or 0,
            "total_rows_quarantined": s.get("total_rows_quarantined") or 0,
            # Rows naming a retired unit after its last day, loaded under its successor.
            "last_rows_remapped": s.get("last_rows_remapped"),
            "total_rows_remapped": s.get("total_rows_remapped") or 0,
            "failed_runs": s.get("failed_runs") or 0,
            "newest_data_at": iso(s.get("newest_data_at")),
            "stale": bool(stale),
            "running": _lock(name).locked(),
        })  # fmt: skip
    return out


def result_json(result: BatchResult) -> dict[str, Any]:
    return asdict(result)


def month_windows(start, end) -> list[Window]:
    """A backfill range cut into calendar months (one progress step each)."""
    out, first = [], start
    while first <= end:
        nxt = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append(Window(first, min(end, nxt - timedelta(days=1))))
        first = nxt
    return out


AfterRun = Callable[[Feed, list[BatchResult]], None]
