"""Write the reference data (units, unit tree, sectors, procedures) from the configuration."""

from __future__ import annotations

import duckdb
import polars as pl

from config import Config
from config.model import Unit


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
    schema = ["ancestor", "descendant", "distance", "valid_from", "valid_to"]
    return pl.DataFrame(rows, schema=schema, orient="row").unique()


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
    for table, frame in (
        ("unit", units),
        ("unit_tree", tree),
        ("sector", sectors),
        ("procedure", procedures),
    ):
        cur.execute(f"DELETE FROM {table}")
        cur.register("incoming", frame.to_arrow())
        cols = ", ".join(frame.columns)
        cur.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming")
        cur.unregister("incoming")
