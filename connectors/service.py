"""Wire the feeds into the app in one call: demo sources, feeds config, HTTP endpoints, scheduler.

    from connectors.service import start_feeds
    feeds = start_feeds(app.server, wh, settings)      # after open_warehouse, before app.run

Demo feeds (names starting "demo_") are enabled only in demo mode, where their sources run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flask import Flask

from config import CONFIG_DIR
from config.settings import Settings
from connectors.demo_sources import DemoSources, start_demo_sources
from connectors.feeds import FEEDS_FILE, Feed, load_feeds
from connectors.http import create_blueprint
from connectors.runner import AfterRun, feed_status, run_feed
from connectors.scheduler import next_run_times, start_scheduler
from warehouse import BatchResult, Warehouse

log = logging.getLogger(__name__)
DEMO_PREFIX = "demo_"


@dataclass
class FeedService:
    wh: Warehouse
    feeds: dict[str, Feed]
    scheduler: Any = None
    demo: DemoSources | None = None
    after_run: AfterRun | None = None

    def run_now(self, name: str) -> list[BatchResult]:
        """Run one feed now, then the after-run hook (alerts), as a scheduled run would.

        Raises KeyError for an unknown name, FeedBusy if it is running."""
        feed = self.feeds[name]
        results = run_feed(self.wh, feed)
        if self.after_run is not None:
            self.after_run(feed, results)
        return results

    def status(self) -> list[dict[str, Any]]:
        return feed_status(self.wh, self.feeds, next_run_times(self.scheduler))

    def stop(self, wait: bool = False) -> None:
        """Stop the scheduler (with `wait`: after the runs in progress have committed) and the
        demo sources."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if self.demo is not None:
            self.demo.stop()


def feeds_file(settings: Settings) -> Path:
    return (settings.config_dir or CONFIG_DIR) / FEEDS_FILE


def check_feeds(settings: Settings, measures: set[str]) -> None:
    """Refuse a bad feeds.toml (ConfigError with the key) before any data is opened or loaded:
    the demo sources' address is only a placeholder here."""
    load_feeds(feeds_file(settings), data_dir=settings.data_dir, demo_api="http://127.0.0.1:0",
               measures=measures)  # fmt: skip


def start_feeds(
    server: Flask | None,
    wh: Warehouse,
    settings: Settings,
    after_run: AfterRun | None = None,
    demo_port: int = 0,
) -> FeedService:
    """Start the demo sources (demo mode), load `feeds.toml`, register the blueprint on
    `server` (when given) and start the scheduler (when `settings.scheduler`)."""
    demo = (
        start_demo_sources(wh.config, settings.data_dir, port=demo_port) if settings.demo else None
    )
    feeds = load_feeds(feeds_file(settings), data_dir=settings.data_dir,
                       demo_api=demo.api_url if demo else "http://127.0.0.1:0",
                       measures=set(wh.config.measures))  # fmt: skip
    if demo is None:
        feeds = {n: replace(f, enabled=False) if n.startswith(DEMO_PREFIX) else f
                 for n, f in feeds.items()}  # fmt: skip
    scheduler = start_scheduler(wh, feeds, after_run) if settings.scheduler else None
    if server is not None:
        server.register_blueprint(create_blueprint(wh, feeds, scheduler, after_run))
    log.info("feeds: %d configured, %d enabled", len(feeds), sum(f.enabled for f in feeds.values()))
    return FeedService(wh, feeds, scheduler, demo, after_run)
