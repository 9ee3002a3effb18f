"""Identification papers for special populations (children and adolescents first): case reads.

The one door to case rows is `cases_for(role, unit_scope, cur=...)`: it returns the cases of the
wards in `unit_scope` and masks the personal fields (full name, birth date, ID number) unless
`role` is one of `PERSONAL_DATA_ROLES` (the justice department's role). Boards, the wall and
every export read through it or through `case_counts` (counts only, never a personal field).
Access control decides *which* role and scope a request has; this module decides what that role
may see. "Overdue" = still open (not resolved or closed) after its due date, local calendar day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from metrics import scope as _scope
from metrics.query import cached
from warehouse.cases import AGE_GROUPS, OPEN_STATUSES, PERSONAL_FIELDS  # noqa: F401 (re-exported)
from warehouse.db import frame as frame_of

# Roles allowed to see the personal fields of a case. Map the justice department's users to it.
PERSONAL_DATA_ROLES = frozenset({"justice"})
MASK = "•••"
CASE_COLUMNS = ("case_id", "ward_code", "group_code", "age_group", "status",
                "proposed_solution", "owner", "opened_on", "due_on", "resolved_on",
                "overdue", "days_overdue", *PERSONAL_FIELDS)  # fmt: skip

_SCOPED = """
FROM id_case c
JOIN unit_tree s ON s.descendant = c.ward_code AND s.ancestor = $scope
     AND $today BETWEEN s.valid_from AND s.valid_to
"""


def may_see_personal(role: str | None) -> bool:
    return role in PERSONAL_DATA_ROLES


def check_case_scope(role: str | None, unit: str) -> None:
    """Raise metrics.scope.ScopeError unless the reader may read the cases under `unit`.

    The justice role follows the cases of every ward (the Department of Justice oversees civil
    status city-wide), whatever unit its account is attached to; every other role reads only
    inside its unit scope, as for any other figure.
    """
    if may_see_personal(role):
        return
    _scope.check_code(unit)


def _cases_sql(
    personal: bool, order: str = "c.opened_on DESC, c.case_id", limit: int | None = None
) -> str:
    """The case read: personal fields masked unless `personal`; `overdue`/`days_overdue` as of
    $today. No caller text is formatted in: `order` and `limit` come from this module."""
    name = (
        "c.full_name" if personal else f"CASE WHEN c.full_name IS NULL THEN NULL ELSE '{MASK}' END"
    )
    ident = (
        "c.id_number" if personal else f"CASE WHEN c.id_number IS NULL THEN NULL ELSE '{MASK}' END"
    )
    birth = "c.birth_date" if personal else "CAST(NULL AS DATE)"
    return f"""
        SELECT c.case_id, c.ward_code, c.group_code, c.age_group, c.status,
               c.proposed_solution, c.owner, c.opened_on, c.due_on, c.resolved_on,
               list_contains($open, c.status) AND c.due_on < $today AS overdue,
               CASE WHEN list_contains($open, c.status) AND c.due_on < $today
                    THEN date_diff('day', c.due_on, $today) ELSE 0 END AS days_overdue,
               {name} AS full_name, {birth} AS birth_date, {ident} AS id_number
        {_SCOPED}
        WHERE (len($statuses) = 0 OR list_contains($statuses, c.status))
          AND ($overdue_only = false OR (list_contains($open, c.status) AND c.due_on < $today))
        ORDER BY {order}{f" LIMIT {int(limit)}" if limit is not None else ""}
    """


def cases_for(
    role: str | None,
    unit_scope: str | None,
    *,
    cur: duckdb.DuckDBPyConnection,
    root: str = "HCM",
    today: date | None = None,
    statuses: tuple[str, ...] = (),
    overdue_only: bool = False,
) -> pl.DataFrame:
    """The cases of the wards under `unit_scope` (None: the whole city, `root`), newest first.

    Personal fields are replaced by "•••" (name, ID number) and null (birth date) unless `role`
    is in PERSONAL_DATA_ROLES. `overdue`/`days_overdue` are as of `today` (local date).
    """
    check_case_scope(role, unit_scope or root)  # who may read it: before any SQL
    today = today or date.today()
    return cur.sql(
        _cases_sql(may_see_personal(role)),
        params={"scope": unit_scope or root, "today": today, "open": list(OPEN_STATUSES),
                "statuses": list(statuses), "overdue_only": overdue_only},
    ).pl()  # fmt: skip


def overdue_cases(
    role: str | None,
    unit_scope: str | None,
    *,
    cur: duckdb.DuckDBPyConnection,
    today: date,
    root: str = "HCM",
    limit: int | None = None,
) -> pl.DataFrame:
    """The overdue cases of `cases_for` (same columns, same masking), most days late first
    (then case_id), at most `limit` rows. Cached per warehouse data version: every case batch
    bumps it (warehouse.cases.load_cases). "Overdue" is as of `today`, the local day, which is
    in the key: the list is recomputed when the day turns (the only time bucket it needs)."""
    check_case_scope(role, unit_scope or root)  # who may read it: before any SQL or cache
    personal = may_see_personal(role)  # in the key: a masked reader never gets personal fields
    params = {"scope": unit_scope or root, "today": today, "open": list(OPEN_STATUSES),
              "statuses": [], "overdue_only": True}  # fmt: skip
    sql = _cases_sql(personal, "days_overdue DESC, c.case_id, c.opened_on DESC", limit)
    return cached(
        cur, None, ("id_overdue_cases", personal, unit_scope or root, today, limit),
        lambda: frame_of(cur, sql, params),
    )  # fmt: skip


@dataclass(frozen=True)
class CaseCounts:
    """Counts only (safe for the wall): by status, ward, age group and group; open and overdue."""

    by_status: dict[str, int]
    by_ward: dict[str, int]  # open cases per ward
    by_age_group: dict[str, int]  # open cases per age group
    by_group: dict[str, int]  # open cases per population group
    open: int
    overdue: int
    total: int


_COUNTS_SQL = f"""
WITH c AS MATERIALIZED (
    SELECT c.status, c.ward_code, c.age_group, c.group_code,
           list_contains($open, c.status) AS is_open,
           list_contains($open, c.status) AND c.due_on < $today AS is_overdue
    {_SCOPED}
)
SELECT 'status' AS dim, status AS key, count(*) AS n FROM c GROUP BY status
UNION ALL SELECT 'ward', ward_code, count(*) FROM c WHERE is_open GROUP BY ward_code
UNION ALL SELECT 'age_group', age_group, count(*) FROM c WHERE is_open GROUP BY age_group
UNION ALL SELECT 'group', group_code, count(*) FROM c WHERE is_open GROUP BY group_code
UNION ALL SELECT 'total', NULL, count(*) FROM c
UNION ALL SELECT 'open', NULL, count(*) FROM c WHERE is_open
UNION ALL SELECT 'overdue', NULL, count(*) FROM c WHERE is_overdue
ORDER BY dim, n DESC, key
"""


def counts_of(frame: pl.DataFrame) -> CaseCounts:
    """CaseCounts from the (dim, key, n) rows of `_COUNTS_SQL` (each dim largest first)."""
    groups: dict[str, dict[str, int]] = {"status": {}, "ward": {}, "age_group": {}, "group": {},
                                         "total": {}, "open": {}, "overdue": {}}  # fmt: skip
    for dim, key, n in zip(frame["dim"].to_list(), frame["key"].to_list(), frame["n"].to_list(),
                           strict=True):  # fmt: skip
        groups[dim][key] = int(n)
    return CaseCounts(by_status=groups["status"], by_ward=groups["ward"],
                      by_age_group=groups["age_group"], by_group=groups["group"],
                      open=groups["open"].get(None, 0), overdue=groups["overdue"].get(None, 0),
                      total=groups["total"].get(None, 0))  # fmt: skip


def case_counts(
    cur: duckdb.DuckDBPyConnection,
    unit_scope: str | None,
    today: date,
    root: str = "HCM",
    role: str | None = None,
) -> CaseCounts:
    """Counts of the cases of the wards under `unit_scope` (None: the city) as of `today`.

    One statement, cached per warehouse data version (every case batch bumps it). `today` (the
    local day "overdue" is counted on, and the day the hierarchy is read as of) is in the key:
    the counts are recomputed when the day turns."""
    check_case_scope(role, unit_scope or root)  # who may read it: before any SQL or cache
    params = {"scope": unit_scope or root, "today": today, "open": list(OPEN_STATUSES)}
    frame = cached(cur, None, ("id_case_counts", unit_scope or root, today),
                   lambda: frame_of(cur, _COUNTS_SQL, params))  # fmt: skip
    return counts_of(frame)


# The department whose people may see personal fields (with the role "justice" itself).
JUSTICE_DEPARTMENT = "SO-TP"


def viewer_case_access(role: str | None, unit: str | None) -> tuple[str | None, str | None]:
    """(role to pass to `cases_for`, the viewer's unit) for a signed-in person.

    The justice department's people see personal fields: role "justice", or a department head
    whose unit is the Department of Justice (SO-TP). Everyone else keeps their role (masked).
    """
    if role == "department_head" and unit == JUSTICE_DEPARTMENT:
        return "justice", unit
    return role, unit
