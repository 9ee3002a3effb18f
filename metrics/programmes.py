"""Reads for the city's digital-government programmes (issue 8) that the `fact` rollup cannot
answer: the hour-of-week heat map of commune dossiers, the DTI table per department, forms per
procedure against the reduction target, and the business-registry integration's freshness.

Rates that the catalog can express (QR share, after-hours share, reuse rates, e-result-only
rate) go through `metrics.query` like every other metric. Every query here is one statement with
bound parameters; no caller text is formatted into SQL. Times are Asia/Ho_Chi_Minh (UTC+7, no
daylight saving); office hours are 07:30–17:00, Monday to Friday (17:00 itself is after hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import duckdb
import polars as pl

from config import Config
from metrics import scope as _scope
from metrics.query import cached
from metrics.targets import target_for
from warehouse.db import NEWEST_BATCH_SQL, until_commit
from warehouse.db import frame as frame_of

OFFICE_OPEN = time(7, 30)
OFFICE_CLOSE = time(17, 0)
DTI_COMPONENTS = (
    "dti_awareness",
    "dti_institutions",
    "dti_infrastructure",
    "dti_human_resources",
    "dti_security",
    "dti_operations",
)
FORM_TARGET_METRIC = "form_field_reduction"
REGISTRY_MEASURE = "registry_records_synced"


def is_after_hours(local: datetime) -> bool:
    """Outside 07:30–17:00 on a weekday, or any time on Saturday or Sunday (local wall time)."""
    if local.weekday() >= 5:
        return True
    return not (OFFICE_OPEN <= local.time() < OFFICE_CLOSE)


# ---- 1. QR at communes: hour-of-week heat map ------------------------------------------------

# From the hour rollup (warehouse/rollup.py: fact_hour), which counts after hours by the minute.
_HEATMAP_SQL = """
SELECT CAST(isodow(h.day) - 1 AS INTEGER) AS weekday, CAST(h.hour AS INTEGER) AS hour,
       sum(h.dossiers) AS dossiers, sum(h.qr) AS qr, sum(h.after_hours) AS after_hours
FROM fact_hour h
JOIN unit_tree s ON s.descendant = h.unit_code AND s.ancestor = $scope
     AND h.day BETWEEN s.valid_from AND s.valid_to
WHERE h.day BETWEEN $start AND $end AND ($online_only = false OR h.online)
GROUP BY ALL
"""


@dataclass(frozen=True)
class HourOfWeek:
    """Dossier counts per (weekday 0 = Monday … 6 = Sunday, local hour 0–23)."""

    dossiers: list[list[int]]  # [weekday][hour]
    qr: list[list[int]]
    total: int
    after_hours: int

    @property
    def after_hours_share(self) -> float | None:
        return 100.0 * self.after_hours / self.total if self.total else None


def hour_of_week(
    cur: duckdb.DuckDBPyConnection,
    scope: str,
    start: date,
    end: date,
    online_only: bool = False,
) -> HourOfWeek:
    """Commune-level dossiers of `scope`'s subtree received from `start` to `end` (local days,
    inclusive), counted per weekday and local hour. An hour cell counts as after hours when the
    office is closed for the whole hour; 07:00–08:00 holds both (07:30 opens), so `after_hours`
    is counted by the minute in SQL, not from the cells."""
    _scope.check_code(scope)  # who may read it: before any SQL
    params = {"scope": scope, "start": start, "end": end, "online_only": online_only}
    cells = cached(
        cur, None, ("hour_of_week", *sorted(params.items())),
        lambda: frame_of(cur, _HEATMAP_SQL, params),
    )  # fmt: skip
    dossiers = [[0] * 24 for _ in range(7)]
    qr = [[0] * 24 for _ in range(7)]
    for weekday, hour, n, q, _ in cells.iter_rows():
        dossiers[weekday][hour], qr[weekday][hour] = int(n), int(q)
    after = cells["after_hours"].sum() if cells.height else 0
    total = sum(map(sum, dossiers))
    return HourOfWeek(dossiers, qr, total, int(after or 0))


# ---- 2. DTI per department -------------------------------------------------------------------


_DTI_MEASURES = ("dti_points", "dti_max_points", *DTI_COMPONENTS)
_DTI_SCHEMA = {"unit_code": pl.String, "period_start": pl.Date, "grain": pl.String,
               "dti": pl.Float64, **{c: pl.Float64 for c in DTI_COMPONENTS},
               "dti_prev": pl.Float64, "dti_change": pl.Float64}  # fmt: skip


def dti_periods(frame: pl.DataFrame, grain: str) -> pl.DataFrame:
    """Every department's dti per period, from its long (unit_code, period_start, measure_code,
    value) report rows: the columns of `dti_table`, by unit then period."""
    if frame.height == 0:
        return pl.DataFrame(schema=_DTI_SCHEMA)
    wide = frame.pivot(on="measure_code", index=["unit_code", "period_start"], values="value")
    for m in _DTI_MEASURES:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(m))
    wide = wide.with_columns(
        (100 * pl.col("dti_points") / pl.when(pl.col("dti_max_points") > 0)
         .then(pl.col("dti_max_points"))).alias("dti"),
    ).sort("unit_code", "period_start")  # fmt: skip
    wide = wide.with_columns(pl.col("dti").shift(1).over("unit_code").alias("dti_prev"))
    return wide.with_columns(
        pl.lit(grain).alias("grain"), (pl.col("dti") - pl.col("dti_prev")).alias("dti_change")
    ).select(list(_DTI_SCHEMA))


def dti_table(
    cur: duckdb.DuckDBPyConnection,
    grain: str = "quarter",
    period: date | None = None,
    all_periods: bool = False,
) -> pl.DataFrame:
    """One row per department for `period` (default: the newest period of `grain` reported),
    best first: unit_code, period_start, grain, dti (points of 100), the component points, and
    the department's previous reported period's dti with the change (`dti_prev`, `dti_change`).
    `all_periods`: every period, oldest first. Null is "not reported", never 0.

    Cached per warehouse data version (every report batch bumps it)."""

    def compute() -> pl.DataFrame:
        frame = cur.sql(
            """SELECT r.unit_code, r.period_start, r.measure_code, max(r.value) AS value
            FROM report r JOIN unit u ON u.code = r.unit_code AND u.kind = 'department'
            WHERE r.grain = $grain AND list_contains($measures, r.measure_code)
            GROUP BY ALL""",
            params={"grain": grain, "measures": list(_DTI_MEASURES)},
        ).pl()
        return dti_of_period(dti_periods(frame, grain), period, all_periods)

    return cached(cur, None, ("dti_table", grain, period, all_periods), compute)


def dti_of_period(wide: pl.DataFrame, period: date | None, all_periods: bool) -> pl.DataFrame:
    """`dti_table`'s rows of `dti_periods`: one period best first, or every period."""
    if all_periods:
        return wide.sort("period_start", "unit_code")
    if wide.height == 0:
        return wide
    chosen = period if period is not None else wide["period_start"].max()
    out = wide.filter(pl.col("period_start") == chosen)
    return out.sort("dti", "unit_code", descending=[True, False], nulls_last=True)


# ---- 3. Simpler forms ------------------------------------------------------------------------


def form_fields(
    cur: duckdb.DuckDBPyConnection, config: Config, year: int, department: str | None = None
) -> pl.DataFrame:
    """Per procedure for `year`: department, fields before/after reuse, removed, reduction (%),
    the target (%) and `short` (reduction below target). Worst first. `department` narrows to the
    procedures the department reports."""
    _scope.check_unit(config, department)  # None: the whole city; before any SQL or cache
    target = target_for(config, FORM_TARGET_METRIC, year, department or config.root.code)

    def compute() -> pl.DataFrame:
        frame = cur.sql(
            """SELECT procedure_code, unit_code AS department,
                      max(value) FILTER (WHERE measure_code = 'form_fields_before') AS fields_before,
                      max(value) FILTER (WHERE measure_code = 'form_fields_after') AS fields_after,
                      max(value) FILTER (WHERE measure_code = 'form_fields_removed') AS fields_removed
            FROM report
            WHERE grain = 'year' AND period_start = $year_start AND procedure_code IS NOT NULL
              AND measure_code IN ('form_fields_before', 'form_fields_after', 'form_fields_removed')
              AND ($department IS NULL OR unit_code = $department)
            GROUP BY ALL""",
            params={"year_start": date(year, 1, 1), "department": department},
        ).pl()
        return form_reduction(frame, target)

    # Cached per warehouse data version (every report batch bumps it) and configuration (the target).
    return cached(cur, config, ("form_fields", year, department), compute)


def form_reduction(frame: pl.DataFrame, target: float | None) -> pl.DataFrame:
    """Per-procedure fields before/after/removed → reduction (%), target and `short`, worst first."""
    frame = frame.with_columns(
        (100 * pl.col("fields_removed") / pl.when(pl.col("fields_before") > 0)
         .then(pl.col("fields_before"))).alias("reduction"),
        pl.lit(target, pl.Float64).alias("target"),
    )  # fmt: skip
    frame = frame.with_columns(
        (pl.col("reduction") < pl.col("target")).fill_null(False).alias("short")
    )
    return frame.sort("reduction", "procedure_code", nulls_last=True)


# ---- 4. Business registry integration freshness ------------------------------------------------


@dataclass(frozen=True)
class RegistrySync:
    sources: tuple[str, ...]  # the feeds that deliver the registry's sync log
    last_success_at: datetime | None  # newest successful run of any of them
    newest_day: date | None  # newest day the sync log covers
    last_error: str | None  # the newest run's error, when it failed


_REGISTRY_SQL = """
WITH src AS (SELECT DISTINCT source FROM report WHERE measure_code = $m),
     runs AS (SELECT * FROM load_batch WHERE source IN (SELECT source FROM src))
SELECT (SELECT list(source ORDER BY source) FROM src) AS sources,
       (SELECT max(finished_at) FILTER (WHERE status = 'ok') FROM runs) AS last_success_at,
       (SELECT arg_max(error, batch_id) FROM runs) AS last_error,
       (SELECT max(period_start) FROM report WHERE measure_code = $m) AS newest_day
"""


def registry_sync(cur: duckdb.DuckDBPyConnection) -> RegistrySync:
    """How fresh the national business-registry integration is (from its feeds' load batches).

    One statement, cached per warehouse data version and newest load batch: a failed run (its
    error is `last_error`) is recorded without bumping the data version, but with a batch id."""
    newest_batch = until_commit(cur, NEWEST_BATCH_SQL)
    frame = cached(cur, None, ("registry_sync", newest_batch),
                   lambda: frame_of(cur, _REGISTRY_SQL, {"m": REGISTRY_MEASURE}))  # fmt: skip
    sources, last_ok, last_error, newest = frame.row(0)
    if not sources:
        return RegistrySync((), None, None, None)
    if last_ok is not None and last_ok.tzinfo is None:
        last_ok = last_ok.replace(tzinfo=UTC)
    return RegistrySync(tuple(sources), last_ok, newest, last_error)


def sync_age(sync: RegistrySync, now: datetime | None = None) -> timedelta | None:
    if sync.last_success_at is None:
        return None
    return (now or datetime.now(UTC)) - sync.last_success_at
