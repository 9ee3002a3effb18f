"""Load batches: validate → load in one transaction → update the rollup → record the counts.

A batch either commits whole (rows, quarantine, rollup, feed state, counts) or leaves the
warehouse exactly as it was; a failed batch is then recorded on its own with its error.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from base.calendar import bucket_end
from base.tz import LOCAL_TZ
from config import Config
from warehouse.db import Database, scalar
from warehouse.rollup import (
    refresh_dossier_days,
    refresh_hours,
    refresh_months,
    refresh_report_periods,
)
from warehouse.shapes import DOSSIER_SCHEMA, REPORT_SCHEMA, conform
from warehouse.validate import check_dossiers, check_reports

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reject:
    """A row a connector could not even parse: its raw text and why."""

    raw: str
    reason: str


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    source: str
    status: str  # ok | failed | skipped
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    error: str | None = None
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    rollup_seconds: float = 0.0  # of `seconds`: refreshing the day and month rollups
    # Of `rows_loaded`: rows naming a retired unit after its last day, loaded under its successor.
    rows_remapped: int = 0


@dataclass
class Batch:
    """What one run of a feed hands the loader."""

    source: str
    dossiers: pl.DataFrame | None = None
    reports: pl.DataFrame | None = None
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int | None = None
    source_key: str | None = None  # e.g. a file name: a new version replaces the old one's rows
    content_hash: str | None = None
    state: dict | None = None  # feed state (cursor) saved atomically with the rows
    # The source's row number of each row of `dossiers` or `reports` (a file's rows), so a
    # reason can say "duplicate of row 7"; None when the source does not number its rows.
    source_rows: pl.Series | None = None


def _next_batch_id(cur: duckdb.DuckDBPyConnection) -> int:
    return scalar(cur, "SELECT nextval('batch_id_seq')")


def _insert_batch_row(cur, batch_id: int, batch: Batch, started: datetime, status: str) -> None:
    cur.execute(
        "INSERT INTO load_batch (batch_id, source, source_key, content_hash, started_at, status)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [batch_id, batch.source, batch.source_key, batch.content_hash, started, status],
    )


def _replaced_batches(cur, batch: Batch) -> list[int]:
    if batch.source_key is None:
        return []
    rows = cur.execute(
        "SELECT batch_id FROM load_batch WHERE source = ? AND source_key = ? AND status = 'ok'",
        [batch.source, batch.source_key],
    ).fetchall()
    return [r[0] for r in rows]


def _load_dossiers(cur, frame: pl.DataFrame, batch_id: int, source: str, old: list[int]) -> None:
    """Upsert by the natural key (source, dossier_id) and list the touched days in `touched_day`;
    keep `late_or_open` in step (a replaced dossier leaves it, an incoming one may enter it).

    Deleting the rows being replaced needs an anti-join over the source's dossiers, so it runs
    only when it can find something: a replaced file's batches exist, or the batch's key range
    [min, max] overlaps the key range of an earlier batch of the source (ranges are kept per
    batch in `load_batch`). Month-by-month exports with growing keys skip it. See `_replace`.
    """
    # String-view columns are handed over as they are; the default (large_string) copies every
    # string first: ~0.07 s per 1M dossiers.
    cur.register("incoming_dossier", frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    cols = ", ".join(DOSSIER_SCHEMA)
    lo, hi = cur.execute(
        "SELECT min(dossier_id), max(dossier_id) FROM incoming_dossier"
    ).fetchall()[0]
    cur.execute("UPDATE load_batch SET min_key = ?, max_key = ? WHERE batch_id = ?",
                [lo, hi, batch_id])  # fmt: skip
    overlap = bool(old) or scalar(
        cur,
        """SELECT count(*) > 0 FROM load_batch WHERE source = $source AND status = 'ok'
        AND batch_id <> $batch AND min_key <= $hi AND max_key >= $lo""",
        {"source": source, "batch": batch_id, "lo": lo, "hi": hi},
    )
    cur.execute(
        """CREATE OR REPLACE TEMP TABLE touched_day AS
        SELECT DISTINCT received_day AS day FROM incoming_dossier"""
    )
    if overlap:
        _replace(cur, source, old)
        cur.execute(
            "DELETE FROM late_or_open WHERE source = $source"
            " AND dossier_id IN (SELECT dossier_id FROM gone)",
            {"source": source},
        )
    cur.execute(
        f"""INSERT INTO dossier ({cols}, source, received_day, batch_id)
        SELECT {cols}, $source, received_day, {batch_id} FROM incoming_dossier""",
        {"source": source},
    )
    cur.execute(
        f"""INSERT INTO late_or_open (source, {_COPIED})
        SELECT $source, {_COPIED} FROM incoming_dossier WHERE {_LATE_OR_OPEN}""",
        {"source": source},
    )
    cur.unregister("incoming_dossier")


# The dossiers `late_or_open` keeps (migration 011), and the columns it copies.
_LATE_OR_OPEN = "completed_at IS NULL OR completed_at > due_at"
_COPIED = ("dossier_id, unit_code, procedure_code, channel, received_at, due_at, completed_at,"
           " status, received_day")  # fmt: skip


def _replace(cur, source: str, old: list[int]) -> None:
    """Delete the rows of the replaced batches `old` and the earlier versions of the incoming
    dossiers; add the days they were received on to `touched_day`.

    A dossier is stored once per source, and a re-sent one (a status update) keeps its day of
    receipt: its old row is looked for on the incoming days first, which the literal bounds let
    DuckDB find by row-group min/max (~10 ms instead of a scan of every dossier: ~1 s at 34 M).
    Only incoming keys not found there (new dossiers, a corrected receipt day) scan the rest.
    """
    params = {"source": source}
    cur.execute("CREATE OR REPLACE TEMP TABLE gone (dossier_id VARCHAR, received_day DATE)")
    if old:
        _delete(cur, f"batch_id BETWEEN {min(old)} AND {max(old)}"
                     f" AND list_contains({old}, batch_id)", params)  # fmt: skip
    day_lo, day_hi = cur.execute("SELECT min(day), max(day) FROM touched_day").fetchall()[0]
    _delete(cur, "received_day BETWEEN $lo AND $hi AND dossier_id IN (SELECT dossier_id FROM"
                 " incoming_dossier)", params | {"lo": day_lo, "hi": day_hi})  # fmt: skip
    if scalar(cur, f"SELECT EXISTS ({_UNSEEN})"):
        _delete(cur, f"dossier_id IN ({_UNSEEN})", params)
    cur.execute(
        "INSERT INTO touched_day SELECT DISTINCT received_day FROM gone"
        " EXCEPT SELECT day FROM touched_day"
    )


_UNSEEN = "SELECT dossier_id FROM incoming_dossier EXCEPT SELECT dossier_id FROM gone"


def _delete(cur, where: str, params: dict) -> None:
    """Delete the source's dossiers matching `where`, noting their keys and days in `gone`."""
    found = cur.sql(
        f"DELETE FROM dossier WHERE source = $source AND {where}"
        " RETURNING dossier_id, received_day",
        params=params,
    ).to_arrow_table()
    if found.num_rows:
        cur.register("found", found)
        cur.execute("INSERT INTO gone SELECT dossier_id, received_day FROM found")
        cur.unregister("found")


def _with_local_day(frame: pl.DataFrame) -> pl.DataFrame:
    """Add `received_day`: the local (Asia/Ho_Chi_Minh) calendar day of receipt."""
    return frame.with_columns(
        pl.col("received_at").dt.convert_time_zone(LOCAL_TZ).dt.date().alias("received_day")
    )


def _months(cur, sql: str) -> set[date]:
    return {r[0] for r in cur.execute(sql).fetchall() if r[0] is not None}


def _open_days(cur, source: str, since: datetime | None, now: datetime) -> None:
    """Add the days whose open dossiers fell due since the last refresh (on time → overdue)."""
    cur.execute(
        """INSERT INTO touched_day SELECT DISTINCT received_day FROM dossier
        WHERE source = $source AND completed_at IS NULL AND due_at < $now
          AND ($since IS NULL OR due_at >= $since)""",
        {"source": source, "since": since, "now": now},
    )


def _load_reports(cur, frame: pl.DataFrame, batch_id: int, source: str, old: list[int]) -> None:
    cur.register("incoming_report", frame.to_arrow())
    params = {"source": source}
    cur.execute(
        f"""CREATE OR REPLACE TEMP TABLE touched_period AS
        SELECT DISTINCT unit_code, period_start, grain FROM incoming_report
        UNION SELECT unit_code, period_start, grain FROM report
        WHERE source = $source AND batch_id IN (SELECT unnest({old or [-1]}))""",
        params,
    )
    cur.execute(
        f"""DELETE FROM report r WHERE r.source = $source AND (
            r.batch_id IN (SELECT unnest({old or [-1]})) OR EXISTS (
            SELECT 1 FROM incoming_report i WHERE i.unit_code = r.unit_code
            AND i.period_start = r.period_start AND i.grain = r.grain
            AND i.measure_code = r.measure_code
            AND i.procedure_code IS NOT DISTINCT FROM r.procedure_code))""",
        params,
    )
    cols = ", ".join(REPORT_SCHEMA)
    cur.execute(
        f"""INSERT INTO report ({cols}, source, batch_id)
        SELECT {cols}, $source, {batch_id} FROM incoming_report""",
        params,
    )
    cur.unregister("incoming_report")


def _quarantine(cur, batch_id: int, source: str, bad: pl.DataFrame, now: datetime) -> None:
    if bad.height == 0:
        return
    frame = bad.with_columns(
        pl.lit(batch_id, pl.Int64).alias("batch_id"),
        pl.lit(source).alias("source"),
        pl.lit(now, pl.Datetime("us", "UTC")).alias("quarantined_at"),
    )
    cur.register("incoming_quarantine", frame.to_arrow())
    cur.execute(
        "INSERT INTO quarantine (batch_id, source, raw, reason, quarantined_at)"
        " SELECT batch_id, source, raw, reason, quarantined_at FROM incoming_quarantine"
    )
    cur.unregister("incoming_quarantine")


def _conformed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """`conform`, keeping every row of a frame that lacks some of the schema's columns (a file
    whose header names none of them): each row then fails its checks and is quarantined with
    the reason. (conform's literals would make a frame without one such column a single row.)"""
    missing = [pl.lit(None, t).alias(c) for c, t in schema.items() if c not in frame.columns]
    return conform(frame.with_columns(missing) if missing else frame, schema)


def _newest(
    dossiers: pl.DataFrame | None, reports: pl.DataFrame | None, now: datetime
) -> datetime | None:
    """The newest moment the batch's data describes, never later than `now` (a monthly sheet
    of the current month describes the month so far)."""
    candidates: list[datetime] = []
    if dossiers is not None and dossiers.height:
        latest = dossiers.select(
            pl.max_horizontal("received_at", "completed_at", "updated_at").max()
        ).item()
        candidates.append(latest)
    if reports is not None and reports.height:
        # A report describes its period up to the period's end.
        ends = reports.select(
            pl.struct("period_start", "grain")
            .map_elements(lambda s: bucket_end(s["period_start"], s["grain"]), pl.Date)
            .max()
        ).item()
        candidates.append(datetime(ends.year, ends.month, ends.day, tzinfo=UTC))
    return min(max(candidates), now) if candidates else None


class Loader:
    def __init__(self, db: Database, config: Config):
        self.db, self.config = db, config

    def load(self, batch: Batch, now: datetime | None = None) -> BatchResult:
        now = now or datetime.now(UTC)
        started = time.perf_counter()
        try:
            return self._load(batch, now, started)
        except Exception as exc:
            log.exception("load batch for %s failed", batch.source)
            return self.record_failure(batch, f"{type(exc).__name__}: {exc}", now, started)

    def _load(self, batch: Batch, now: datetime, started: float) -> BatchResult:
        good_d = bad_d = good_r = bad_r = None
        rows = batch.source_rows
        remapped = 0
        if batch.dossiers is not None:
            frame = _conformed(batch.dossiers, DOSSIER_SCHEMA)
            checked = check_dossiers(frame, self.config, now, rows)
            good_d, bad_d, remapped = checked.good, checked.bad, remapped + checked.remapped
        if batch.reports is not None:
            checked = check_reports(_conformed(batch.reports, REPORT_SCHEMA), self.config, rows)
            good_r, bad_r, remapped = checked.good, checked.bad, remapped + checked.remapped
        rejects = pl.DataFrame(
            {"raw": [r.raw for r in batch.rejects], "reason": [r.reason for r in batch.rejects]},
            schema={"raw": pl.String, "reason": pl.String},
        )
        bad = pl.concat([f for f in (rejects, bad_d, bad_r) if f is not None])
        loaded = sum(f.height for f in (good_d, good_r) if f is not None)
        read = batch.rows_read if batch.rows_read is not None else loaded + bad.height
        # Nothing in a load reads rows in insertion order.
        with self.db.transaction(unordered=True) as cur:
            batch_id = _next_batch_id(cur)
            _insert_batch_row(cur, batch_id, batch, now, "running")
            old = _replaced_batches(cur, batch)
            refreshed_key = f"open_refreshed_at:{batch.source}"
            months: set[date] = set()
            rollup_seconds = 0.0
            if good_d is not None:
                _load_dossiers(cur, _with_local_day(good_d), batch_id, batch.source, old)
                t = time.perf_counter()
                # Before the days of dossiers that fell due join: hour facts ignore due times.
                refresh_hours(cur, batch.source, "touched_day")
                rollup_seconds += time.perf_counter() - t
                since = self.db.meta(refreshed_key)
                _open_days(cur, batch.source, since and datetime.fromisoformat(since), now)
                t = time.perf_counter()
                refresh_dossier_days(cur, self.config, batch.source, "touched_day", now)
                rollup_seconds += time.perf_counter() - t
                Database.set_meta(cur, refreshed_key, now.isoformat())
                months |= _months(cur, "SELECT DISTINCT date_trunc('month', day) FROM touched_day")
            if good_r is not None:
                _load_reports(cur, good_r, batch_id, batch.source, old)
                t = time.perf_counter()
                refresh_report_periods(cur, self.config, batch.source, "touched_period")
                rollup_seconds += time.perf_counter() - t
                months |= _months(
                    cur, "SELECT DISTINCT date_trunc('month', period_start) FROM touched_period"
                )
            t = time.perf_counter()
            refresh_months(cur, batch.source, sorted(months))
            rollup_seconds += time.perf_counter() - t
            _quarantine(cur, batch_id, batch.source, bad, now)
            if batch.state is not None:
                cur.execute("DELETE FROM feed_state WHERE source = ?", [batch.source])
                cur.execute(
                    "INSERT INTO feed_state VALUES (?, ?, ?)",
                    [batch.source, json.dumps(batch.state, default=str), now],
                )
            cur.execute(
                """UPDATE load_batch SET finished_at = ?, rows_read = ?, rows_loaded = ?,
                rows_quarantined = ?, rows_remapped = ?, status = 'ok', newest_data_at = ?
                WHERE batch_id = ?""",
                [
                    datetime.now(UTC),
                    read,
                    loaded,
                    bad.height,
                    remapped,
                    _newest(good_d, good_r, now),
                    batch_id,
                ],
            )
            # Every row written or removed, and every open dossier that fell due, touched a
            # month. A run that found nothing new keeps the version: no cache flush, no warm-up.
            if months:
                Database.bump_data_version(cur)
        reasons = dict(bad.group_by("reason").len().iter_rows()) if bad.height else {}
        return BatchResult(
            batch_id,
            batch.source,
            "ok",
            read,
            loaded,
            bad.height,
            None,
            time.perf_counter() - started,
            reasons,
            rollup_seconds,
            remapped,
        )

    def record_failure(
        self, batch: Batch, error: str, now: datetime | None = None, started: float | None = None
    ) -> BatchResult:
        """Record a run that loaded nothing (source down, unreadable file, crash in the load)."""
        now = now or datetime.now(UTC)
        with self.db.transaction() as cur:
            batch_id = _next_batch_id(cur)
            _insert_batch_row(cur, batch_id, batch, now, "failed")
            cur.execute(
                "UPDATE load_batch SET finished_at = ?, error = ?, rows_read = ?, rows_loaded = 0,"
                " rows_quarantined = 0 WHERE batch_id = ?",
                [datetime.now(UTC), error[:2000], batch.rows_read or 0, batch_id],
            )
        seconds = 0.0 if started is None else time.perf_counter() - started
        return BatchResult(
            batch_id, batch.source, "failed", batch.rows_read or 0, error=error, seconds=seconds
        )
