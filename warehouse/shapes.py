"""The canonical shapes: the contract between connectors and the warehouse.

Connectors hand the loader polars frames with these columns (extra columns are ignored; missing
optional columns are filled with null/false). Timestamps are timezone-aware instants.
"""

from __future__ import annotations

import polars as pl

UTC_TS = pl.Datetime("us", "UTC")

DOSSIER_SCHEMA: dict[str, pl.DataType] = {
    "dossier_id": pl.String(),
    "unit_code": pl.String(),
    "procedure_code": pl.String(),
    "channel": pl.String(),  # online | direct | postal
    "submit_method": pl.String(),  # qr | portal | app | desk | post (optional)
    "received_at": UTC_TS,
    "due_at": UTC_TS,
    "completed_at": UTC_TS,  # null while in progress
    "status": pl.String(),
    "record_digitized": pl.Boolean(),
    "result_digitized": pl.Boolean(),
    "e_result": pl.Boolean(),
    "reused_data": pl.Boolean(),
    "paid_online": pl.Boolean(),
    "full_process": pl.Boolean(),
    "registry_reused": pl.Boolean(),  # business data taken from the national registration DB
    "supplements": pl.Int32(),
    "updated_at": UTC_TS,
}
DOSSIER_REQUIRED = ("dossier_id", "unit_code", "procedure_code", "channel", "received_at", "due_at")
DOSSIER_FLAGS = (
    "record_digitized",
    "result_digitized",
    "e_result",
    "reused_data",
    "paid_online",
    "full_process",
    "registry_reused",
)
CHANNELS = ("online", "direct", "postal")

REPORT_SCHEMA: dict[str, pl.DataType] = {
    "unit_code": pl.String(),
    "period_start": pl.Date(),
    "grain": pl.String(),  # day | week | month | quarter | year
    "measure_code": pl.String(),
    "procedure_code": pl.String(),  # null: all procedures
    "value": pl.Float64(),  # null: not reported (never read as 0)
}
REPORT_REQUIRED = ("unit_code", "period_start", "grain", "measure_code")
GRAINS = ("day", "week", "month", "quarter", "year")


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select the schema's columns in order, adding missing ones, casting strictly.

    Raises polars' error when a present column cannot be cast: the caller turns that into a
    feed error (a connector that produces the wrong types is a bug, not bad input).
    """
    defaults = {c: False for c in DOSSIER_FLAGS} | {"supplements": 0}
    cols = []
    for name, dtype in schema.items():
        if name in frame.columns:
            col = pl.col(name)
            if frame.schema[name] != dtype:
                col = col.cast(dtype, strict=True)
            if name in defaults:
                col = col.fill_null(defaults[name])
        else:
            col = pl.lit(defaults.get(name), dtype=dtype)
        cols.append(col.alias(name))
    return frame.select(cols)
