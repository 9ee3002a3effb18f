"""Alert state, history, acknowledgements and silences: the only code writing the alert tables.

Writes:
  - `save_run`: one transaction per evaluation run (instance states, transitions, run row).
  - `record_deliveries`: the outcome of sending the notifications a run queued.
  - `acknowledge`, `silence`, `end_silence`: the service functions pages call (who, why, when).
Reads (any thread, through its own cursor): `load_states`, `active_silences`, `active_alerts`,
`alert_instances`, `alert_history`, `silences`, `pending_deliveries`.

Times are stored as TIMESTAMPTZ and returned timezone-aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from base.rows import AlertState
from warehouse.db import Database, remembered, scalar

ACTIVE_STATES = ("firing",)


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None):
    res = cur.execute(sql, params)
    names = [d[0] for d in res.description]
    out = []
    for row in res.fetchall():
        rec = dict(zip(names, row, strict=True))
        out.append({k: _aware(v) if isinstance(v, datetime) else v for k, v in rec.items()})
    return out


# ---------------------------------------------------------------------------------------------
# Evaluation runs
# ---------------------------------------------------------------------------------------------


def load_states(cur: duckdb.DuckDBPyConnection) -> dict:
    """alert key → the engine's AlertState, as the last run left it."""
    out = {}
    for r in _rows(cur, "SELECT * FROM alert_instance"):
        out[r["alert_key"]] = AlertState(
            state=r["state"],
            severity=r["severity"],
            since=r["since"],
            pending_count=r["pending_count"] or 0,
            pending_since=r["pending_since"],
            started_at=r["started_at"],
            resolved_at=r["resolved_at"],
            peak_value=r["peak_value"],
            value=r["value"],
            denominator=r["denominator"],
            target=r["target"],
            threshold=r["threshold"],
            reason=r["reason"] or "",
        )
    return out


def active_silences(cur: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, datetime]:
    """alert key → until when it is silenced (the latest-ending silence still in force)."""
    rows = cur.execute(
        "SELECT alert_key, max(until) FROM alert_silence"
        " WHERE ended_at IS NULL AND until > ? GROUP BY alert_key",
        [now],
    ).fetchall()
    return {k: _aware(u) for k, u in rows}


_INSTANCE_COLS = (
    "alert_key", "rule_id", "kind", "metric", "unit_code", "sector_code", "source",
    "time_window", "period_start", "period_end", "state", "severity", "since", "pending_count",
    "pending_since", "started_at", "resolved_at", "peak_value", "value", "denominator", "target",
    "threshold", "reason", "reason_parts", "evaluated_at",
)  # fmt: skip
_TS = pl.Datetime("us", "UTC")
_INSTANCE_SCHEMA = {
    "alert_key": pl.String, "rule_id": pl.String, "kind": pl.String, "metric": pl.String,
    "unit_code": pl.String, "sector_code": pl.String, "source": pl.String,
    "time_window": pl.String, "period_start": pl.Date, "period_end": pl.Date,
    "state": pl.String, "severity": pl.String, "since": _TS, "pending_count": pl.Int32,
    "pending_since": _TS, "started_at": _TS, "resolved_at": _TS, "peak_value": pl.Float64,
    "value": pl.Float64, "denominator": pl.Float64, "target": pl.Float64,
    "threshold": pl.Float64, "reason": pl.String, "reason_parts": pl.String, "evaluated_at": _TS,
}  # fmt: skip


def save_run(db: Database, outcomes: Sequence, started: datetime, now: datetime) -> int:
    """Write one evaluation run in one transaction: every instance's new state, one event per
    transition (those to notify form the outbox), and instances no rule produces any more are
    dropped (their history stays). Returns the run id."""
    rows, events = [], []
    for o in outcomes:
        i, ev = o.instance, o.evaluation
        s = ev.state
        rows.append(
            {
                "alert_key": i.key, "rule_id": i.rule_id, "kind": i.kind, "metric": i.metric,
                "unit_code": i.unit_code, "sector_code": i.sector_code, "source": i.source,
                "time_window": i.window, "period_start": i.period_start,
                "period_end": i.period_end, "state": s.state, "severity": s.severity,
                "since": s.since, "pending_count": s.pending_count,
                "pending_since": s.pending_since, "started_at": s.started_at,
                "resolved_at": s.resolved_at, "peak_value": s.peak_value, "value": s.value,
                "denominator": s.denominator, "target": s.target, "threshold": s.threshold,
                "reason": ev.reason, "reason_parts": ev.why.to_json(), "evaluated_at": now,
            }
        )  # fmt: skip
        if ev.event is not None:
            events.append((i.key, ev))
    frame = pl.DataFrame(rows, schema=_INSTANCE_SCHEMA, orient="row")
    with db.transaction() as cur:
        run_id = scalar(cur, "SELECT nextval('alert_run_seq')")
        cur.register("incoming_alert", frame.to_arrow())
        cur.execute(
            "DELETE FROM alert_instance WHERE alert_key NOT IN (SELECT alert_key FROM incoming_alert)"
        )
        cols = ", ".join(_INSTANCE_COLS)
        cur.execute(
            f"INSERT OR REPLACE INTO alert_instance ({cols}) SELECT {cols} FROM incoming_alert"
        )
        cur.unregister("incoming_alert")
        for key, ev in events:
            s = ev.state
            cur.execute(
                "INSERT INTO alert_event (event_id, alert_key, run_id, happened_at, event,"
                " from_state, to_state, severity, value, threshold, reason, notify, silenced,"
                " reason_parts) VALUES (nextval('alert_event_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ?, ?)",
                [key, run_id, now, ev.event, ev.previous, s.state, s.severity, s.value,
                 s.threshold, ev.reason, ev.notify, ev.silenced, ev.why.to_json()],
            )  # fmt: skip
        errors = sum(1 for o in outcomes if o.evaluation.state.state == "error")
        cur.execute(
            "INSERT INTO alert_run VALUES (?, ?, ?, ?, ?, ?)",
            [run_id, started, now, len(outcomes), len(events), errors],
        )
    return run_id


def pending_deliveries(
    cur: duckdb.DuckDBPyConnection,
    channels_of: dict[str, tuple[str, ...]],
    since: datetime | None = None,
) -> list[dict]:
    """Events marked to notify that have not been delivered on one of their channels yet.

    `channels_of`: rule id (or "stale/<source>" for feeds) → its channel ids. Each returned row
    is the event joined with its instance, plus `channel`. `since`: ignore older events (a
    channel added today does not replay last month's history).
    """
    events = _rows(
        cur,
        """SELECT e.*, i.rule_id, i.kind, i.metric, i.unit_code, i.sector_code, i.source,
                  i.time_window, i.period_start, i.period_end, i.target, i.denominator,
                  i.started_at, i.peak_value
           FROM alert_event e JOIN alert_instance i USING (alert_key)
           WHERE e.notify AND ($since IS NULL OR e.happened_at >= $since) ORDER BY e.event_id""",
        {"since": since},
    )
    done = set(cur.execute("SELECT event_id, channel FROM alert_delivery").fetchall())
    out = []
    for e in events:
        key = e["rule_id"] if e["kind"] == "metric" else e["alert_key"]
        for channel in channels_of.get(key, ()):
            if (e["event_id"], channel) not in done:
                out.append({**e, "channel": channel})
    return out


def record_deliveries(db: Database, results: Iterable[tuple[int, str, str, int, str | None]],
                      now: datetime) -> None:  # fmt: skip
    """(event_id, channel, status sent|failed|skipped, attempts, error) per delivery."""
    results = list(results)
    if not results:
        return
    with db.transaction() as cur:
        for event_id, channel, status, attempts, error in results:
            cur.execute(
                "INSERT OR IGNORE INTO alert_delivery VALUES (?, ?, ?, ?, ?, ?)",
                [event_id, channel, status, attempts, error, now],
            )


# ---------------------------------------------------------------------------------------------
# Service functions the pages call (acknowledge, silence)
# ---------------------------------------------------------------------------------------------


class AlertActionError(ValueError):
    """A refused acknowledgement or silence, with a message fit to show the user."""


def _instance(cur: duckdb.DuckDBPyConnection, key: str) -> dict:
    rows = _rows(cur, "SELECT * FROM alert_instance WHERE alert_key = ?", [key])
    if not rows:
        raise AlertActionError(f"unknown alert {key!r}")
    return rows[0]


def _who(who: str, why: str | None, need_why: bool) -> tuple[str, str]:
    who = (who or "").strip()
    why = (why or "").strip()
    if not who:
        raise AlertActionError("say who you are")
    if need_why and not why:
        raise AlertActionError("say why")
    return who[:200], why[:2000]


def acknowledge(db: Database, key: str, who: str, note: str | None, now: datetime) -> int:
    """Record that `who` has seen the current episode of a firing (or pending) alert. The
    acknowledgement ends with the episode: a later episode is unacknowledged again."""
    who, note = _who(who, note, need_why=False)
    with db.transaction() as cur:
        inst = _instance(cur, key)
        if inst["state"] not in ("firing", "pending") and inst["started_at"] is None:
            raise AlertActionError(f"alert {key} is {inst['state']}: nothing to acknowledge")
        ack_id = scalar(cur, "SELECT nextval('alert_ack_seq')")
        cur.execute(
            "INSERT INTO alert_ack VALUES (?, ?, ?, ?, ?, ?)",
            [ack_id, key, inst["started_at"], who, note, now],
        )
    return ack_id


def silence(db: Database, key: str, who: str, reason: str, until: datetime, now: datetime) -> int:
    """Mute the notifications of one alert until `until` (its state keeps changing)."""
    who, reason = _who(who, reason, need_why=True)
    if until <= now:
        raise AlertActionError("a silence must end in the future")
    with db.transaction() as cur:
        _instance(cur, key)
        sid = scalar(cur, "SELECT nextval('alert_silence_seq')")
        cur.execute(
            "INSERT INTO alert_silence VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
            [sid, key, who, reason, now, until],
        )
    return sid


def end_silence(db: Database, silence_id: int, who: str, now: datetime) -> None:
    who, _ = _who(who, None, need_why=False)
    with db.transaction() as cur:
        cur.execute(
            "UPDATE alert_silence SET ended_at = ?, ended_by = ? WHERE silence_id = ?"
            " AND ended_at IS NULL",
            [now, who, silence_id],
        )


# ---------------------------------------------------------------------------------------------
# Reads for the pages
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    """One alert instance as the pages show it."""

    key: str
    rule_id: str
    kind: str  # metric | feed
    metric: str | None
    unit_code: str | None
    sector_code: str | None
    source: str | None
    window: str | None
    period_start: date | None
    period_end: date | None
    state: str
    severity: str | None
    since: datetime | None
    started_at: datetime | None
    resolved_at: datetime | None
    value: float | None
    peak_value: float | None
    denominator: float | None
    target: float | None
    threshold: float | None
    reason: str  # English
    evaluated_at: datetime | None
    reason_parts: str | None = None  # the reason as data (metrics.alerts.reasons), JSON
    acked_by: str | None = None
    acked_at: datetime | None = None
    ack_note: str | None = None
    silenced_until: datetime | None = None
    silenced_by: str | None = None
    silence_reason: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    @property
    def silenced(self) -> bool:
        return self.silenced_until is not None


_ALERT_SQL = """
SELECT i.*, a.acked_by, a.acked_at, a.note AS ack_note,
       s.until AS silenced_until, s.created_by AS silenced_by, s.reason AS silence_reason
FROM alert_instance i
LEFT JOIN (
    SELECT * FROM alert_ack
    QUALIFY row_number() OVER (PARTITION BY alert_key, episode_started_at ORDER BY acked_at DESC) = 1
) a ON a.alert_key = i.alert_key AND a.episode_started_at IS NOT DISTINCT FROM i.started_at
LEFT JOIN (
    SELECT * FROM alert_silence WHERE ended_at IS NULL AND until > $now
    QUALIFY row_number() OVER (PARTITION BY alert_key ORDER BY until DESC) = 1
) s ON s.alert_key = i.alert_key
"""


def _alert(r: dict) -> AlertRow:
    return AlertRow(
        key=r["alert_key"], rule_id=r["rule_id"], kind=r["kind"], metric=r["metric"],
        unit_code=r["unit_code"], sector_code=r["sector_code"], source=r["source"],
        window=r["time_window"], period_start=r["period_start"], period_end=r["period_end"],
        state=r["state"], severity=r["severity"], since=r["since"], started_at=r["started_at"],
        resolved_at=r["resolved_at"], value=r["value"], peak_value=r["peak_value"],
        denominator=r["denominator"], target=r["target"], threshold=r["threshold"],
        reason=r["reason"] or "", evaluated_at=r["evaluated_at"],
        reason_parts=r["reason_parts"], acked_by=r["acked_by"],
        acked_at=r["acked_at"], ack_note=r["ack_note"], silenced_until=r["silenced_until"],
        silenced_by=r["silenced_by"], silence_reason=r["silence_reason"],
    )  # fmt: skip


_SEVERITY_ORDER = "CASE i.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END"


def alert_instances(
    cur: duckdb.DuckDBPyConnection,
    now: datetime | None = None,
    states: Sequence[str] | None = None,
    severity: str | None = None,
    metric: str | None = None,
    unit_code: str | None = None,
) -> list[AlertRow]:
    """Alert instances (filtered), worst first, with their current acknowledgement/silence."""
    params: dict = {"now": now or datetime.now(UTC)}
    where = []
    if states:
        params["states"] = list(states)
        where.append("list_contains($states, i.state)")
    if severity:
        params["severity"] = severity
        where.append("i.severity = $severity")
    if metric:
        params["metric"] = metric
        where.append("i.metric = $metric")
    if unit_code:
        params["unit"] = unit_code
        where.append("i.unit_code = $unit")
    sql = _ALERT_SQL + (f"WHERE {' AND '.join(where)}" if where else "")
    sql += f" ORDER BY {_SEVERITY_ORDER}, i.started_at NULLS LAST, i.alert_key"
    return [_alert(r) for r in _rows(cur, sql, params)]


def _first_silence_end(rows: list[AlertRow]) -> datetime | None:
    """When the first silence in `rows` ends: only writes (evaluations, acknowledgements, new
    silences) and that moment change which alerts fire and how."""
    return min((r.silenced_until for r in rows if r.silenced_until is not None), default=None)


def active_alerts(
    cur: duckdb.DuckDBPyConnection,
    severity: str | None = "critical",
    now: datetime | None = None,
    include_acknowledged: bool = True,
    include_silenced: bool = True,
) -> list[AlertRow]:
    """Firing alerts, worst and oldest first: what the wall strip shows (default: critical).

    `severity=None` gives warnings too. Each row carries unit_code, metric and the window
    (period_start..period_end) the drill-down needs.
    """
    if now is None:  # every wall poll asks: ~10 ms of a ~16 ms poll as a statement each time
        rows = [r for r in current_alerts(cur) if r.state in ACTIVE_STATES
                and (severity is None or r.severity == severity)]  # fmt: skip
    else:
        rows = alert_instances(cur, now, states=ACTIVE_STATES, severity=severity)
    return [
        r
        for r in rows
        if (include_acknowledged or not r.acknowledged) and (include_silenced or not r.silenced)
    ]


def current_alerts(cur: duckdb.DuckDBPyConnection) -> list[AlertRow]:
    """Every alert instance as `alert_instances` gives it now, from memory until the next commit
    (evaluations, acknowledgements and silences are commits) or the first silence's end."""
    return remembered(cur, "alert_instances", lambda: alert_instances(cur), _first_silence_end)


def alert_history(
    cur: duckdb.DuckDBPyConnection,
    key: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> list[dict]:
    """Transitions, newest first: event, from/to state, severity, value, reason, notified."""
    where, params = [], []
    if key:
        where.append("e.alert_key = ?")
        params.append(key)
    if since:
        where.append("e.happened_at >= ?")
        params.append(since)
    sql = (
        "SELECT e.*, i.rule_id, i.kind, i.metric, i.unit_code, i.sector_code, i.source,"
        " i.period_start, i.period_end"
        " FROM alert_event e LEFT JOIN alert_instance i USING (alert_key)"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY e.event_id DESC LIMIT ?"
    )
    return _rows(cur, sql, [*params, int(limit)])


def acknowledgements(cur: duckdb.DuckDBPyConnection, key: str | None = None) -> list[dict]:
    where, params = ("WHERE alert_key = ?", [key]) if key else ("", [])
    return _rows(cur, f"SELECT * FROM alert_ack {where} ORDER BY acked_at DESC", params)


def silences(cur: duckdb.DuckDBPyConnection, now: datetime, active_only: bool = True) -> list[dict]:
    where = "WHERE ended_at IS NULL AND until > ?" if active_only else ""
    params = [now] if active_only else []
    return _rows(cur, f"SELECT * FROM alert_silence {where} ORDER BY until DESC", params)
