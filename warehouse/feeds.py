"""Read-only helpers over the load bookkeeping: feed cursors, loaded files, run history.

Writes happen only inside load batches (warehouse.loading); these functions just read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from warehouse.db import scalar


def feed_state(cur: duckdb.DuckDBPyConnection, source: str) -> dict[str, Any]:
    """The cursor a feed saved with its last successful batch ({} before its first)."""
    text = scalar(cur, "SELECT state FROM feed_state WHERE source = ?", [source])
    return json.loads(text) if text else {}


def already_loaded(
    cur: duckdb.DuckDBPyConnection, source: str, source_key: str, content_hash: str
) -> bool:
    """Has an ok batch of `source` loaded exactly this version of this file?"""
    n = scalar(
        cur,
        "SELECT count(*) FROM load_batch WHERE source = ? AND source_key = ?"
        " AND content_hash = ? AND status = 'ok'",
        [source, source_key, content_hash],
    )
    return bool(n)


def feed_summaries(cur: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per source: the last run, the last success, rows loaded/quarantined/re-mapped (to the
    successor of a retired unit) by the last success, totals, and the last error (if the last
    run failed)."""
    rows = cur.execute(
        """
        WITH ranked AS (
            SELECT *, row_number() OVER (PARTITION BY source ORDER BY batch_id DESC) AS rn,
                   row_number() OVER (PARTITION BY source, status ORDER BY batch_id DESC) AS rs
            FROM load_batch)
        SELECT source,
               max(started_at) AS last_run_at,
               max(finished_at) FILTER (WHERE status = 'ok') AS last_success_at,
               any_value(status) FILTER (WHERE rn = 1) AS last_status,
               any_value(error) FILTER (WHERE rn = 1) AS last_error,
               any_value(rows_loaded) FILTER (WHERE status = 'ok' AND rs = 1) AS last_rows_loaded,
               any_value(rows_quarantined) FILTER (WHERE status = 'ok' AND rs = 1)
                   AS last_rows_quarantined,
               any_value(rows_remapped) FILTER (WHERE status = 'ok' AND rs = 1)
                   AS last_rows_remapped,
               sum(rows_loaded) AS total_rows_loaded,
               sum(rows_quarantined) AS total_rows_quarantined,
               coalesce(sum(rows_remapped), 0) AS total_rows_remapped,
               count(*) FILTER (WHERE status = 'failed') AS failed_runs,
               max(newest_data_at) AS newest_data_at
        FROM ranked GROUP BY source ORDER BY source
        """
    ).fetchall()
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in rows}


def quarantine_rows(
    cur: duckdb.DuckDBPyConnection, source: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest quarantined rows (optionally of one source), newest first."""
    rows = cur.execute(
        "SELECT batch_id, source, reason, raw, quarantined_at FROM quarantine"
        " WHERE $source IS NULL OR source = $source ORDER BY quarantined_at DESC, batch_id DESC"
        " LIMIT $limit",
        {"source": source, "limit": limit},
    ).fetchall()
    names = ("batch_id", "source", "reason", "raw", "quarantined_at")
    return [dict(zip(names, r, strict=True)) for r in rows]


def batches(cur: duckdb.DuckDBPyConnection, source: str, limit: int = 20) -> list[dict[str, Any]]:
    rows = cur.execute(
        "SELECT batch_id, source_key, started_at, finished_at, rows_read, rows_loaded,"
        " rows_quarantined, status, error FROM load_batch WHERE source = ?"
        " ORDER BY batch_id DESC LIMIT ?",
        [source, limit],
    ).fetchall()
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in rows]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
