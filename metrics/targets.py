"""Targets by metric and year, city-wide with per-unit overrides, and the status against them."""

from __future__ import annotations

from datetime import date
from typing import Literal

from config import Config, Metric

Status = Literal["ok", "warning", "critical", "no_data", "no_target"]


def target_for(config: Config, metric: str, year: int, unit_code: str | None) -> float | None:
    """The unit's own target, else its nearest ancestor's, else the city-wide one, else None."""
    by_unit = config.targets_by_year.get((metric, year))
    if not by_unit:
        return None
    if unit_code is not None:
        try:
            chain = [unit_code, *config.ancestors(unit_code, date(year, 12, 31))]
        except KeyError:
            chain = []
        for code in chain:
            if code in by_unit:
                return by_unit[code]
    return by_unit.get(None)


def status(metric: Metric, value: float | None, target: float | None) -> Status:
    """On target, within the metric's warning band of it, or further off (in its direction)."""
    if value is None:
        return "no_data"
    if target is None:
        return "no_target"
    shortfall = (target - value) if metric.direction == "higher" else (value - target)
    if shortfall <= 0:
        return "ok"
    return "warning" if shortfall <= metric.warning_band else "critical"
