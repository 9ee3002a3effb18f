"""Evaluate every alert instance from the warehouse (read-only): observations → engine.

One metrics query per rule (grouped by unit for `each`/`units` scopes, never one query per unit),
one query for feed deliveries and one for which feeds cover which units. The instances are keyed
stably: `<rule id>/<unit code>` for metric rules, `stale/<source>` for feeds.

Staleness is per unit: a unit's instance goes to `no_data` when a stale watched feed has
delivered facts for that unit (or a unit below it) in the last `COVERAGE_DAYS` days, so a late
district feed does not silence the other districts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb

from base.calendar import add_months, bucket_start
from base.rows import AlertState
from base.tz import local_today
from config import Config
from metrics.alerts.engine import Evaluation, Observation, evaluate, evaluate_feed
from metrics.alerts.rules import AlertsConfig, FeedWatch, Rule
from metrics.query import query
from metrics.targets import target_for

log = logging.getLogger(__name__)
COVERAGE_DAYS = 90


@dataclass(frozen=True)
class Instance:
    """What an alert instance watches (stored beside its state)."""

    key: str
    rule_id: str
    kind: str  # metric | feed
    metric: str | None = None
    unit_code: str | None = None
    sector_code: str | None = None
    source: str | None = None
    window: str | None = None
    period_start: date | None = None
    period_end: date | None = None


@dataclass(frozen=True)
class Outcome:
    instance: Instance
    evaluation: Evaluation
    channels: tuple[str, ...]


def window_range(window: str, today: date) -> tuple[date, date]:
    """The inclusive local-date range of a rule window on `today` (local date)."""
    if window == "month_to_date":
        return today.replace(day=1), today
    if window == "last_7_days":
        return today - timedelta(days=6), today
    if window == "last_30_days":
        return today - timedelta(days=29), today
    if window == "last_closed_month":
        first = add_months(today.replace(day=1), -1)
        return first, today.replace(day=1) - timedelta(days=1)
    if window == "last_closed_quarter":
        this_q = bucket_start(today, "quarter")
        return add_months(this_q, -3), this_q - timedelta(days=1)
    raise ValueError(f"unknown window {window!r}")


def instance_key(rule_id: str, unit_code: str) -> str:
    return f"{rule_id}/{unit_code}"


def scope_units(config: Config, rule: Rule, today: date) -> list[str]:
    """The units a rule has one instance for, as the hierarchy stands on `today`."""
    s = rule.scope
    if s.kind in ("city", "sector"):
        return [config.root.code]
    if s.kind == "units":
        return list(s.units)
    return sorted({u.code for u in config.units if u.kind == s.unit_kind and u.valid_on(today)})


def observe_rule(
    cur: duckdb.DuckDBPyConnection, config: Config, rule: Rule, today: date
) -> dict[str, Observation]:
    """Observation per unit code of the rule's scope (one query; one per unit kind for lists)."""
    start, end = window_range(rule.window, today)
    sectors = (rule.scope.sector,) if rule.scope.sector else ()
    m = config.metrics[rule.metric]
    units = scope_units(config, rule, today)
    rows: dict[str, dict] = {}
    if rule.scope.kind in ("city", "sector"):
        frame = query(cur, config, [rule.metric], "total", start, end, {"sectors": sectors})
        if frame.height:
            rows[config.root.code] = frame.row(0, named=True)
    else:
        kinds = sorted({config.unit(u, today).kind for u in units})
        for kind in kinds:
            frame = query(
                cur,
                config,
                [rule.metric],
                "total",
                start,
                end,
                {"unit_kind": kind, "sectors": sectors},
                by=["unit"],
            )
            for row in frame.iter_rows(named=True):
                rows[row["unit_code"]] = row
    out: dict[str, Observation] = {}
    for unit in units:
        row = rows.get(unit)
        target = None
        if row is not None:
            target = row.get(f"{rule.metric}_target")
        if target is None:
            target = target_for(config, rule.metric, start.year, unit)
        value = None if row is None else row.get(rule.metric)
        den = None if (row is None or m.denominator is None) else row.get(f"{rule.metric}_den")
        if value is None:
            why = "no_dossiers" if not den else "no_value"
            out[unit] = Observation("no_data", None, den, target, why)
        else:
            out[unit] = Observation("value", float(value), den, target)
    return out


def last_deliveries(cur: duckdb.DuckDBPyConnection) -> dict[str, datetime]:
    """When each source's last successful load batch finished."""
    rows = cur.execute(
        "SELECT source, max(finished_at) FROM load_batch WHERE status = 'ok' GROUP BY source"
    ).fetchall()
    return {s: (t if t.tzinfo else t.replace(tzinfo=UTC)) for s, t in rows if t is not None}


def feed_coverage(
    cur: duckdb.DuckDBPyConnection, config: Config, today: date
) -> dict[str, set[str]]:
    """unit code → the sources that delivered facts for it or a unit below it, recently."""
    rows = cur.execute(
        "SELECT DISTINCT source, unit_code FROM fact WHERE period_start >= ?",
        [today - timedelta(days=COVERAGE_DAYS)],
    ).fetchall()
    cover: dict[str, set[str]] = {}
    for source, unit in rows:
        try:
            chain = [unit, *config.ancestors(unit, today)]
        except KeyError:
            chain = [unit]
        for code in chain:
            cover.setdefault(code, set()).add(source)
    return cover


def evaluate_all(
    cur: duckdb.DuckDBPyConnection,
    config: Config,
    alerts: AlertsConfig,
    previous: Mapping[str, AlertState],
    silences: Mapping[str, datetime],
    now: datetime,
    extra_watches: Mapping[str, FeedWatch] | None = None,
) -> list[Outcome]:
    """Every feed and (rule, unit) instance, evaluated at `now` against its previous state.

    `previous`: alert key → stored state; `silences`: alert key → silenced until. Feeds watched
    are those in alerts.toml plus `extra_watches` (e.g. from config/feeds.toml's stale_after);
    alerts.toml wins for a source in both.
    """
    today = local_today(now)
    outcomes: list[Outcome] = []
    watches = {**(extra_watches or {}), **alerts.feeds}
    delivered = last_deliveries(cur)
    stale: set[str] = set()
    for source, watch in sorted(watches.items()):
        key = f"stale/{source}"
        ev = evaluate_feed(previous.get(key), delivered.get(source), watch, now, silences.get(key))
        if ev.state.state == "stale":
            stale.add(source)
        outcomes.append(Outcome(Instance(key, "stale", "feed", source=source), ev, watch.channels))
    coverage = feed_coverage(cur, config, today) if stale else {}
    for rule in alerts.rules.values():
        start, end = window_range(rule.window, today)
        units = scope_units(config, rule, today)
        try:
            observed = observe_rule(cur, config, rule, today)
        except Exception as exc:  # one broken rule must not stop the others
            log.exception("alert rule %s failed", rule.id)
            observed = {
                u: Observation("error", detail=f"{type(exc).__name__}: {exc}") for u in units
            }
        relevant = stale & set(rule.feeds or watches)
        for unit in units:
            obs = observed[unit]
            late = sorted(relevant & coverage.get(unit, set()))
            if late and obs.kind != "error":
                obs = Observation("stale", obs.value, obs.denominator, obs.target, ", ".join(late))
            key = instance_key(rule.id, unit)
            ev = evaluate(previous.get(key), obs, rule, now, silenced_until=silences.get(key))
            inst = Instance(
                key,
                rule.id,
                "metric",
                metric=rule.metric,
                unit_code=unit,
                sector_code=rule.scope.sector,
                window=rule.window,
                period_start=start,
                period_end=end,
            )
            outcomes.append(Outcome(inst, ev, rule.channels))
    return outcomes
