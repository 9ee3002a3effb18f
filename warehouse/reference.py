"""Write the reference data (units, unit tree, sectors, procedures) from the configuration."""

from __future__ import annotations

import duckdb
import polars as pl

from config import Config
from config.model import Succession, Unit

TREE_COLUMNS = ["ancestor", "descendant", "distance", "valid_from", "valid_to"]


def unit_tree(units: tuple[Unit, ...]) -> pl.DataFrame:
    """(ancestor, descendant, distance, valid_from, valid_to) for every link of the hierarchy.

    A unit that changes parent has several rows in units.csv; each path's validity is the
    intersection of its links' validity, so a ward counts in its district only while it belongs
    to it (the July 2025 reorganisation is a data change).
    """
    by_code: dict[str, list[Unit]] = {}
    for u in units:
        by_code.setdefault(u.code, []).append(u)
    rows: list[tuple] = []
    for u in units:
        rows.append((u.code, u.code, 0, u.valid_from, u.valid_to))
        # Walk up: (current ancestor code, distance, validity window so far)
        frontier = [(u.parent_code, 1, u.valid_from, u.valid_to)]
        while frontier:
            code, dist, lo, hi = frontier.pop()
            if code is None or dist > 20:
                continue
            for parent_row in by_code.get(code, []):
                a, b = max(lo, parent_row.valid_from), min(hi, parent_row.valid_to)
                if a <= b:
                    rows.append((code, u.code, dist, a, b))
                    frontier.append((parent_row.parent_code, dist + 1, a, b))
    return pl.DataFrame(rows, schema=TREE_COLUMNS, orient="row").unique()


def unit_tree_today(units: tuple[Unit, ...], successions: tuple[Succession, ...]) -> pl.DataFrame:
    """`unit_tree` for the "today's units" view: a retired unit counts under today's units.

    A unit with a share-1 successor is replaced, for each of its validity periods, by the chain
    of the unit that succeeds it today (its successor's, followed transitively), at the same
    distances: so it is a descendant only, never an ancestor, and a query by unit never lists it
    beside its successor. The rows keep the old unit's own validity, so the BETWEEN join still
    selects its facts by their date, the same facts the dated tree selects: the totals stay.
    A unit without a successor keeps its rows of `unit_tree`, so without successions both trees
    are the same.
    """
    dated = unit_tree(units)
    heir = {s.old_code: s.new_code for s in successions if s.share == 1}
    if not heir:
        return dated
    latest: dict[str, Unit] = {}
    for u in units:
        if u.code not in latest or u.valid_from > latest[u.code].valid_from:
            latest[u.code] = u

    def today(code: str) -> str:
        seen = {code}
        while code in heir and heir[code] not in seen:  # the loader's dates rule cycles out
            code = heir[code]
            seen.add(code)
        return code

    def chain(code: str) -> list[str]:
        """Today's unit for `code` and its ancestors as they stand today, nearest first."""
        codes: list[str] = []
        current: str | None = today(code)
        while current is not None and current not in codes:
            codes.append(current)
            parent = latest[current].parent_code
            current = today(parent) if parent is not None else None
        return codes

    rows = [
        (ancestor, u.code, distance, u.valid_from, u.valid_to)
        for u in units
        if u.code in heir
        for distance, ancestor in enumerate(chain(u.code))
    ]
    moved = pl.DataFrame(rows, schema=dated.schema, orient="row")
    return pl.concat([dated.filter(~pl.col("descendant").is_in(list(heir))), moved]).unique()


def write_reference(cur: duckdb.DuckDBPyConnection, config: Config) -> None:
    """Replace the reference tables (inside the caller's transaction)."""
    units = pl.DataFrame(
        [
            (
                u.code,
                u.parent_code,
                u.kind,
                u.name_vi,
                u.name_en,
                u.valid_from,
                u.valid_to,
                u.gso_code,
            )
            for u in config.units
        ],
        schema=[
            "code",
            "parent_code",
            "kind",
            "name_vi",
            "name_en",
            "valid_from",
            "valid_to",
            "gso_code",
        ],
        orient="row",
    )
    sectors = pl.DataFrame([vars(s) for s in config.sectors.values()])
    procedures = pl.DataFrame([vars(p) for p in config.procedures.values()])
    tree = unit_tree(config.units)
    today = unit_tree_today(config.units, config.successions)
    for table, frame in (
        ("unit", units),
        ("unit_tree", tree),
        ("unit_tree_today", today),
        ("sector", sectors),
        ("procedure", procedures),
    ):
        cur.execute(f"DELETE FROM {table}")
        cur.register("incoming", frame.to_arrow())
        cols = ", ".join(frame.columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming")
        cur.unregister("incoming")
