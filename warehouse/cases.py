"""Load batches of identification-paper cases (special populations) into `id_case`.

A case feed delivers the whole case list of its source, or a file of it: a case re-sent under the
same (source, case_id) replaces the old row. Like the dossier and report batches, one batch is
one transaction: validate (bad rows to quarantine with the reason), upsert, derive the catalog's
`id_cases_*` report rows of the source (per ward and month opened: a cohort), refresh their
rollup, save the feed's cursor, record the counts.

Personal fields (full_name, birth_date, id_number) are stored, never derived into the rollup;
read them only through `metrics.id_cases.cases_for`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from config import Config
from warehouse.db import Database
from warehouse.loading import (
    Batch,
    BatchResult,
    _insert_batch_row,
    _next_batch_id,
    _quarantine,
    _replaced_batches,
)
from warehouse.messages import say
from warehouse.rollup import refresh_months, refresh_report_periods

CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "ward_code": pl.String(),
    "group_code": pl.String(),
    "age_group": pl.String(),
    "status": pl.String(),
    "proposed_solution": pl.String(),
    "owner": pl.String(),
    "opened_on": pl.Date(),
    "due_on": pl.Date(),
    "resolved_on": pl.Date(),
    "full_name": pl.String(),
    "birth_date": pl.Date(),
    "id_number": pl.String(),
    "updated_at": pl.Datetime("us", "UTC"),
}
CASE_REQUIRED = ("case_id", "ward_code", "group_code", "age_group", "status", "opened_on", "due_on")
PERSONAL_FIELDS = ("full_name", "birth_date", "id_number")
STATUSES = ("new", "verifying", "proposed", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("new", "verifying", "proposed", "in_progress")
AGE_GROUPS = ("0-5", "6-11", "12-15", "16-17", "18+")
GROUPS = ("child_no_guardian", "street_child", "stateless", "migrant_family", "homeless_adult")
WARD_KINDS = ("ward", "commune", "township")


@dataclass
class CaseBatch(Batch):
    """A load batch carrying case rows (the dossier/report fields stay empty)."""

    cases: pl.DataFrame | None = None


def conform_cases(frame: pl.DataFrame) -> pl.DataFrame:
    cols = []
    for name, dtype in CASE_SCHEMA.items():
        if name in frame.columns:
            col = pl.col(name)
            if frame.schema[name] != dtype:
                col = col.cast(dtype, strict=True)
        else:
            col = pl.lit(None, dtype=dtype)
        cols.append(col.alias(name))
    return frame.select(cols)


def check_cases(frame: pl.DataFrame, config: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, bad rows as raw JSON + reason): known ward, known codes, dates in order."""
    wards = sorted({u.code for u in config.units if u.kind in WARD_KINDS})
    checks: list[tuple[pl.Expr, pl.Expr | str]] = [
        *[(pl.col(c).is_null(), say("missing", c)) for c in CASE_REQUIRED],
        (~pl.col("ward_code").is_in(wards), pl.format(say("unknown_ward"), pl.col("ward_code"))),
        (~pl.col("status").is_in(list(STATUSES)), pl.format(say("unknown_status"), "status")),
        (~pl.col("age_group").is_in(list(AGE_GROUPS)), pl.format(say("unknown_age_group"), "age_group")),
        (~pl.col("group_code").is_in(list(GROUPS)), pl.format(say("unknown_group"), "group_code")),
        (pl.col("due_on") < pl.col("opened_on"), say("before", "due_on", "opened_on")),
        (pl.col("resolved_on") < pl.col("opened_on"), say("before", "resolved_on", "opened_on")),
        ((pl.col("status") == "resolved") & pl.col("resolved_on").is_null(),
         say("resolved_without_day")),
        (pl.col("case_id").is_duplicated(), say("twice", "case_id")),
    ]  # fmt: skip
    reason = pl.lit(None, pl.String)
    for cond, text in reversed(checks):
        text = pl.lit(text) if isinstance(text, str) else text
        reason = pl.when(cond.fill_null(False)).then(text).otherwise(reason)
    tagged = frame.with_columns(reason.alias("_reason"))
    good = tagged.filter(pl.col("_reason").is_null()).drop("_reason")
    bad_rows = tagged.filter(pl.col("_reason").is_not_null())
    # Quarantined raw rows never keep personal data: a quarantine is read by feed admins.
    raw = [
        json.dumps({k: v for k, v in r.items() if k not in (*PERSONAL_FIELDS, "_reason")},
                   ensure_ascii=False, default=str)
        for r in bad_rows.iter_rows(named=True)
    ]  # fmt: skip
    bad = pl.DataFrame({"raw": raw, "reason": bad_rows["_reason"].to_list()},
                       schema={"raw": pl.String, "reason": pl.String})  # fmt: skip
    return good, bad


def _derive_reports(cur, source: str) -> None:
    """The source's id_cases_* report rows, per ward and month opened, from its cases."""
    cur.execute("DELETE FROM report WHERE source = $source", {"source": source})
    cur.execute(
        """
        INSERT INTO report (source, unit_code, period_start, grain, measure_code, procedure_code,
                            value, batch_id)
        SELECT source, ward_code, month, 'month', measure, NULL, value, batch
        FROM (
            SELECT source, ward_code, date_trunc('month', opened_on) AS month, max(batch_id) AS batch,
                   count(*) AS id_cases_opened,
                   count(*) FILTER (WHERE status = 'resolved') AS id_cases_resolved,
                   count(*) FILTER (WHERE status = 'resolved' AND resolved_on <= due_on)
                       AS id_cases_resolved_on_time
            FROM id_case WHERE source = $source GROUP BY ALL
        ) UNPIVOT (value FOR measure IN (id_cases_opened, id_cases_resolved,
                                         id_cases_resolved_on_time))
        """,
        {"source": source},
    )


def _newest(good: pl.DataFrame) -> datetime | None:
    """The newest moment the cases describe: their update time, else their newest date."""
    if not good.height:
        return None
    updated = good["updated_at"].max()
    if updated is not None:
        return updated
    day = good.select(
        pl.max_horizontal(pl.col("opened_on").max(), pl.col("resolved_on").max())
    ).item()
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day is not None else None


def load_cases(
    db: Database, config: Config, batch: CaseBatch, now: datetime | None = None
) -> BatchResult:
    """Load one case batch (see the module docstring); failures are recorded, never raised."""
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    try:
        good, bad = check_cases(conform_cases(batch.cases), config)
        rejects = pl.DataFrame(
            {"raw": [r.raw for r in batch.rejects], "reason": [r.reason for r in batch.rejects]},
            schema={"raw": pl.String, "reason": pl.String},
        )
        bad = pl.concat([rejects, bad])
        read = batch.rows_read if batch.rows_read is not None else good.height + bad.height
        with db.transaction() as cur:
            batch_id = _next_batch_id(cur)
            _insert_batch_row(cur, batch_id, batch, now, "running")
            old = _replaced_batches(cur, batch)
            cur.register("incoming_case", good.to_arrow())
            cur.execute(
                f"""DELETE FROM id_case WHERE source = $source
                AND (batch_id IN (SELECT unnest({old or [-1]}))
                     OR case_id IN (SELECT case_id FROM incoming_case))""",
                {"source": batch.source},
            )
            cols = ", ".join(CASE_SCHEMA)
            cur.execute(
                f"INSERT INTO id_case ({cols}, source, batch_id)"
                f" SELECT {cols}, $source, {batch_id} FROM incoming_case",
                {"source": batch.source},
            )
            cur.unregister("incoming_case")
            _derive_reports(cur, batch.source)
            refresh_report_periods(cur, config, batch.source, None)
            refresh_months(cur, batch.source, None)  # the monthly rollup the boards also read
            _quarantine(cur, batch_id, batch.source, bad, now)
            if batch.state is not None:
                cur.execute("DELETE FROM feed_state WHERE source = ?", [batch.source])
                cur.execute("INSERT INTO feed_state VALUES (?, ?, ?)",
                            [batch.source, json.dumps(batch.state, default=str), now])  # fmt: skip
            newest = _newest(good)
            cur.execute(
                """UPDATE load_batch SET finished_at = ?, rows_read = ?, rows_loaded = ?,
                rows_quarantined = ?, status = 'ok', newest_data_at = ? WHERE batch_id = ?""",
                [datetime.now(UTC), read, good.height, bad.height,
                 min(newest, now) if newest is not None else None, batch_id],
            )  # fmt: skip
            Database.bump_data_version(cur)
    except Exception as exc:  # noqa: BLE001 — a failed batch is recorded like any other
        from warehouse.loading import Loader

        return Loader(db, config).record_failure(
            batch, f"{type(exc).__name__}: {exc}", now, started
        )
    reasons = dict(bad.group_by("reason").len().iter_rows()) if bad.height else {}
    return BatchResult(batch_id, batch.source, "ok", read, good.height, bad.height, None,
                       time.perf_counter() - started, reasons)  # fmt: skip
