"""The metrics query: catalog metrics over the `fact` rollup, as polars frames.

Every rate is a ratio of sums at every level (a district's rate is its wards' numerators summed
over their denominators summed), written once here as `num / NULLIF(den, 0)`: a zero or missing
denominator is null ("no data"), never 0 or NaN. A row whose numerator is null (a report feed that
did not report it) leaves the denominator too, so both sums cover the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import duckdb
import polars as pl

from config import Config
from metrics.periods import (
    FITS_IN,
    QUERY_GRAINS,
    add_months,
    bucket_sql,
    bucket_start,
    previous_range,
)
from metrics.targets import target_for

DIMENSIONS = {
    "unit": "g.group_unit",
    "sector": "f.sector_code",
    "procedure": "f.procedure_code",
    "channel": "f.channel",
    "source": "f.source",
}
DIMENSION_COLUMNS = {
    "unit": "unit_code",
    "sector": "sector_code",
    "procedure": "procedure_code",
    "channel": "channel",
    "source": "source",
}
OFFSETS = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}


class QueryError(ValueError):
    """A request naming something that does not exist (shown to the user as is)."""


@dataclass(frozen=True)
class Filters:
    unit: str | None = None  # the unit and its whole subtree (default: the city)
    sectors: tuple[str, ...] = ()
    procedures: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    unit_kind: str | None = None  # with by=unit: group by the units of this kind in scope

    @classmethod
    def of(cls, value: Filters | dict[str, Any] | None) -> Filters:
        if value is None or isinstance(value, Filters):
            return value or cls()
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise QueryError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        return cls(
            **{k: (tuple(v) if isinstance(v, list | tuple | set) else v) for k, v in value.items()}
        )


@dataclass(frozen=True)
class Request:
    metrics: tuple[str, ...]
    grain: str
    start: date
    end: date  # inclusive
    filters: Filters = field(default_factory=Filters)
    by: tuple[str, ...] = ()


def validate(config: Config, req: Request) -> None:
    for m in req.metrics:
        if m not in config.metrics:
            raise QueryError(f"unknown metric {m!r}")
    if req.grain not in QUERY_GRAINS:
        raise QueryError(f"unknown grain {req.grain!r} (one of {', '.join(QUERY_GRAINS)})")
    for d in req.by:
        if d not in DIMENSIONS:
            raise QueryError(f"cannot group by {d!r} (one of {', '.join(DIMENSIONS)})")
    f = req.filters
    if f.unit is not None and f.unit not in config.unit_codes():
        raise QueryError(f"unknown unit {f.unit!r}")
    for code in f.procedures:
        if code not in config.procedures:
            raise QueryError(f"unknown procedure {code!r}")
    for code in f.sectors:
        if code not in config.sectors:
            raise QueryError(f"unknown sector {code!r}")
    if req.end < req.start:
        raise QueryError("the end date is before the start date")


def _metric_sums(config: Config, metrics: tuple[str, ...]) -> list[str]:
    parts: list[str] = []
    for code in metrics:
        m = config.metrics[code]
        if m.denominator is None:
            parts.append(f'sum(f."{m.numerator}") AS "{code}"')
        else:
            num, den = f'f."{m.numerator}"', f'f."{m.denominator}"'
            parts.append(f'sum({num}) FILTER (WHERE {den} IS NOT NULL) AS "{code}_num"')
            parts.append(f'sum({den}) FILTER (WHERE {num} IS NOT NULL) AS "{code}_den"')
    return parts


def _metric_values(config: Config, metrics: tuple[str, ...]) -> list[str]:
    parts: list[str] = []
    for code in metrics:
        m = config.metrics[code]
        if m.denominator is not None:
            parts.append(f'{m.scale} * "{code}_num" / NULLIF("{code}_den", 0) AS "{code}"')
    return parts


_GROUPS_CHILDREN = """
    SELECT t.descendant, c.descendant AS group_unit,
           greatest(t.valid_from, c.valid_from) AS vf, least(t.valid_to, c.valid_to) AS vt
    FROM unit_tree c JOIN unit_tree t ON t.ancestor = c.descendant
    WHERE c.ancestor = $scope AND c.distance = 1
    UNION ALL SELECT $scope, $scope, DATE '0001-01-01', DATE '9999-12-31'"""
_GROUPS_OF_KIND = """
    SELECT t.descendant, t.ancestor AS group_unit, t.valid_from AS vf, t.valid_to AS vt
    FROM unit_tree t WHERE t.ancestor IN (SELECT code FROM unit WHERE kind = $unit_kind)"""


def build_sql(config: Config, req: Request) -> tuple[str, dict[str, Any]]:
    """The one SQL statement (and its parameters) behind a request. No user text is inlined."""
    f = req.filters
    params: dict[str, Any] = {
        "scope": f.unit or config.root.code,
        "start": req.start,
        "end": req.end,
        "grains": list(FITS_IN[req.grain]),
    }
    period = "$start" if req.grain == "total" else bucket_sql(req.grain)
    dims = [f"{DIMENSIONS[d]} AS {DIMENSION_COLUMNS[d]}" for d in req.by]
    where = ["f.period_start BETWEEN $start AND $end", "list_contains($grains, f.grain)"]
    for name, column, values in (
        ("sectors", "f.sector_code", f.sectors),
        ("procedures", "f.procedure_code", f.procedures),
        ("channels", "f.channel", f.channels),
        ("sources", "f.source", f.sources),
    ):
        if values:
            params[name] = list(values)
            where.append(f"list_contains(${name}, {column})")
    joins = [
        ("JOIN unit_tree s ON s.descendant = f.unit_code AND s.ancestor = $scope"
        " AND f.period_start BETWEEN s.valid_from AND s.valid_to")
    ]
    ctes = ""
    if "unit" in req.by:
        if f.unit_kind:
            params["unit_kind"] = f.unit_kind
        ctes = f"WITH grp AS ({_GROUPS_OF_KIND if f.unit_kind else _GROUPS_CHILDREN})\n"
        joins.append(
            "JOIN grp g ON g.descendant = f.unit_code AND f.period_start BETWEEN g.vf AND g.vt"
        )
    select = [f"{period} AS period", *dims, *_metric_sums(config, req.metrics)]
    inner = (
        f"{ctes}SELECT {', '.join(select)}\nFROM fact f\n"
        + "\n".join(joins)
        + f"\nWHERE {' AND '.join(where)}\nGROUP BY ALL"
    )
    values = _metric_values(config, req.metrics)
    sql = f"SELECT *{''.join(', ' + v for v in values)} FROM ({inner}) ORDER BY ALL"
    return sql, params


def run(con: duckdb.DuckDBPyConnection, config: Config, req: Request) -> pl.DataFrame:
    validate(config, req)
    sql, params = build_sql(config, req)
    frame = con.sql(sql, params=params).pl()
    return frame.with_columns(pl.col("period").cast(pl.Date))


def _with_comparisons(
    con: duckdb.DuckDBPyConnection, config: Config, req: Request, base: pl.DataFrame
) -> pl.DataFrame:
    keys = ["period", *(DIMENSION_COLUMNS[d] for d in req.by)]
    values = list(req.metrics)
    if req.grain == "total":
        prev_start, prev_end = previous_range(req.start, req.end)
        prev = run(con, config, replace(req, start=prev_start, end=prev_end))
        yoy = run(
            con,
            config,
            replace(req, start=add_months(req.start, -12), end=add_months(req.end, -12)),
        )
        shifted = {
            k: v.with_columns(pl.lit(req.start).alias("period"))
            for k, v in (("prev", prev), ("yoy", yoy))
        }
    else:
        # One query over the year before as well, then each bucket meets its predecessors.
        first = bucket_start(req.start, req.grain)
        history_start = (
            first - timedelta(weeks=53) if req.grain == "week" else add_months(first, -12)
        )
        history = run(con, config, replace(req, start=history_start))
        year = "52w" if req.grain == "week" else "1y"
        shifted = {
            "prev": history.with_columns(pl.col("period").dt.offset_by(OFFSETS[req.grain])),
            "yoy": history.with_columns(pl.col("period").dt.offset_by(year)),
        }
    for suffix, frame in shifted.items():
        renamed = frame.select(keys + values).rename({v: f"{v}_{suffix}" for v in values})
        base = base.join(renamed, on=keys, how="left", nulls_equal=True)
    return base


def _with_targets(config: Config, req: Request, frame: pl.DataFrame) -> pl.DataFrame:
    scope = req.filters.unit or config.root.code
    units = (
        frame["unit_code"] if "unit_code" in frame.columns else pl.Series([scope] * frame.height)
    )
    years = frame["period"].dt.year() if frame.height else pl.Series([], dtype=pl.Int32)
    pairs = set(zip(units.to_list(), years.to_list(), strict=True))
    for code in req.metrics:
        lookup = {pair: target_for(config, code, pair[1], pair[0]) for pair in pairs}
        targets = [lookup[p] for p in zip(units.to_list(), years.to_list(), strict=True)]
        frame = frame.with_columns(pl.Series(f"{code}_target", targets, dtype=pl.Float64))
        frame = frame.with_columns((pl.col(code) - pl.col(f"{code}_target")).alias(f"{code}_gap"))
    return frame


def query(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    metrics: list[str] | tuple[str, ...],
    grain: str,
    start: date,
    end: date,
    filters: Filters | dict[str, Any] | None = None,
    by: list[str] | tuple[str, ...] = (),
    compare: bool = False,
    targets: bool = True,
) -> pl.DataFrame:
    """Metrics per calendar bucket (local time) and group, from `start` to `end` inclusive.

    Columns: `period` (bucket start date; `start` for grain "total"), one column per `by`
    dimension (`unit_code`, `sector_code`, `procedure_code`, `channel`, `source`), and per metric
    `<m>` plus, for ratios, `<m>_num`/`<m>_den`. With `compare`: `<m>_prev` (the bucket or range
    before) and `<m>_yoy` (a year before). With `targets`: `<m>_target` and `<m>_gap` (value −
    target, in the metric's unit). `by=["unit"]` groups by the children of the filtered unit (its
    own dossiers under its own code), or by the units of `filters["unit_kind"]`.
    """
    req = Request(tuple(metrics), grain, start, end, Filters.of(filters), tuple(by))
    frame = run(con, config, req)
    if compare:
        frame = _with_comparisons(con, config, req, frame)
    if targets:
        frame = _with_targets(config, req, frame)
    return frame


def rank_units(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    metric: str,
    start: date,
    end: date,
    filters: Filters | dict[str, Any] | None = None,
) -> pl.DataFrame:
    """Units of the scope ranked best first on `metric` over the range; no-data units last."""
    frame = query(con, config, [metric], "total", start, end, filters, by=["unit"])
    descending = config.metrics[metric].direction == "higher"
    ranked = frame.sort(metric, descending=descending, nulls_last=True)
    return ranked.with_row_index("rank", offset=1)
