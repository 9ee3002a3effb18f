"""Row validation of canonical frames: pure functions, no I/O.

Each function splits a frame into the rows to load and the rows to quarantine, the latter with a
`raw` JSON copy of the row and the first `reason` it failed. Every row has a fate: a key sent
twice in one batch loads once (its latest update) and the other copies are quarantined, saying
which row was loaded when the source numbers its rows (a file's `rows`).

A row naming a retired unit after the unit's last day (issue #25: department systems keep
sending old codes for a while) loads under the unit that succeeds it on the row's day when that
is unambiguous (its heir, followed down a chain of successions), and is quarantined when the old
unit was divided or has no successor; see `_successions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import polars as pl

from base.tz import LOCAL_TZ
from config import Config
from config.model import FAR_FUTURE, Succession
from warehouse.messages import say
from warehouse.shapes import CHANNELS, DOSSIER_REQUIRED, GRAINS, REPORT_REQUIRED

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
# A file's row number (the header is row 1), carried next to a row from the reader to here.
ROW = "_row"
REPORT_KEY = ("unit_code", "period_start", "grain", "measure_code", "procedure_code")
# Helper columns of the succession step (`_successions`): never part of a row's raw JSON.
HELPER = "_succ_"
# A retired unit: its code, last day, heir, whether it was divided, its successors' first day
# and their codes.
_CODE, _LAST, _HEIR = f"{HELPER}code", f"{HELPER}last", f"{HELPER}heir"
_DIVIDED, _ON, _AMONG = f"{HELPER}divided", f"{HELPER}on", f"{HELPER}among"
# A row: its local day, the unit it loads under (or that stopped it), why it stopped if it did.
_DAY, _UNIT, _FATE = f"{HELPER}day", f"{HELPER}unit", f"{HELPER}fate"
_FROM = f"{HELPER}from"  # a loadable row's unit code as sent, next to the one it loads under


@dataclass(frozen=True)
class Checked:
    good: pl.DataFrame
    bad: pl.DataFrame  # columns: raw (JSON of the row), reason
    remapped: int = 0  # rows of `good` moved from a retired unit to its successor


def _raw(columns: list[str]) -> pl.Expr:
    """A row's JSON as the source sent it: no helper column, its own unit code."""
    fields = [
        pl.col(_FROM).alias(c) if c == "unit_code" and _FROM in columns else pl.col(c)
        for c in columns
        if not c.startswith(HELPER)
    ]
    return pl.struct(fields).struct.json_encode().alias("raw")


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
    bad = failing.select(_raw(frame.columns), _reason(outcomes).alias("reason"))
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
    bad = again.select(_raw(cols), reason.alias("reason"))
    return Checked(kept, bad)


def _retired_units(config: Config) -> pl.DataFrame:
    """One row per retired unit (its last period has a valid_to): its last day, its heir (the
    successor with share 1) if any, and whether it was divided (successors with share 0 too),
    with the day its successors start and their codes, for the reasons."""
    last: dict[str, date] = {}
    for u in config.units:
        last[u.code] = max(last.get(u.code, u.valid_to), u.valid_to)
    successors: dict[str, list[Succession]] = {}
    for s in config.successions:
        successors.setdefault(s.old_code, []).append(s)
    rows = []
    for code, day in sorted(last.items()):
        if day == FAR_FUTURE:
            continue
        after = successors.get(code, [])
        rows.append({
            _CODE: code,
            _LAST: day,
            _HEIR: next((s.new_code for s in after if s.share == 1), None),
            _DIVIDED: any(s.share < 1 for s in after),
            _ON: day + timedelta(days=1),
            _AMONG: ", ".join(sorted(s.new_code for s in after)),
        })  # fmt: skip
    schema = {_CODE: pl.String, _LAST: pl.Date, _HEIR: pl.String, _DIVIDED: pl.Boolean,
              _ON: pl.Date, _AMONG: pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _successions(
    frame: pl.DataFrame, config: Config, day: pl.Expr
) -> tuple[pl.DataFrame, list[tuple[pl.Expr, str | pl.Expr]]]:
    """The frame with the unit each row loads under (`_UNIT`), and the checks of the rows that
    name a retired unit after its last day (`day`: the row's local date) with no one unit to
    load under: the unit was divided (`unit_divided`), or has no successor (`unit_retired`).

    A row naming a unit valid on its day keeps it. One naming a retired unit after its last day
    goes to the unit's heir, then to the heir's heir while that one had ended too by the row's
    day (A→B on 2025-03-01, B→C on 2025-07-01: an A row of April 2025 goes to B, of August
    to C); a divided unit met on the way stops it. Successors start the day after their old
    unit's last day (config.loader checks it), so each step moves later and the steps end.
    A frame naming no retired unit (every batch while no unit is retired) is returned as is.
    """
    retired = _retired_units(config)
    if retired.height == 0 or not frame["unit_code"].is_in(retired[_CODE].to_list()).any():
        return frame, []
    state = frame.select(
        pl.col("unit_code").alias(_UNIT), day.alias(_DAY), pl.lit(None, pl.String).alias(_FATE)
    )
    for _ in range(retired.height):
        joined = state.join(
            retired, left_on=_UNIT, right_on=_CODE, how="left", maintain_order="left"
        )
        past = (pl.col(_DAY) > pl.col(_LAST)).fill_null(False) & pl.col(_FATE).is_null()
        if not joined.select(past.any()).item():
            break
        state = joined.select(
            pl.when(past & ~pl.col(_DIVIDED) & pl.col(_HEIR).is_not_null())
            .then(pl.col(_HEIR))
            .otherwise(pl.col(_UNIT))
            .alias(_UNIT),
            _DAY,
            pl.when(past & pl.col(_DIVIDED))
            .then(pl.lit("divided"))
            .when(past & pl.col(_HEIR).is_null())
            .then(pl.lit("retired"))
            .otherwise(pl.col(_FATE))
            .alias(_FATE),
        )
    # A stopped row's `_UNIT` is the unit that stopped it: its details word the reason.
    details = state.join(retired, left_on=_UNIT, right_on=_CODE, how="left", maintain_order="left")
    frame = pl.concat([frame, details.drop(_DAY, _HEIR, _DIVIDED)], how="horizontal")
    fate = pl.col(_FATE)
    checks: list[tuple[pl.Expr, str | pl.Expr]] = [
        (fate == "divided", pl.format(say("unit_divided"), _UNIT, _ON, _AMONG)),
        (fate == "retired", pl.format(say("unit_retired"), _UNIT, _LAST)),
    ]
    return frame, checks


def _moved(good: pl.DataFrame) -> pl.DataFrame:
    """The rows that passed under the unit they load under; the code sent kept as `_FROM`."""
    if _UNIT not in good.columns:
        return good
    helpers = [c for c in good.columns if c.startswith(HELPER) and c != _UNIT]
    return (
        good.drop(helpers)
        .with_columns(pl.col("unit_code").alias(_FROM), pl.col(_UNIT).alias("unit_code"))
        .drop(_UNIT)
    )


def _checked(good: pl.DataFrame, bad: pl.DataFrame) -> Checked:
    remapped = 0
    if _FROM in good.columns:
        remapped = good.select((pl.col(_FROM) != pl.col("unit_code")).sum()).item()
    return Checked(good.drop(ROW, _FROM, strict=False), bad, remapped)


def check_dossiers(
    frame: pl.DataFrame, config: Config, now: datetime, rows: pl.Series | None = None
) -> Checked:
    """`rows`: the source's row number of each row (a file's), named in the reasons."""
    frame = _numbered(frame, rows)
    units = sorted(config.unit_codes())
    procedures = sorted(config.procedures)
    latest = now + FUTURE_SLACK
    received_day = pl.col("received_at").dt.convert_time_zone(LOCAL_TZ).dt.date()
    frame, succession_checks = _successions(frame, config, received_day)
    checks: list[tuple[pl.Expr, str | pl.Expr]] = [
        *_missing(DOSSIER_REQUIRED, frame.schema),
        (
            ~pl.col("channel").is_in(list(CHANNELS)),
            pl.format(say("channel"), pl.col("channel")),
        ),
        (~pl.col("unit_code").is_in(units), pl.format(say("unknown_unit"), pl.col("unit_code"))),
        *succession_checks,
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
    good, bad = _moved(checked.good), checked.bad
    # A dossier sent twice in one batch: the latest update wins, deterministically, and every
    # other copy is quarantined saying so (it was dropped without a word before issue #24).
    if _has_duplicates(good["dossier_id"]):
        what = pl.format("dossier_id {}", "dossier_id")
        latest = _latest_wins(good, ["dossier_id"], ["updated_at"], what)
        good, bad = latest.good, pl.concat([bad, latest.bad])
    return _checked(good, bad)


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
    frame, succession_checks = _successions(frame, config, pl.col("period_start"))
    checks: list[tuple[pl.Expr, str | pl.Expr]] = [
        *_missing(REPORT_REQUIRED, frame.schema),
        (
            ~pl.col("grain").is_in(list(GRAINS)),
            pl.format(say("grain"), pl.col("grain")),
        ),
        (~pl.col("unit_code").is_in(units), pl.format(say("unknown_unit"), pl.col("unit_code"))),
        *succession_checks,
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
    # Under the unit it loads under: a re-mapped figure replaces its successor's own, the later
    # row of the batch winning as for any figure sent twice.
    good, bad = _moved(checked.good), checked.bad
    # The same figure twice in one batch would be summed twice: the later row wins.
    if good.select(pl.struct(REPORT_KEY).is_duplicated().any()).item():
        what = pl.format("{} of {} for {} {}", "measure_code", "unit_code", "grain",
                         "period_start")  # fmt: skip
        latest = _latest_wins(good, list(REPORT_KEY), [], what)
        good, bad = latest.good, pl.concat([bad, latest.bad])
    return _checked(good, bad)
