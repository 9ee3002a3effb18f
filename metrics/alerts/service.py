"""Run the alerts: evaluate every instance, store the run, send what changed.

`evaluate_after_load(wh, now)` is the one call the app makes after each load batch and on a
schedule. Runs are serialized by a lock (a scheduled run and a post-load run never interleave);
the state is written in one transaction, then the queued notifications are sent outside it (a
slow webhook never holds the warehouse's write lock) and their outcomes recorded.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import CONFIG_DIR
from metrics.alerts.evaluate import evaluate_all
from metrics.alerts.notify import deliver, message
from metrics.alerts.rules import AlertsConfig, FeedWatch, load_alerts
from warehouse import alerts_store as store

log = logging.getLogger(__name__)
_lock = threading.Lock()
# Per warehouse object (dropped with it): its alerts.toml and the feeds watched for staleness.
_configured: dict[int, tuple[AlertsConfig, dict[str, FeedWatch]]] = {}


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    instances: int
    transitions: int
    firing: int
    notified: int
    failed: int
    seconds: float


def configure(
    wh,
    config_dir: Path | str | None = None,
    feed_stale_after: Mapping[str, timedelta] | None = None,
) -> AlertsConfig:
    """Read (and validate) alerts.toml for this warehouse once, at app start-up.

    `feed_stale_after`: source → stale_after from config/feeds.toml, so every scheduled feed is
    watched even when alerts.toml does not list it (alerts.toml wins for a source in both).
    Raises ConfigError on a bad file: call it where the app validates its configuration.
    """
    alerts = load_alerts(wh.config, config_dir or CONFIG_DIR)
    channels = tuple(_default_channels(alerts))
    watches = {
        source: FeedWatch(source, after, timedelta(0), channels)
        for source, after in (feed_stale_after or {}).items()
    }
    if id(wh) not in _configured:
        weakref.finalize(wh, _configured.pop, id(wh), None)
    _configured[id(wh)] = (alerts, watches)
    return alerts


def _setup(wh) -> tuple[AlertsConfig, dict[str, FeedWatch]]:
    if id(wh) not in _configured:
        configure(wh)
    return _configured[id(wh)]


def _default_channels(alerts: AlertsConfig) -> list[str]:
    chans: list[str] = []
    for r in alerts.rules.values():
        chans += [c for c in r.channels if c not in chans]
    return chans


def evaluate_after_load(
    wh,
    now: datetime | None = None,
    alerts: AlertsConfig | None = None,
    send: bool = True,
    env: Mapping[str, str] | None = None,
) -> RunSummary:
    """Evaluate all alert rules and feeds at `now` (default: the current time), store the new
    states and transitions in one transaction, then send the notifications they queued."""
    started = datetime.now(UTC)
    now = now or started
    configured, watches = _setup(wh)
    alerts = alerts or configured
    with _lock:
        cur = wh.cursor()
        previous = store.load_states(cur)
        silenced = store.active_silences(cur, now)
        outcomes = evaluate_all(cur, wh.config, alerts, previous, silenced, now, watches)
        run_id = store.save_run(wh.db, outcomes, started, now)
        notified = failed = 0
        if send:
            notified, failed = send_pending(wh, alerts, now, env)
    transitions = sum(1 for o in outcomes if o.evaluation.event is not None)
    firing = sum(1 for o in outcomes if o.evaluation.state.state == "firing")
    seconds = (datetime.now(UTC) - started).total_seconds()
    log.info(
        "alerts run %d: %d instances, %d transitions, %d firing, %d sent, %d failed (%.2f s)",
        run_id, len(outcomes), transitions, firing, notified, failed, seconds,
    )  # fmt: skip
    return RunSummary(run_id, len(outcomes), transitions, firing, notified, failed, seconds)


def send_pending(
    wh, alerts: AlertsConfig, now: datetime, env: Mapping[str, str] | None = None
) -> tuple[int, int]:
    """Deliver every queued transition on each of its channels once; record the outcomes."""
    channels_of: dict[str, tuple[str, ...]] = {r.id: r.channels for r in alerts.rules.values()}
    watches = {**_setup(wh)[1], **alerts.feeds}
    for source, w in watches.items():
        channels_of[f"stale/{source}"] = w.channels
    rows = store.pending_deliveries(wh.cursor(), channels_of, since=now - timedelta(days=1))
    base_url = (env if env is not None else os.environ).get("IOC_PUBLIC_URL", "")
    results = []
    sent = failed = 0
    for row in rows:
        channel = alerts.channels.get(row["channel"])
        if channel is None:
            continue
        outcome = deliver(channel, message(row, wh.config, alerts, base_url), env)
        results.append(
            (row["event_id"], channel.id, outcome.status, outcome.attempts, outcome.error)
        )
        sent += outcome.status == "sent"
        failed += outcome.status == "failed"
    store.record_deliveries(wh.db, results, now)
    return sent, failed
