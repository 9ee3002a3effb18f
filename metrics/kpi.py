"""Headline KPI figures for tiles: month to date against target and the same days a month ago."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from config import Config
from metrics.query import query
from metrics.targets import Status, status

HEADLINE = (
    "online_rate",
    "full_process_rate",
    "on_time_rate",
    "record_digitization_rate",
    "result_digitization_rate",
    "e_result_rate",
    "data_reuse_rate",
    "online_payment_rate",
)


@dataclass(frozen=True)
class Kpi:
    metric: str
    value: float | None
    numerator: float | None
    denominator: float | None
    target: float | None
    previous: float | None
    year_ago: float | None
    status: Status
    start: date
    end: date

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def kpis(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    today: date,
    metrics: tuple[str, ...] = HEADLINE,
    unit: str | None = None,
) -> list[Kpi]:
    """Month to date (1st → `today`, local) for `unit` (default the city), one query per range."""
    start = today.replace(day=1)
    frame = query(con, config, metrics, "total", start, today, {"unit": unit}, compare=True)
    row = frame.row(0, named=True) if frame.height else {}
    out = []
    for code in metrics:
        m = config.metrics[code]
        value = row.get(code)
        target = row.get(f"{code}_target")
        out.append(
            Kpi(
                metric=code,
                value=value,
                numerator=row.get(f"{code}_num", value if m.denominator is None else None),
                denominator=row.get(f"{code}_den"),
                target=target,
                previous=row.get(f"{code}_prev"),
                year_ago=row.get(f"{code}_yoy"),
                status=status(m, value, target),
                start=start,
                end=today,
            )
        )
    return out
