"""Read and validate the declarative configuration in `config/`.

Every problem raises ConfigError naming the file, the row (CSV line number) or key, and what is
wrong, so the app refuses to start rather than run half-configured.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterator
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

from config.model import (
    FAR_FUTURE,
    PROCEDURE_LEVELS,
    UNIT_KINDS,
    Config,
    Measure,
    Metric,
    Procedure,
    Sector,
    Succession,
    Target,
    Unit,
)

CONFIG_DIR = Path(__file__).resolve().parent
TARGET_YEARS = range(2020, 2041)


class ConfigError(ValueError):
    def __init__(self, file: Path | str, where: str, message: str):
        self.file, self.where = Path(file).name, where
        super().__init__(f"{self.file}: {where}: {message}")


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    if not path.exists():
        raise ConfigError(path, "file", "is missing")
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(path, "header", f"missing column(s) {', '.join(missing)}")
        for row in reader:
            yield f"line {reader.line_num}", {k: (v or "").strip() for k, v in row.items() if k}


def _bool(path: Path, where: str, key: str, value: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ConfigError(path, where, f"{key} must be true or false, not {value!r}")


def _date(path: Path, where: str, key: str, value: str, default: date | None = None) -> date:
    if not value and default is not None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(path, where, f"{key} must be a date YYYY-MM-DD, not {value!r}") from None


def _number(path: Path, where: str, key: str, value: str, kind: type = float):
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(path, where, f"{key} must be a number, not {value!r}") from None


def _need(path: Path, where: str, row: dict[str, str], *keys: str) -> None:
    for key in keys:
        if not row.get(key):
            raise ConfigError(path, where, f"{key} is empty")


def load_units(path: Path) -> tuple[Unit, ...]:
    cols = ("code", "parent_code", "kind", "name_vi", "name_en", "valid_from", "valid_to")
    units: list[Unit] = []
    where_of: dict[tuple[str, date], str] = {}
    for where, r in _rows(path, cols):
        _need(path, where, r, "code", "kind", "name_vi", "name_en", "valid_from")
        if r["kind"] not in UNIT_KINDS:
            raise ConfigError(path, where, f"kind {r['kind']!r} is not one of {UNIT_KINDS}")
        unit = Unit(
            code=r["code"],
            parent_code=r["parent_code"] or None,
            kind=r["kind"],
            name_vi=r["name_vi"],
            name_en=r["name_en"],
            valid_from=_date(path, where, "valid_from", r["valid_from"]),
            valid_to=_date(path, where, "valid_to", r["valid_to"], FAR_FUTURE),
            gso_code=r.get("gso_code") or None,
        )
        if unit.valid_to < unit.valid_from:
            raise ConfigError(path, where, f"unit {unit.code}: valid_to is before valid_from")
        for other in units:
            overlap = other.valid_from <= unit.valid_to and unit.valid_from <= other.valid_to
            if other.code == unit.code and overlap:
                first = where_of[(other.code, other.valid_from)]
                raise ConfigError(
                    path, where, f"duplicate unit code {unit.code} (overlaps {first})"
                )
        where_of[(unit.code, unit.valid_from)] = where
        units.append(unit)
    roots = [u for u in units if u.parent_code is None]
    if len({u.code for u in roots}) != 1:
        raise ConfigError(path, "rows", "exactly one unit (the city) must have no parent_code")
    codes = {u.code for u in units}
    for u in units:
        where = where_of[(u.code, u.valid_from)]
        if u.parent_code is not None and u.parent_code not in codes:
            raise ConfigError(path, where, f"unit {u.code}: unknown parent unit {u.parent_code}")
        if u.parent_code == u.code:
            raise ConfigError(path, where, f"unit {u.code} is its own parent")
    return tuple(units)


def load_sectors(path: Path) -> dict[str, Sector]:
    sectors: dict[str, Sector] = {}
    for where, r in _rows(path, ("code", "name_vi", "name_en")):
        _need(path, where, r, "code", "name_vi", "name_en")
        if r["code"] in sectors:
            raise ConfigError(path, where, f"duplicate sector code {r['code']}")
        sectors[r["code"]] = Sector(
            r["code"], r["name_vi"], r["name_en"], r.get("department") or None
        )
    return sectors


def check_sector_departments(
    path: Path, sectors: dict[str, Sector], units: tuple[Unit, ...]
) -> None:
    departments = {u.code for u in units if u.kind == "department"}
    for s in sectors.values():
        if s.department is not None and s.department not in departments:
            raise ConfigError(path, f"sector {s.code}", f"unknown department {s.department!r}")


def load_procedures(path: Path, sectors: dict[str, Sector]) -> dict[str, Procedure]:
    cols = (
        "code",
        "sector_code",
        "level",
        "name_vi",
        "name_en",
        "full_process",
        "fee_bearing",
        "issues_result",
        "paper_result",
        "max_days",
    )
    procedures: dict[str, Procedure] = {}
    for where, r in _rows(path, cols):
        _need(path, where, r, "code", "sector_code", "level", "name_vi", "name_en")
        code = r["code"]
        if code in procedures:
            raise ConfigError(path, where, f"duplicate procedure code {code}")
        if r["sector_code"] not in sectors:
            raise ConfigError(path, where, f"procedure {code}: unknown sector {r['sector_code']}")
        if r["level"] not in PROCEDURE_LEVELS:
            raise ConfigError(path, where, f"level {r['level']!r} not one of {PROCEDURE_LEVELS}")
        flags = {k: _bool(path, where, k, r[k]) for k in cols[5:9]}
        if flags["paper_result"] and not flags["issues_result"]:
            raise ConfigError(path, where, f"procedure {code}: paper_result without issues_result")
        procedures[code] = Procedure(
            code=code,
            sector_code=r["sector_code"],
            level=r["level"],
            name_vi=r["name_vi"],
            name_en=r["name_en"],
            max_days=_number(path, where, "max_days", r["max_days"] or "0", int),
            **flags,
        )
    return procedures


def _table(path: Path, doc: dict, key: str) -> dict[str, dict]:
    section = doc.get(key, {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise ConfigError(path, key, "must be a table of tables ([" + key + ".<code>])")
    return section


def _require_keys(path: Path, where: str, entry: dict, keys: tuple[str, ...]) -> None:
    for k in keys:
        if k not in entry:
            raise ConfigError(path, where, f"missing key {k!r}")


def read_toml(path: Path) -> dict:
    """A TOML file's content; a missing file or a syntax error is a ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "file", "is missing") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, "syntax", str(e)) from None


def load_catalog(path: Path) -> tuple[dict[str, Measure], dict[str, Metric]]:
    doc = read_toml(path)
    measures: dict[str, Measure] = {}
    for code, m in _table(path, doc, "measures").items():
        where = f"measures.{code}"
        _require_keys(path, where, m, ("name_vi", "name_en"))
        measures[code] = Measure(code, m["name_vi"], m["name_en"], m.get("dossier_sql"))
    metrics: dict[str, Metric] = {}
    for code, m in _table(path, doc, "metrics").items():
        metrics[code] = _metric(path, code, m, measures)
    if not metrics:
        raise ConfigError(path, "metrics", "no metric is defined")
    return measures, metrics


def _metric(path: Path, code: str, m: dict, measures: dict[str, Measure]) -> Metric:
    where = f"metrics.{code}"
    _require_keys(path, where, m, ("name_vi", "name_en", "type", "unit", "direction"))
    if m["type"] not in ("ratio", "sum"):
        raise ConfigError(path, where, f"type must be 'ratio' or 'sum', not {m['type']!r}")
    if m["direction"] not in ("higher", "lower"):
        raise ConfigError(path, where, "direction must be 'higher' or 'lower'")
    refs = ("numerator", "denominator") if m["type"] == "ratio" else ("measure",)
    _require_keys(path, where, m, refs)
    for ref in refs:
        if m[ref] not in measures:
            raise ConfigError(path, f"{where}.{ref}", f"unknown measure {m[ref]!r}")
    return Metric(
        code=code,
        name_vi=m["name_vi"],
        name_en=m["name_en"],
        type=m["type"],
        numerator=m[refs[0]],
        denominator=m["denominator"] if m["type"] == "ratio" else None,
        scale=float(m.get("scale", 1)),
        unit=m["unit"],
        direction=m["direction"],
        decimals=int(m.get("decimals", 1)),
        warning_band=float(m.get("warning_band", 5)),
    )


def load_targets(
    path: Path, metrics: dict[str, Metric], unit_codes: set[str]
) -> tuple[Target, ...]:
    targets: dict[tuple[str, int, str | None], Target] = {}
    for where, r in _rows(path, ("metric", "year", "unit_code", "value")):
        _need(path, where, r, "metric", "year", "value")
        if r["metric"] not in metrics:
            raise ConfigError(path, where, f"unknown metric {r['metric']!r}")
        year = _number(path, where, "year", r["year"], int)
        if year not in TARGET_YEARS:
            raise ConfigError(path, where, f"bad target year {year} (expected 2020–2040)")
        unit = r["unit_code"] or None
        if unit is not None and unit not in unit_codes:
            raise ConfigError(path, where, f"unknown unit {unit!r}")
        key = (r["metric"], year, unit)
        if key in targets:
            raise ConfigError(path, where, f"duplicate target for {key}")
        value = _number(path, where, "value", r["value"])
        targets[key] = Target(r["metric"], year, unit, value, r.get("basis", ""))
    return tuple(targets.values())


def load_tilemap(path: Path, unit_codes: set[str]) -> dict[str, tuple[int, int]]:
    if not path.exists():
        return {}
    cells: dict[str, tuple[int, int]] = {}
    for where, r in _rows(path, ("unit_code", "col", "row")):
        if r["unit_code"] not in unit_codes:
            raise ConfigError(path, where, f"unknown unit {r['unit_code']!r}")
        cell = (
            _number(path, where, "col", r["col"], int),
            _number(path, where, "row", r["row"], int),
        )
        if cell in cells.values():
            raise ConfigError(path, where, f"cell {cell} is already taken")
        cells[r["unit_code"]] = cell
    return cells


def load_successions(path: Path, units: tuple[Unit, ...]) -> tuple[Succession, ...]:
    """Old unit → new unit from the day after the old unit's last day, with its share.

    A missing file is no succession. Shares are read as exact fractions: those of one old unit
    must sum to exactly 1 with one of them 1 (facts are never split: the successor with share
    1 takes the old unit's whole history, the others are listed for their pages), so every old
    fact counts once in every view and the city's total stays the same.
    """
    if not path.exists():
        return ()
    last_day = {u.code: u.valid_to for u in units}
    for u in units:
        last_day[u.code] = max(last_day[u.code], u.valid_to)
    successions: list[Succession] = []
    shares: dict[str, list[tuple[str, Fraction]]] = {}
    for where, r in _rows(path, ("old_code", "new_code", "valid_from", "share")):
        _need(path, where, r, "old_code", "new_code", "valid_from", "share")
        old, new = r["old_code"], r["new_code"]
        for code in (old, new):
            if code not in last_day:
                raise ConfigError(path, where, f"unknown unit {code!r}")
        if old == new:
            raise ConfigError(path, where, f"unit {old} cannot succeed itself")
        day = _date(path, where, "valid_from", r["valid_from"])
        if last_day[old] == FAR_FUTURE:
            raise ConfigError(path, where, f"unit {old} is still valid (no valid_to in units.csv)")
        if day != last_day[old] + timedelta(days=1):
            raise ConfigError(
                path,
                where,
                f"valid_from {day} is not the day after {old}'s last day {last_day[old]}",
            )
        if not any(u.code == new and u.valid_on(day) for u in units):
            raise ConfigError(path, where, f"new unit {new} is not valid on {day}")
        share = _number(path, where, "share", r["share"], Fraction)
        if not 0 <= share <= 1:
            raise ConfigError(path, where, f"share must be between 0 and 1, not {r['share']!r}")
        if any(s.old_code == old and s.new_code == new for s in successions):
            raise ConfigError(path, where, f"duplicate succession {old} → {new}")
        shares.setdefault(old, []).append((where, share))
        successions.append(Succession(old, new, day, float(share)))
    for old, rows in shares.items():
        total = sum(share for _, share in rows)
        wheres = ", ".join(where for where, _ in rows)
        if total != 1:
            raise ConfigError(
                path, wheres, f"shares of old unit {old} sum to {float(total):g}, not 1"
            )
        if not any(share == 1 for _, share in rows):
            # A split share would need facts counted in parts: one successor takes them whole.
            raise ConfigError(path, wheres, f"old unit {old}: one successor must have share 1")
    return tuple(successions)


def load_config(directory: Path | str = CONFIG_DIR) -> Config:
    d = Path(directory)
    units = load_units(d / "units.csv")
    sectors = load_sectors(d / "sectors.csv")
    check_sector_departments(d / "sectors.csv", sectors, units)
    procedures = load_procedures(d / "procedures.csv", sectors)
    measures, metrics = load_catalog(d / "metrics.toml")
    codes = {u.code for u in units}
    return Config(
        units=units,
        sectors=sectors,
        procedures=procedures,
        measures=measures,
        metrics=metrics,
        targets=load_targets(d / "targets.csv", metrics, codes),
        tilemap=load_tilemap(d / "tilemap.csv", codes),
        successions=load_successions(d / "successions.csv", units),
    )
