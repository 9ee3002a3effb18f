"""Dossier SLA escalation as the HCMC plan has it (docs/domain.md, "Escalation").

Over open dossiers (not completed), at `now`:
  green  – due within the next 24 h: remind the civil servant handling it;
  yellow – overdue by less than 48 h: escalate to the department head;
  red    – overdue by 48 h or more ("seriously late"): escalate to the agency head.
Open dossiers due later than 24 h from now are not escalated. Counts are per the dossier's own
unit, or rolled up to the units of a kind (a district counts its wards) with `unit_kind`. All SQL
parameters are bound; times are instants (UTC/offset-aware), hours are elapsed hours. Read from
`late_or_open` (migration 011), which holds every open dossier: at city scale 2.0 M rows
instead of 33 M (12–15 ms against 21–23 ms).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from metrics import scope

LEVELS = ("green", "yellow", "red")
ESCALATE_TO = {
    "green": {"vi": "Nhắc công chức xử lý", "en": "Remind the civil servant"},
    "yellow": {"vi": "Báo trưởng phòng", "en": "Escalate to the department head"},
    "red": {"vi": "Báo thủ trưởng cơ quan", "en": "Escalate to the agency head"},
}
GREEN_HOURS = 24
YELLOW_HOURS = 48

_LEVEL_SQL = """
CASE WHEN d.due_at >= $now THEN 'green'
     WHEN $now - d.due_at < INTERVAL 48 HOUR THEN 'yellow'
     ELSE 'red' END"""
_OPEN = "d.completed_at IS NULL AND d.due_at < $now + INTERVAL 24 HOUR"


def _scope(
    unit: str | None,
    unit_kind: str | None,
    by_child: bool = False,
    sectors: tuple[str, ...] | list[str] = (),
    procedures: tuple[str, ...] | list[str] = (),
) -> tuple[str, str, str, dict]:
    """(group column, joins, extra WHERE, params) for rolling dossiers up to a unit, the units
    of a kind or the children of `unit`, of some sectors or procedures only. Checks first that
    the request may read `unit`'s dossiers (None: the whole city)."""
    if unit:
        scope.check_code(unit)
    elif scope.current_unit() is not None:
        raise scope.ScopeError("the whole city's dossiers are outside your access")
    params: dict = {}
    joins = ""
    group = "d.unit_code"
    where = ""
    if unit:
        params["scope"] = unit
        joins += (
            " JOIN unit_tree s ON s.descendant = d.unit_code AND s.ancestor = $scope"
            " AND d.received_day BETWEEN s.valid_from AND s.valid_to"
        )
    if by_child:
        # The tree has one path from `unit` down to a dossier's unit on its day: the child
        # on it is that unit's ancestor one step below `unit`. The unit's own dossiers: itself.
        joins += (
            " LEFT JOIN unit_tree c ON c.descendant = d.unit_code AND c.distance = s.distance - 1"
            " AND s.distance > 0 AND d.received_day BETWEEN c.valid_from AND c.valid_to"
        )
        group = "coalesce(c.ancestor, d.unit_code)"
    if unit_kind:
        params["unit_kind"] = unit_kind
        joins += (
            " JOIN unit_tree g ON g.descendant = d.unit_code"
            " AND d.received_day BETWEEN g.valid_from AND g.valid_to"
            " AND g.ancestor IN (SELECT code FROM unit WHERE kind = $unit_kind)"
        )
        group = "g.ancestor"
    if sectors:
        params["sectors"] = list(sectors)
        where += (
            " AND d.procedure_code IN"
            " (SELECT code FROM procedure WHERE list_contains($sectors, sector_code))"
        )
    if procedures:
        params["procedures"] = list(procedures)
        where += " AND list_contains($procedures, d.procedure_code)"
    return group, joins, where, params


def escalation_counts(
    cur: duckdb.DuckDBPyConnection,
    now: datetime,
    unit: str | None = None,
    unit_kind: str | None = None,
    by_child: bool = False,
    sectors: tuple[str, ...] | list[str] = (),
    procedures: tuple[str, ...] | list[str] = (),
) -> pl.DataFrame:
    """Open dossiers per unit and level: columns unit_code, green, yellow, red, total.

    `unit`: only dossiers of this unit's subtree; `unit_kind`: roll up to the units of that kind
    (e.g. "district"); `by_child` (with `unit`): roll up to the unit's children, its own
    dossiers under itself. Sorted by red, yellow, green, most first.
    """
    if by_child and not unit:
        raise ValueError("by_child needs a unit")
    group, joins, where, params = _scope(unit, unit_kind, by_child, sectors, procedures)
    params["now"] = now
    sql = f"""
        SELECT {group} AS unit_code,
               count(*) FILTER (WHERE lvl = 'green') AS green,
               count(*) FILTER (WHERE lvl = 'yellow') AS yellow,
               count(*) FILTER (WHERE lvl = 'red') AS red,
               count(*) AS total
        FROM (SELECT d.*, {_LEVEL_SQL} AS lvl FROM late_or_open d WHERE {_OPEN}{where}) d {joins}
        GROUP BY ALL ORDER BY red DESC, yellow DESC, green DESC, unit_code"""
    return cur.sql(sql, params=params).pl()


def escalation_list(
    cur: duckdb.DuckDBPyConnection,
    now: datetime,
    level: str | None = None,
    unit: str | None = None,
    limit: int = 500,
    sectors: tuple[str, ...] | list[str] = (),
    procedures: tuple[str, ...] | list[str] = (),
) -> pl.DataFrame:
    """The escalated dossiers, most overdue first: source, dossier_id, unit_code,
    procedure_code, received_at, due_at, hours_overdue (negative: hours left), level."""
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    _, joins, where, params = _scope(unit, None, sectors=sectors, procedures=procedures)
    params.update(now=now, limit=int(limit))
    where = _OPEN + where
    if level:
        params["level"] = level
        where += f" AND ({_LEVEL_SQL}) = $level"
    sql = f"""
        SELECT d.source, d.dossier_id, d.unit_code, d.procedure_code, d.received_at, d.due_at,
               round(epoch($now - d.due_at) / 3600.0, 1) AS hours_overdue,
               {_LEVEL_SQL} AS level
        FROM late_or_open d {joins}
        WHERE {where}
        ORDER BY d.due_at, d.dossier_id LIMIT $limit"""
    return cur.sql(sql, params=params).pl()
