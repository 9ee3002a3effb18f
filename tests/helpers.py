"""Small builders for hand-made dossiers and reports in the canonical shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from warehouse.shapes import DOSSIER_SCHEMA, REPORT_SCHEMA

LOCAL = timedelta(hours=7)
# A commune-level certification procedure: full-process eligible, fee-bearing, issues a result.
PROC = "2.000815"


def local(text: str) -> datetime:
    """'2024-03-01 10:00' in Ho Chi Minh City time, as a UTC instant."""
    return (datetime.fromisoformat(text) - LOCAL).replace(tzinfo=UTC)


def dossier(
    dossier_id: str,
    unit: str,
    received: str,
    *,
    channel: str = "direct",
    procedure: str = PROC,
    completed: str | None = None,
    due_days: float = 3,
    **flags: bool,
) -> dict:
    received_at = local(received)
    return {
        "dossier_id": dossier_id,
        "unit_code": unit,
        "procedure_code": procedure,
        "channel": channel,
        "received_at": received_at,
        "due_at": received_at + timedelta(days=due_days),
        "completed_at": local(completed) if completed else None,
        **flags,
    }


def dossiers(rows: list[dict]) -> pl.DataFrame:
    schema = {k: v for k, v in DOSSIER_SCHEMA.items() if k in {c for r in rows for c in r}}
    return pl.DataFrame(rows, schema=schema)


def reports(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=REPORT_SCHEMA)


def load(wh, rows: list[dict], source: str = "desk") -> None:
    """Load hand-made dossiers as one batch and insist every row was accepted."""
    from warehouse import Batch

    result = wh.load(Batch(source, dossiers=dossiers(rows)))
    assert result.status == "ok", result.error
    assert result.rows_quarantined == 0, result.reasons
