"""The warehouse: the only code that writes the DuckDB file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from config import Config
from warehouse.db import Database, scalar
from warehouse.loading import Batch, BatchResult, Loader, Reject
from warehouse.reference import write_reference
from warehouse.rollup import sync_catalog, sync_hours

__all__ = ["Batch", "BatchResult", "Reject", "Warehouse", "open_warehouse"]


@dataclass
class Warehouse:
    db: Database
    config: Config
    loader: Loader

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.db.cursor()

    def load(self, batch: Batch, now: datetime | None = None) -> BatchResult:
        if getattr(batch, "cases", None) is not None:  # identification-paper cases (issue 8)
            from warehouse.cases import load_cases

            return load_cases(self.db, self.config, batch, now)
        return self.loader.load(batch, now)

    def data_version(self) -> int:
        return self.db.data_version()

    def is_empty(self) -> bool:
        return scalar(self.cursor(), "SELECT count(*) FROM load_batch") == 0

    def newest_by_source(self) -> dict[str, datetime]:
        """The newest data time each source has delivered (from its successful batches)."""
        rows = (
            self.cursor()
            .execute(
                "SELECT source, max(newest_data_at) FROM load_batch WHERE status = 'ok'"
                " AND newest_data_at IS NOT NULL GROUP BY source ORDER BY source"
            )
            .fetchall()
        )
        return {source: ts for source, ts in rows}

    def close(self) -> None:
        self.db.close()


def open_warehouse(path: Path | str, config: Config, now: datetime | None = None) -> Warehouse:
    """Open (creating if needed) the file, apply migrations, write the reference data."""
    db = Database(path)
    db.migrate()
    with db.transaction() as cur:
        write_reference(cur, config)
    sync_catalog(db, config, now or datetime.now(UTC))
    sync_hours(db)
    return Warehouse(db, config, Loader(db, config))
