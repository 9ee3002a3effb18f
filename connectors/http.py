"""The feeds' HTTP endpoints (a Flask Blueprint the app registers), for the pages and the CLI.

  GET  /api/feeds                   status of every configured feed (JSON list)
  POST /api/feeds/<name>/run        run now; JSON body {"start": "YYYY-MM-DD", "end": …} makes it
                                    a backfill of that range; ?wait=0 answers 202 at once
  GET  /api/quarantine?source=&limit=   the newest quarantined rows

The CLI talks to these while the app runs, because only one process may open the DuckDB file.
"""

from __future__ import annotations

import threading
from datetime import date

from flask import Blueprint, jsonify, request

from connectors.base import Window
from connectors.feeds import Feed
from connectors.runner import AfterRun, FeedBusy, feed_status, result_json, run_feed
from connectors.scheduler import next_run_times
from warehouse import Warehouse
from warehouse.feeds import quarantine_rows


def create_blueprint(
    wh: Warehouse, feeds: dict[str, Feed], scheduler=None, after_run: AfterRun | None = None
) -> Blueprint:
    """`after_run(feed, results)` follows every run started here, as it follows scheduled ones."""
    bp = Blueprint("feeds", __name__)

    def run_feed_then_hook(feed: Feed, window: Window | None):
        results = run_feed(wh, feed, window)
        if after_run is not None:
            after_run(feed, results)
        return results

    @bp.get("/api/feeds")
    def list_feeds():
        return jsonify(feed_status(wh, feeds, next_run_times(scheduler)))

    @bp.post("/api/feeds/<name>/run")
    def run(name: str):
        feed = feeds.get(name)
        if feed is None:
            return jsonify(error=f"no feed named {name!r}"), 404
        body = request.get_json(silent=True) or {}
        window = None
        if body.get("start") or body.get("end"):
            try:
                window = Window(date.fromisoformat(body["start"]), date.fromisoformat(body["end"]))
            except (KeyError, TypeError, ValueError):
                return jsonify(error="start and end must both be dates YYYY-MM-DD"), 400
            if window.end < window.start:
                return jsonify(error="end is before start"), 400
        if request.args.get("wait", "1") == "0":
            threading.Thread(
                target=_quiet_run, args=(run_feed_then_hook, feed, window), daemon=True
            ).start()
            return jsonify(status="started", feed=name), 202
        try:
            results = run_feed_then_hook(feed, window)
        except FeedBusy as e:
            return jsonify(error=str(e)), 409
        ok = all(r.status == "ok" for r in results)
        return jsonify(feed=name, ok=ok, batches=[result_json(r) for r in results]), 200

    @bp.get("/api/quarantine")
    def quarantine():
        try:
            limit = min(max(int(request.args.get("limit", 100)), 1), 5000)
        except ValueError:
            return jsonify(error="limit must be a whole number"), 400
        rows = quarantine_rows(wh.cursor(), request.args.get("source") or None, limit)
        for r in rows:
            r["quarantined_at"] = r["quarantined_at"].isoformat()
        return jsonify(rows)

    return bp


def _quiet_run(run, feed: Feed, window: Window | None) -> None:
    try:
        run(feed, window)
    except FeedBusy:
        pass
