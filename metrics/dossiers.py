"""Dossier-level lists behind the rates: the overdue dossiers of a unit's subtree, paged and sorted.

Read-only. Every value is a bound parameter; the sort column comes from a fixed whitelist, never
from user text. A dossier is overdue as the `overdue` measure counts it: completed after its due
time, or still open past it at `now`. Dates are local (Asia/Ho_Chi_Minh) receipt days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from metrics import scope
from warehouse.db import snapshot

# Sortable columns: public name -> SQL expression.
SORTABLE = {
    "dossier_id": "d.dossier_id",
    "unit_code": "d.unit_code",
    "procedure_code": "d.procedure_code",
    "sector_code": "p.sector_code",
    "channel": "d.channel",
    "received_at": "d.received_at",
    "due_at": "d.due_at",
    "completed_at": "d.completed_at",
    "days_late": "late",
    "status": "d.status",
}
COLUMNS = (
    "dossier_id", "unit_code", "procedure_code", "sector_code", "channel", "received_at",
    "due_at", "completed_at", "days_late", "status",
)  # fmt: skip


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int


def _where(
    unit: str,
    start: date,
    end: date,
    sectors: tuple[str, ...],
    procedures: tuple[str, ...],
    by_sector: bool = False,
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {"scope": unit, "start": start, "end": end}
    where = [
        "d.received_day BETWEEN $start AND $end",
        (
            "(CASE WHEN d.completed_at IS NOT NULL THEN d.completed_at > d.due_at"
            " ELSE d.due_at < $now END)"
        ),
    ]
    if sectors:
        params["sectors"] = list(sectors)
        where.append("list_contains($sectors, p.sector_code)")
    if procedures:
        params["procedures"] = list(procedures)
        where.append("list_contains($procedures, d.procedure_code)")
    # The sector is the procedure's: joined only when filtered or sorted by (a join over the
    # city's 0.6 M late dossiers of a year is ~a quarter of the list's time).
    sql = (
        "FROM late_or_open d\n"
        "JOIN unit_tree s ON s.descendant = d.unit_code AND s.ancestor = $scope"
        " AND d.received_day BETWEEN s.valid_from AND s.valid_to\n"
        + ("JOIN procedure p ON p.code = d.procedure_code\n" if sectors or by_sector else "")
        + f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def overdue(
    cur: duckdb.DuckDBPyConnection,
    unit: str,
    start: date,
    end: date,
    sectors: tuple[str, ...] | list[str] = (),
    procedures: tuple[str, ...] | list[str] = (),
    sort: list[tuple[str, str]] | None = None,
    offset: int = 0,
    limit: int = 50,
    now: datetime | None = None,
) -> Page:
    """Overdue dossiers received from `start` to `end` (inclusive) in `unit`'s subtree.

    `sort`: [(column, "asc"|"desc"), ...] over SORTABLE (default: most late first); ties keep
    the stored order. `days_late`: days past the due time at completion, or at `now` while
    still open.

    Read from `late_or_open` (migration 011), the dossiers completed late or still open: a year
    of the city is 0.6 M of them instead of 10 M dossiers. The page is found first from the sort
    keys alone, and only its rows are read whole: reading every column of every late dossier
    to keep 50 took ~0.4 s there. The count, the page and its rows are read in one
    transaction, so they describe the same moment even while a load commits.
    """
    scope.check_code(unit)  # before any SQL: who may read this unit's dossiers
    now = now or datetime.now(UTC)
    sort = sort or [("days_late", "desc")]
    for column, _ in sort:
        if column not in SORTABLE:
            raise ValueError(f"cannot sort by {column!r}")
    by_sector = any(column == "sector_code" for column, _ in sort)
    frm, params = _where(unit, start, end, tuple(sectors), tuple(procedures), by_sector)
    params["now"] = now
    offset, limit = max(0, int(offset)), max(0, int(limit))
    with snapshot(cur):
        if len(sort) == 1 and sort[0][0] in _NUMERIC:
            total, rowids = _count_and_page(cur, frm, params, sort[0], offset, limit)
        else:
            total, rowids = _count_then_page(cur, frm, params, sort, offset, limit)
        rows = _whole_rows(cur, rowids, now)
    return Page(rows, int(total))


# Microseconds past due: integer arithmetic on the instants (an interval and `epoch()` of it
# cost ~2.5× more over hundreds of thousands of late dossiers).
_LATE_US = "(epoch_us(coalesce(d.completed_at, $now)) - epoch_us(d.due_at))"
# The sorts on one number that is never null (the default among them), as an integer.
_NUMERIC = {"days_late": _LATE_US, "received_at": "epoch_us(d.received_at)",
            "due_at": "epoch_us(d.due_at)"}  # fmt: skip
_ROWIDS = 2**40  # more row ids than a dossier table will hold


def _count_and_page(cur, frm: str, params: dict, sort: tuple[str, str], offset: int,
                    limit: int) -> tuple[int, list[int]]:  # fmt: skip
    """The count and the page's row ids in one pass: the first `offset + limit` by
    `max_by`/`min_by` over the value and the row id packed into one 128-bit key (the same
    order as `_count_then_page`, which scans twice: ~half the time)."""
    column, direction = sort
    if direction == "desc":  # larger values first; equal ones by row id, as ORDER BY does
        pick = f"max_by(d.rowid, {_NUMERIC[column]}::HUGEINT * {_ROWIDS} - d.rowid, $n)"
    else:
        pick = f"min_by(d.rowid, {_NUMERIC[column]}::HUGEINT * {_ROWIDS} + d.rowid, $n)"
    total, rowids = cur.execute(
        f"SELECT count(*), {pick} {frm}", dict(params, n=max(1, offset + limit))
    ).fetchall()[0]
    return total, (rowids or [])[offset : offset + limit]


def _count_then_page(cur, frm: str, params: dict, sort: list[tuple[str, str]], offset: int,
                     limit: int) -> tuple[int, list[int]]:  # fmt: skip
    order = [f"{SORTABLE[c]} {'DESC' if d == 'desc' else 'ASC'} NULLS LAST" for c, d in sort]
    order.append("d.rowid")  # a stable order across pages
    total = cur.execute(f"SELECT count(*) {frm}", params).fetchall()[0][0]
    found = cur.execute(
        f"SELECT d.rowid, {_LATE_US} AS late {frm} ORDER BY {', '.join(order)}"
        " LIMIT $limit OFFSET $offset",
        dict(params, limit=limit, offset=offset),
    ).fetchall()
    return total, [r[0] for r in found]


def _whole_rows(cur: duckdb.DuckDBPyConnection, rowids: list[int], now: datetime) -> list[dict]:
    """The listed columns of the dossiers at `rowids`, in that order."""
    if not rowids:
        return []
    found = cur.execute(
        "SELECT d.rowid, d.dossier_id, d.unit_code, d.procedure_code, p.sector_code, d.channel,"
        " d.received_at, d.due_at, d.completed_at,"
        f" round({_LATE_US} / 86400e6, 1) AS days_late, d.status"
        " FROM late_or_open d JOIN procedure p ON p.code = d.procedure_code"
        " WHERE d.rowid IN (SELECT unnest($rowids))",
        {"rowids": rowids, "now": now},
    ).fetchall()
    by_id = {r[0]: dict(zip(COLUMNS, r[1:], strict=True)) for r in found}
    return [by_id[i] for i in rowids]
