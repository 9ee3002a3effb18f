"""Maintain the `fact` rollup the boards read, inside each load batch's transaction.

Dossier feeds roll up to grain 'day' per (receipt day, unit, procedure, channel); report feeds to
their own grain per (period, unit, procedure). One DOUBLE column per catalog measure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime

import duckdb

from base.tz import LOCAL_OFFSET_SECONDS
from config import Config
from warehouse.db import Database

FACT_KEYS = (
    "source",
    "grain",
    "period_start",
    "unit_code",
    "sector_code",
    "procedure_code",
    "channel",
    "month_start",
    "year",
)


def catalog_fingerprint(config: Config) -> str:
    text = "\n".join(f"{m.code}={m.dossier_sql}" for m in config.measures.values())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def measure_columns(cur: duckdb.DuckDBPyConnection, table: str = "fact") -> list[str]:
    cols = [r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()]
    return [c for c in cols if c not in FACT_KEYS]


def sync_catalog(db: Database, config: Config, as_of: datetime) -> bool:
    """Give `fact` one column per measure; rebuild it when the measures changed. True if rebuilt."""
    fingerprint = catalog_fingerprint(config)
    if db.meta("measures_fingerprint") == fingerprint:
        if db.meta("month_rollup_fingerprint") != fingerprint:  # fact_month is new (006)
            with db.transaction(unordered=True) as cur:
                _sync_columns(cur, config, "fact_month")
                refresh_months(cur, None, None)
                Database.set_meta(cur, "month_rollup_fingerprint", fingerprint)
        return False
    with db.transaction(unordered=True) as cur:
        for table in ("fact", "fact_month"):
            _sync_columns(cur, config, table)
        cur.execute("DELETE FROM fact")
        sources = [r[0] for r in cur.execute("SELECT DISTINCT source FROM dossier").fetchall()]
        for source in sources:
            refresh_dossier_days(cur, config, source, None, as_of)
        for source in [r[0] for r in cur.execute("SELECT DISTINCT source FROM report").fetchall()]:
            refresh_report_periods(cur, config, source, None)
        refresh_months(cur, None, None)
        Database.set_meta(cur, "measures_fingerprint", fingerprint)
        Database.set_meta(cur, "month_rollup_fingerprint", fingerprint)
        Database.bump_data_version(cur)
    return True


def _sync_columns(cur: duckdb.DuckDBPyConnection, config: Config, table: str) -> None:
    existing = set(measure_columns(cur, table))
    for code in config.measures:
        if code not in existing:
            cur.execute(f'ALTER TABLE {table} ADD COLUMN "{code}" DOUBLE')
    for code in existing - set(config.measures):
        cur.execute(f'ALTER TABLE {table} DROP COLUMN "{code}"')


def refresh_months(
    cur: duckdb.DuckDBPyConnection, source: str | None, months: list[date] | None
) -> None:
    """Recompute `fact_month` from `fact` for the `months` (first days; all if None) of
    `source` (all if None).

    Day facts are summed per month and key, grouped also by which measures are null, so that a
    row's "numerator reported / denominator reported" pattern survives the sum and the query's
    sums over the rows where both a ratio's measures are reported give the same totals as over
    the day facts. Coarser report facts are copied as they are.
    """
    measures = measure_columns(cur, "fact_month")
    where = ["true"]
    params: dict = {}
    if source is not None:
        where.append("source = $source")
        params["source"] = source
    if months is not None:
        if not months:
            return
        # The literal bounds let DuckDB skip row groups by their min/max (zone maps).
        where.append("month_start BETWEEN $lo AND $hi AND list_contains($months, month_start)")
        params |= {"lo": min(months), "hi": max(months), "months": sorted(months)}
    cond = " AND ".join(where)
    cur.execute(f"DELETE FROM fact_month WHERE {cond}", params)
    cols = ", ".join(f'"{c}"' for c in measures)
    sums = ", ".join(f'sum("{c}")' for c in measures)
    mask = " + ".join(f'(("{c}" IS NULL)::HUGEINT << {i})' for i, c in enumerate(measures))
    cur.execute(
        f"""
        INSERT INTO fact_month (source, grain, period_start, unit_code, sector_code,
                                procedure_code, channel, month_start, year, {cols})
        SELECT source, grain, CASE WHEN grain = 'day' THEN month_start ELSE period_start END,
               unit_code, sector_code, procedure_code, channel, month_start, year, {sums}
        FROM fact WHERE {cond}
        GROUP BY source, grain, 3, unit_code, sector_code, procedure_code, channel, month_start,
                 year, {mask or "0"}
        """,
        params,
    )


def _dossier_measures(config: Config) -> str:
    parts = []
    for code, m in config.measures.items():
        expr = "NULL" if m.dossier_sql is None else f"sum(CAST(({m.dossier_sql}) AS DOUBLE))"
        parts.append(f'{expr} AS "{code}"')
    return ",\n    ".join(parts)


def _days(
    cur: duckdb.DuckDBPyConnection, days_table: str | None
) -> tuple[dict, Callable[[str], str]] | None:
    """Bound parameters and a filter-maker for the days listed in `days_table` (a table or view
    with one column `day`; every day if None), or None when it lists no day."""
    if days_table is None:
        return {}, lambda column: ""
    lo, hi = cur.execute(f"SELECT min(day), max(day) FROM {days_table}").fetchall()[0]
    if lo is None:
        return None
    # The literal bounds let DuckDB skip row groups by their min/max (zone maps).
    days = f"(SELECT day FROM {days_table})"
    return {"lo": lo, "hi": hi}, lambda c: f"AND {c} BETWEEN $lo AND $hi AND {c} IN {days}"


def refresh_dossier_days(
    cur: duckdb.DuckDBPyConnection,
    config: Config,
    source: str,
    days_table: str | None,
    as_of: datetime,
) -> None:
    """Recompute the day facts of `source` for the days listed in `days_table` (all if None)."""
    days = _days(cur, days_table)
    if days is None:
        return
    bounds, within = days
    params: dict = {"source": source} | bounds
    day_filter = within("received_day")
    cur.execute(
        f"DELETE FROM fact WHERE source = $source AND channel IS NOT NULL {within('period_start')}",
        params,
    )
    cols = ", ".join(f'"{c}"' for c in config.measures)
    # Grouped by the four keys that vary; the others follow from them and are added after:
    # fewer (string) group keys make the aggregation of a large batch ~15% faster.
    cur.execute(
        f"""
        INSERT INTO fact (source, grain, period_start, unit_code, sector_code, procedure_code,
                          channel, month_start, year, {cols})
        SELECT $source, 'day', a.day, a.unit_code, p.sector_code, a.procedure_code, a.channel,
               date_trunc('month', a.day), year(a.day), {", ".join(f'a."{c}"' for c in config.measures)}
        FROM (
            SELECT d.received_day AS day, d.unit_code, d.procedure_code, d.channel,
                   {_dossier_measures(config)}
            FROM dossier d JOIN procedure p ON p.code = d.procedure_code
            WHERE d.source = $source {day_filter}
            GROUP BY d.received_day, d.unit_code, d.procedure_code, d.channel
        ) a JOIN procedure p ON p.code = a.procedure_code
        """,
        params | {"as_of": as_of},
    )


def refresh_report_periods(
    cur: duckdb.DuckDBPyConnection, config: Config, source: str, keys_table: str | None
) -> None:
    """Recompute report facts of `source` for the (unit_code, period_start, grain) keys listed.

    Report facts are the ones with a null channel (dossier facts always have one).
    """
    params = {"source": source}
    if keys_table is None:
        cur.execute("DELETE FROM fact WHERE source = $source AND channel IS NULL", params)
        key_filter = ""
    else:
        cur.execute(
            f"""DELETE FROM fact f USING {keys_table} k
            WHERE f.source = $source AND f.channel IS NULL AND f.unit_code = k.unit_code
              AND f.period_start = k.period_start AND f.grain = k.grain""",
            params,
        )
        key_filter = (
            f"AND EXISTS (SELECT 1 FROM {keys_table} k WHERE k.unit_code = r.unit_code"
            " AND k.period_start = r.period_start AND k.grain = r.grain)"
        )
    pivots = ",\n    ".join(
        f"sum(value) FILTER (WHERE measure_code = '{code}') AS \"{code}\""
        for code in config.measures
    )
    cols = ", ".join(f'"{c}"' for c in config.measures)
    cur.execute(
        f"""
        INSERT INTO fact (source, grain, period_start, unit_code, sector_code, procedure_code,
                          channel, month_start, year, {cols})
        SELECT r.source, r.grain, r.period_start, r.unit_code, p.sector_code, r.procedure_code,
               NULL, date_trunc('month', r.period_start), year(r.period_start),
               {pivots}
        FROM report r LEFT JOIN procedure p ON p.code = r.procedure_code
        WHERE r.source = $source {key_filter}
        GROUP BY ALL
        """,
        params,
    )


# Local wall time is UTC+7 all year (base.tz: no daylight saving since 1975): the hour and minute
# of day follow from the epoch. Office hours are 07:30–17:00 (minutes 450–1019), Monday to Friday.
# The offset is spliced in here and `{where}` left for `.format`; the text, and so the fingerprint
# that decides a rebuild, is the same as when 25200 was written out.
_HOUR_SQL = f"""
INSERT INTO fact_hour (source, day, unit_code, hour, online, dossiers, qr, after_hours)
SELECT d.source, d.received_day, d.unit_code,
       CAST(floor((epoch(d.received_at) + {LOCAL_OFFSET_SECONDS}) / 3600) % 24 AS TINYINT) AS hour,
       d.channel = 'online' AS online, count(*),
       count(*) FILTER (WHERE d.submit_method = 'qr'),
       count(*) FILTER (WHERE isodow(d.received_day) >= 6
           OR CAST(floor((epoch(d.received_at) + {LOCAL_OFFSET_SECONDS}) / 60) AS BIGINT) % 1440
              NOT BETWEEN 450 AND 1019)
FROM dossier d JOIN procedure p ON p.code = d.procedure_code
WHERE p.level = 'commune' {{where}}
GROUP BY d.source, d.received_day, d.unit_code, hour, online
"""
_HOUR_FINGERPRINT = hashlib.sha256(_HOUR_SQL.encode()).hexdigest()[:16]


def refresh_hours(
    cur: duckdb.DuckDBPyConnection, source: str | None, days_table: str | None
) -> None:
    """Recompute the hour facts (`fact_hour`) of `source` (all if None) for the days listed in
    `days_table` (all if None)."""
    days = _days(cur, days_table)
    if days is None:
        return
    bounds, within = days
    params = bounds | ({} if source is None else {"source": source})
    by_source = "" if source is None else "AND source = $source"
    cur.execute(f"DELETE FROM fact_hour WHERE true {by_source} {within('day')}", params)
    cur.execute(_HOUR_SQL.format(where=f"{by_source} {within('received_day')}"), params)


def sync_hours(db: Database) -> bool:
    """Fill `fact_hour` whole when it is new or its definition changed. True if it was."""
    if db.meta("hour_rollup_fingerprint") == _HOUR_FINGERPRINT:
        return False
    with db.transaction(unordered=True) as cur:
        refresh_hours(cur, None, None)
        Database.set_meta(cur, "hour_rollup_fingerprint", _HOUR_FINGERPRINT)
        Database.bump_data_version(cur)
    return True
