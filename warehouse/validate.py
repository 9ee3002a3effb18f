"""Row validation of canonical frames: pure functions, no I/O.

Each function splits a frame into the rows to load and the rows to quarantine, the latter with a
`raw` JSON copy of the row and the first `reason` it failed. Every row has a fate: a key sent
twice in one batch loads once (its latest update) and the other copies are quarantined, saying
which row was loaded when the source numbers its rows (a file's `rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from config import Config
from warehouse.messages import say
from warehouse.shapes import CHANNELS, DOSSIER_REQUIRED, GRAINS, REPORT_REQUIRED

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
# A file's row number (the header is row 1), carried next to a row from the reader to here.
ROW = "_row"
REPORT_KEY = ("unit_code", "period_start", "grain", "measure_code", "procedure_code")


@dataclass(frozen=True)
class Checked:
    good: pl.DataFrame
    bad: pl.DataFrame  # columns: raw (JSON of the row), reason


def _reason(checks: list[tuple[pl.Expr, str | pl.Expr]]) -> pl.Expr:
    """The first failed check's message, or null when the row passes every check.

    A check that is null (an optional column left empty) passes: required columns have their
    own null checks, which come first.
    """
    expr = pl.lit(None, dtype=pl.String)
    for failed, message in reversed(checks):
        msg = pl.lit(message) if isinstance(message, str) else message
        expr = pl.when(failed.fill_null(False)).then(msg).otherwise(expr)
    return expr


def _split(frame: pl.DataFrame, checks: list[tuple[pl.Expr, str | pl.Expr]]) -> Checked:
    """One vectorized pass of plain predicates over all rows; the reason messages (string
    formatting, JSON of the row) are built for the failing rows only."""
    # Each check's outcome over the whole frame (window checks need every row).
    flags = frame.select(f.fill_null(False).alias(f"_check{i}") for i, (f, _) in enumerate(checks))
    mask = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not mask.any():
        return Checked(frame, pl.DataFrame(schema={"raw": pl.String, "reason": pl.String}))
    failing = pl.concat([frame, flags], how="horizontal").filter(mask)
    outcomes = [(pl.col(f"_check{i}"), message) for i, (_, message) in enumerate(checks)]
    bad = failing.select(
        pl.struct(frame.columns).struct.json_encode().alias("raw"),
        _reason(outcomes).alias("reason"),
    )
    return Checked(frame.filter(~mask), bad)


def _missing(required: tuple[str, ...], schema: pl.Schema) -> list[tuple[pl.Expr, str]]:
    """Null, or empty text (only a text column can be empty: casting others costs a pass)."""
    return [
        (
            pl.col(c).is_null() | (pl.col(c) == "")
            if schema[c] == pl.String
            else pl.col(c).is_null(),
            say("missing", c),
        )
        for c in required
    ]


def _numbered(frame: pl.DataFrame, rows: pl.Series | None) -> pl.DataFrame:
    """The frame with its source row numbers as `ROW` (kept in a quarantined row's raw JSON)."""
    if rows is None or rows.len() != frame.height:
        return frame
    return frame.with_columns(rows.cast(pl.Int64).alias(ROW))


def _latest_wins(frame: pl.DataFrame, key: list[str], order: list[str], what: pl.Expr) -> Checked:
    """One row per `key`: the last by `order`, then by position (a later row of the source
    wins a tie). The others are quarantined, naming the row loaded instead (`what`: the key in
    words)."""
    cols = frame.columns
    last = [pl.col("_pos").last().over(key).alias("_kept")]
    if ROW in cols:
        last.append(pl.col(ROW).last().over(key).alias("_kept_row"))
    ranked = frame.with_row_index("_pos").sort([*order, "_pos"], nulls_last=False)
    ranked = ranked.with_columns(last)
    kept = ranked.filter(pl.col("_pos") == pl.col("_kept")).sort("_pos").select(cols)
    again = ranked.filter(pl.col("_pos") != pl.col("_kept")).sort("_pos")
    reason = (
        pl.format(say("duplicate_of_row"), pl.col("_kept_row"), what)
        if ROW in cols
        else pl.format(say("sent_again"), what)
    )
    bad = again.select(pl.struct(cols).struct.json_encode().alias("raw"), reason.alias("reason"))
    return Checked(kept, bad)


def check_dossiers(
    frame: pl.DataFrame, config: Config, now: datetime, rows: pl.Series | None = None
) -> Checked:
    """`rows`: the source's row number of each row (a file's), named in the reasons."""
    frame = _numbered(frame, rows)
    units = sorted(config.unit_codes())
    procedures = sorted(config.procedures)
    latest = now + FUTURE_SLACK
    checks: list[tuple[pl.Expr, str | pl.Expr]] = [
        *_missing(DOSSIER_REQUIRED, frame.schema),
        (
            ~pl.col("channel").is_in(list(CHANNELS)),
            pl.format(say("channel"), pl.col("channel")),
        ),
        (~pl.col("unit_code").is_in(units), pl.format(say("unknown_unit"), pl.col("unit_code"))),
        (
            ~pl.col("procedure_code").is_in(procedures),
            pl.format(say("unknown_procedure"), pl.col("procedure_code")),
        ),
        (
            (pl.col("received_at") < EARLIEST) | (pl.col("received_at") > latest),
            pl.format(
                say("received_outside"),
                pl.col("received_at").dt.strftime("%Y-%m-%d %H:%M UTC"),
            ),
        ),
        (
            pl.col("completed_at").is_not_null() & (pl.col("completed_at") < pl.col("received_at")),
            say("before", "completed_at", "received_at"),
        ),
        (pl.col("completed_at") > latest, say("future", "completed_at")),
        (pl.col("due_at") < pl.col("received_at"), say("before", "due_at", "received_at")),
        (pl.col("supplements") < 0, say("negative", "supplements")),
    ]
    checked = _split(frame, checks)
    good, bad = checked.good, checked.bad
    # A dossier sent twice in one batch: the latest update wins, deterministically, and every
    # other copy is quarantined saying so (it was dropped without a word before issue #24).
    if _has_duplicates(good["dossier_id"]):
        what = pl.format("dossier_id {}", "dossier_id")
        latest = _latest_wins(good, ["dossier_id"], ["updated_at"], what)
        good, bad = latest.good, pl.concat([bad, latest.bad])
    return Checked(good.drop(ROW, strict=False), bad)


def _has_duplicates(keys: pl.Series) -> bool:
    # Distinct 64-bit hashes are counted ~3× faster than distinct strings; equal hashes may be a
    # collision, so only then are the strings themselves compared.
    return keys.hash().n_unique() != keys.len() and keys.n_unique() != keys.len()


def ratio_pairs(config: Config) -> list[tuple[str, str]]:
    """(numerator, denominator) measure pairs of the catalog's ratio metrics (counts only)."""
    return sorted(
        {
            (m.numerator, m.denominator)
            for m in config.metrics.values()
            if m.denominator is not None and m.unit == "%"
        }
    )


def check_reports(frame: pl.DataFrame, config: Config, rows: pl.Series | None = None) -> Checked:
    """`rows`: the source's row number of each row (a file's), named in the reasons."""
    frame = _numbered(frame, rows)
    units = sorted(config.unit_codes())
    procedures = sorted(config.procedures)
    measures = sorted(config.measures)
    aligned = {
        "day": pl.lit(True),
        "week": pl.col("period_start").dt.weekday() == 1,
        "month": pl.col("period_start").dt.day() == 1,
        "quarter": (pl.col("period_start").dt.day() == 1)
        & ((pl.col("period_start").dt.month() - 1) % 3 == 0),
        "year": pl.col("period_start").dt.ordinal_day() == 1,
    }
    is_aligned = pl.lit(False)
    for grain, cond in aligned.items():
        is_aligned = pl.when(pl.col("grain") == grain).then(cond).otherwise(is_aligned)
    key = ["unit_code", "period_start", "grain", "procedure_code"]
    # numerator ≤ denominator, checked against the denominator row of the same key
    over = pl.lit(False)
    for num, den in ratio_pairs(config):
        den_value = pl.when(pl.col("measure_code") == den).then(pl.col("value")).max().over(key)
        over = over | ((pl.col("measure_code") == num) & (pl.col("value") > den_value))
    checks: list[tuple[pl.Expr, str | pl.Expr]] = [
        *_missing(REPORT_REQUIRED, frame.schema),
        (
            ~pl.col("grain").is_in(list(GRAINS)),
            pl.format(say("grain"), pl.col("grain")),
        ),
        (~pl.col("unit_code").is_in(units), pl.format(say("unknown_unit"), pl.col("unit_code"))),
        (
            ~pl.col("measure_code").is_in(measures),
            pl.format(say("unknown_measure"), pl.col("measure_code")),
        ),
        (
            pl.col("procedure_code").is_not_null() & ~pl.col("procedure_code").is_in(procedures),
            pl.format(say("unknown_procedure"), pl.col("procedure_code")),
        ),
        (~is_aligned, pl.format(say("unaligned"), "period_start", "grain")),
        (pl.col("value") < 0, say("negative", "value")),
        (~pl.col("value").is_finite(), say("not_finite", "value")),
        (over, say("over")),
    ]
    checked = _split(frame, checks)
    good, bad = checked.good, checked.bad
    # The same figure twice in one batch would be summed twice: the later row wins.
    if good.select(pl.struct(REPORT_KEY).is_duplicated().any()).item():
        what = pl.format("{} of {} for {} {}", "measure_code", "unit_code", "grain",
                         "period_start")  # fmt: skip
        latest = _latest_wins(good, list(REPORT_KEY), [], what)
        good, bad = latest.good, pl.concat([bad, latest.bad])
    return Checked(good.drop(ROW, strict=False), bad)
