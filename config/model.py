"""Typed, immutable views of the declarative configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Literal

LANGS = ("vi", "en")  # every name and text in the configuration comes in these languages
UNIT_KINDS = ("city", "department", "district", "ward", "commune", "township")
PROCEDURE_LEVELS = ("city", "district", "commune")
FAR_FUTURE = date(9999, 12, 31)


@dataclass(frozen=True)
class Unit:
    """One validity period of a unit: a unit that changes parent has one row per period."""

    code: str
    parent_code: str | None
    kind: str
    name_vi: str
    name_en: str
    valid_from: date
    valid_to: date  # inclusive; FAR_FUTURE when open
    gso_code: str | None = None

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class Sector:
    code: str
    name_vi: str
    name_en: str
    department: str | None = None  # the city department (Sở) that handles the sector

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class Procedure:
    code: str
    sector_code: str
    level: str
    name_vi: str
    name_en: str
    full_process: bool
    fee_bearing: bool
    issues_result: bool
    paper_result: bool
    max_days: int

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class Measure:
    code: str
    name_vi: str
    name_en: str
    dossier_sql: str | None  # None: the measure only comes from report feeds


@dataclass(frozen=True)
class Metric:
    code: str
    name_vi: str
    name_en: str
    type: Literal["ratio", "sum"]
    numerator: str  # for "sum" metrics: the summed measure
    denominator: str | None
    scale: float
    unit: str
    direction: Literal["higher", "lower"]
    decimals: int
    warning_band: float  # distance from target (in the metric's unit) still counted "warning"

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en

    @property
    def measures(self) -> tuple[str, ...]:
        return (self.numerator,) if self.denominator is None else (self.numerator, self.denominator)

    @property
    def is_percent(self) -> bool:
        return self.unit == "%"


@dataclass(frozen=True)
class Target:
    metric: str
    year: int
    unit_code: str | None  # None: city-wide
    value: float
    basis: str


@dataclass(frozen=True)
class Succession:
    """An old unit's successor from the day after the old unit's last day (config/successions.csv).

    The successor with share 1 takes the old unit's whole history in the "today's units" view;
    one with share 0 is listed only so its page can say it was partly formed from the old unit.
    Facts are never split: every old fact counts once, so the city's total is the same in every
    view.
    """

    old_code: str
    new_code: str
    valid_from: date
    share: float


@dataclass(frozen=True)
class Config:
    units: tuple[Unit, ...]
    sectors: dict[str, Sector]
    procedures: dict[str, Procedure]
    measures: dict[str, Measure]
    metrics: dict[str, Metric]
    targets: tuple[Target, ...]
    tilemap: dict[str, tuple[int, int]] = field(default_factory=dict)
    successions: tuple[Succession, ...] = ()

    @property
    def root(self) -> Unit:
        return next(u for u in self.units if u.parent_code is None)

    @cached_property
    def _unit_rows(self) -> dict[str, tuple[Unit, ...]]:
        # Boards look units up per row (targets, names): an index, not a scan of every unit.
        rows: dict[str, list[Unit]] = {}
        for u in self.units:
            rows.setdefault(u.code, []).append(u)
        return {code: tuple(r) for code, r in rows.items()}

    @cached_property
    def targets_by_year(self) -> dict[tuple[str, int], dict[str | None, float]]:
        """(metric, year) → {unit code, or None city-wide: target}, looked up per board row."""
        index: dict[tuple[str, int], dict[str | None, float]] = {}
        for t in self.targets:
            index.setdefault((t.metric, t.year), {})[t.unit_code] = t.value
        return index

    def unit(self, code: str, on: date | None = None) -> Unit:
        """The unit's row valid on `on` (default: its latest row). KeyError if unknown."""
        rows = self._unit_rows[code]
        if on is not None:
            rows = [u for u in rows if u.valid_on(on)] or rows
        return max(rows, key=lambda u: u.valid_from)

    def unit_name(self, code: str, lang: str, on: date | None = None) -> str:
        """The unit's name standing alone (an alert, a list, a grid row): a ward's Vietnamese
        name with its district, "Phường 4, Quận 8", as the English names already are ("Ward 4,
        District 8"). Ward names repeat across districts; beside its district, `name` does."""
        unit = self.unit(code, on)
        if lang == "en" or unit.parent_code is None:
            return unit.name(lang)
        parent = self.unit(unit.parent_code, on)
        return f"{unit.name_vi}, {parent.name_vi}" if parent.kind == "district" else unit.name_vi

    @cached_property
    def _unit_code_set(self) -> frozenset[str]:
        return frozenset(self._unit_rows)

    def unit_codes(self) -> frozenset[str]:
        """Every unit code (built once: boards ask per row)."""
        return self._unit_code_set

    def children(self, code: str, on: date) -> list[Unit]:
        return [u for u in self.units if u.parent_code == code and u.valid_on(on)]

    def ancestors(self, code: str, on: date) -> list[str]:
        """Codes from the unit's parent up to the root, as the hierarchy stood on `on`."""
        chain: list[str] = []
        parent = self.unit(code, on).parent_code
        while parent is not None and parent not in chain:
            chain.append(parent)
            parent = self.unit(parent, on).parent_code
        return chain
