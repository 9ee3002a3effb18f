"""Year-end projection of a metric per unit: will the unit reach this year's target?

The model, in one paragraph (shown to users as is): take the metric's monthly values for the
last `lookback` closed months (each month a ratio of sums, as everywhere); fit a straight line
by ordinary least squares, value = a + b × month; extend it to December of the target year.
The interval is the line's 80 % prediction interval at December (Student t with n − 2 degrees
of freedom × the residual standard error, widened for the distance from the data's centre).
Rates are clamped to 0–100 %. A unit is *at risk* when the projected value misses the target
in the metric's direction; *off track* when even the favourable end of the interval misses it,
*on track* otherwise. Fewer than `MIN_POINTS` months → no projection.

Months are local calendar months (Asia/Ho_Chi_Minh); the current, unfinished month is left out
(a month to date is not comparable with full months).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from base.calendar import add_months
from config import Config
from metrics.query import query
from metrics.targets import target_for

MIN_POINTS = 4
# Two-sided 80 % Student t quantiles (0.9 one-sided) by degrees of freedom; ∞ → 1.2816.
_T90 = {1: 3.078, 2: 1.886, 3: 1.638, 4: 1.533, 5: 1.476, 6: 1.440, 7: 1.415, 8: 1.397,
        9: 1.383, 10: 1.372, 12: 1.356, 15: 1.341, 20: 1.325, 30: 1.310}  # fmt: skip


def _t(df: int) -> float:
    for k in sorted(_T90):
        if df <= k:
            return _T90[k]
    return 1.2816


@dataclass(frozen=True)
class Forecast:
    """A year-end projection of one metric for one unit.

    `months`/`values`: the monthly history used (month start dates, values in the metric's
    unit); `line`: (month start, fitted value, low, high) from the first history month to
    December — what the drill-down chart draws as a dashed line with a band (empty from
    `forecasts_by_unit`, whose projections are listed, not drawn).
    """

    metric: str
    unit_code: str
    year: int
    months: tuple[date, ...]
    values: tuple[float, ...]
    slope_per_month: float
    projected: float  # the line's value for December of `year`
    low: float
    high: float
    target: float | None
    status: str  # on_track | at_risk | off_track | no_target
    line: tuple[tuple[date, float, float, float], ...]
    explanation: str

    @property
    def at_risk(self) -> bool:
        return self.status in ("at_risk", "off_track")


def _fit(xs: list[float], ys: list[float]):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    a = my - b * mx
    resid = [y - (a + b * x) for x, y in zip(xs, ys, strict=True)]
    s = math.sqrt(sum(r * r for r in resid) / (n - 2)) if n > 2 else 0.0
    return a, b, s, mx, sxx


def project(
    metric_code: str,
    unit_code: str,
    year: int,
    months: list[date],
    values: list[float],
    config: Config,
    target: float | None = None,
    drawn: bool = True,
) -> Forecast | None:
    """The projection from a monthly series (pure; `forecast` reads the series for you), with
    its `line` if `drawn` (the line was ~40% of the time of the alerts page's 350 projections)."""
    pairs = [(m, v) for m, v in zip(months, values, strict=True) if v is not None]
    if len(pairs) < MIN_POINTS:
        return None
    metric = config.metrics[metric_code]
    origin = pairs[0][0]

    def idx(m: date) -> float:
        return (m.year - origin.year) * 12 + m.month - origin.month

    xs = [idx(m) for m, _ in pairs]
    ys = [float(v) for _, v in pairs]
    a, b, s, mx, sxx = _fit(xs, ys)
    n = len(xs)
    t = _t(n - 2)
    lo_cap, hi_cap = (0.0, 100.0) if metric.is_percent else (0.0, math.inf)

    def band(x: float) -> tuple[float, float, float]:
        y = a + b * x
        half = t * s * math.sqrt(1 + 1 / n + ((x - mx) ** 2 / sxx if sxx else 0))
        clamp = lambda v: min(max(v, lo_cap), hi_cap)
        return clamp(y), clamp(y - half), clamp(y + half)

    december = date(year, 12, 1)
    line = []
    m = origin
    while drawn and m <= december:
        line.append((m, *band(idx(m))))
        m = add_months(m, 1)
    projected, low, high = band(idx(december))
    if target is None:
        status = "no_target"
    else:
        higher = metric.direction == "higher"
        meets = (lambda v: v >= target) if higher else (lambda v: v <= target)
        favourable = high if higher else low
        status = (
            "on_track" if meets(projected) else ("at_risk" if meets(favourable) else "off_track")
        )
    unit = metric.unit if not metric.is_percent else "points"
    explanation = (
        f"Linear trend over {n} months ({pairs[0][0]:%m/%Y}–{pairs[-1][0]:%m/%Y}): "
        f"{b:+.2f} {unit} a month; December {year}: {projected:.1f} "
        f"(80% interval {low:.1f}–{high:.1f})"
        + (f" against a target of {target:g}." if target is not None else "; no target.")
    )
    return Forecast(
        metric_code, unit_code, year, tuple(m for m, _ in pairs), tuple(ys), b,
        projected, low, high, target, status, tuple(line), explanation,
    )  # fmt: skip


def forecast_units(
    cur: duckdb.DuckDBPyConnection,
    config: Config,
    metric: str,
    today: date,
    unit: str | None = None,
    unit_kind: str | None = None,
    lookback: int = 12,
) -> dict[str, Forecast | None]:
    """Year-end projections for `today.year`, one query for all units.

    With `unit_kind`: every unit of that kind (within `unit`'s subtree if given); otherwise the
    children of `unit` (default the city) — the same grouping as `metrics.query(by=["unit"])`.
    Returns unit code → Forecast (None where fewer than MIN_POINTS months have data).
    """
    return forecasts_by_unit(cur, config, [metric], today, unit, unit_kind, lookback)[metric]


def forecasts_by_unit(
    cur: duckdb.DuckDBPyConnection,
    config: Config,
    metrics: list[str],
    today: date,
    unit: str | None = None,
    unit_kind: str | None = None,
    lookback: int = 12,
) -> dict[str, dict[str, Forecast | None]]:
    """`forecast_units` of several metrics from one request: metric → unit code → Forecast (the
    alerts page's 11 metrics as 11 statements were ~20 ms each)."""
    first, last_day = _window(today, lookback)
    filters = {"unit": unit, "unit_kind": unit_kind}
    frame = query(cur, config, metrics, "month", first, last_day, filters, by=["unit"],
                  targets=False)  # fmt: skip
    by_unit = frame.sort("unit_code", "period").partition_by("unit_code", as_dict=True)
    # One pass per unit: a filter per unit was ~0.5 ms each.
    return {m: {code: _projected(config, m, code, today, rows, drawn=False)
                for (code,), rows in by_unit.items()} for m in metrics}  # fmt: skip


def forecast(
    cur: duckdb.DuckDBPyConnection,
    config: Config,
    metric: str,
    unit_code: str,
    today: date,
    lookback: int = 12,
    sectors: list[str] | tuple[str, ...] = (),
    procedures: list[str] | tuple[str, ...] = (),
) -> Forecast | None:
    """Year-end projection of `metric` for one unit (its whole subtree), for `today.year`;
    only the dossiers of `sectors`/`procedures` if given (against the unit's target).

    What the drill-down chart calls: draw `line` (month, value, low, high) as a dashed
    projection with its band, and say `status`/`explanation` beside it.
    """
    return forecasts(cur, config, [metric], unit_code, today, lookback, sectors, procedures)[metric]


def forecasts(
    cur: duckdb.DuckDBPyConnection,
    config: Config,
    metrics: list[str],
    unit_code: str,
    today: date,
    lookback: int = 12,
    sectors: list[str] | tuple[str, ...] = (),
    procedures: list[str] | tuple[str, ...] = (),
) -> dict[str, Forecast | None]:
    """`forecast` of several metrics from one request: metric → Forecast."""
    first, last_day = _window(today, lookback)
    filters = {"unit": unit_code, "sectors": list(sectors), "procedures": list(procedures)}
    frame = query(cur, config, metrics, "month", first, last_day, filters, targets=False)
    frame = frame.sort("period")
    return {m: _projected(config, m, unit_code, today, frame) for m in metrics}


def _window(today: date, lookback: int) -> tuple[date, date]:
    """The `lookback` closed months before `today`'s: (first day, last day)."""
    return add_months(today.replace(day=1), -lookback), today.replace(day=1) - timedelta(days=1)


def _projected(
    config: Config, metric: str, unit_code: str, today: date, rows, drawn: bool = True
) -> Forecast | None:
    return project(metric, unit_code, today.year, rows["period"].to_list(), rows[metric].to_list(),
                   config, target_for(config, metric, today.year, unit_code), drawn)  # fmt: skip
