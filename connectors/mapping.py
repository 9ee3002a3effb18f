"""Pure parsing: a source's raw rows → canonical frames, plus the rows that could not be read.

No I/O here. Every connector ends in `parse_dossiers` or `parse_reports`: rename the source's
columns by the feed's mapping, translate coded values (e.g. "Trực tuyến" → "online"), read
numbers, dates and flags the way the feed writes them (decimal comma, dd/mm/yyyy, local time),
and split off rows with a value that cannot be read, as `Reject(raw JSON, reason)`. Whether a
readable row makes sense (known unit, completed ≥ received, …) is the loader's check, not ours.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import polars as pl

from connectors.feeds import Feed, Parse
from warehouse.loading import Reject
from warehouse.messages import say
from warehouse.shapes import DOSSIER_SCHEMA, REPORT_SCHEMA, UTC_TS
from warehouse.validate import ROW

# Text is normalized first ("T" between date and time, "Z" as +00:00), so few formats are
# tried; `%.f` also accepts no fraction. Each format costs a full pass over the column.
_ISO_AWARE = ("%Y-%m-%dT%H:%M:%S%.f%#z",)
_ISO_NAIVE = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_ISO_DATE = ("%Y-%m-%d",)


def canonical_columns(frame: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    """Rename mapped columns to canonical names; drop the rest (canonical names pass through).

    Header matching ignores a BOM, case and surrounding spaces: exports differ in those. A file's
    row numbers (`ROW`) pass through, so a reason can name the row.
    """
    wanted = {_norm(k): v for k, v in feed.columns.items()}
    keep: dict[str, str] = {}
    for col in frame.columns:
        target = wanted.get(_norm(col))
        if target is None and (col in DOSSIER_SCHEMA or col in REPORT_SCHEMA or col == ROW):
            target = col
        if target is not None and target not in keep.values():
            keep[col] = target
    return frame.select([pl.col(c).alias(t) for c, t in keep.items()])


def _norm(name: str) -> str:
    return name.replace("\ufeff", "").strip().casefold()


def _as_text(expr: pl.Expr) -> pl.Expr:
    text = expr.cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _number(expr: pl.Expr, dtype: pl.DataType, parse: Parse, src: pl.DataType) -> pl.Expr:
    if src.is_numeric():
        return expr.cast(dtype, strict=False)
    text = _as_text(expr).str.replace_all(r"\s", "")
    if parse.decimal_comma:  # "1.234,5": dots group thousands, the comma is the decimal point
        text = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    else:
        text = text.str.replace_all(",", "", literal=True)
    if dtype.is_integer():
        as_float = text.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.round(0)).then(as_float.cast(dtype, strict=False))
    return text.cast(dtype, strict=False)


def _flag(expr: pl.Expr, parse: Parse, src: pl.DataType) -> pl.Expr:
    if src == pl.Boolean:
        return expr
    if src.is_numeric():
        return expr != 0
    text = _as_text(expr).str.to_lowercase()
    return (
        pl.when(text.is_in(list(parse.true_values)))
        .then(True)
        .when(text.is_in(list(parse.false_values)))
        .then(False)
        .otherwise(None)
    )


def _formats(parse: Parse, date_only: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(offset-aware formats, naive formats) to try in order."""
    if parse.date_format:
        day = parse.date_format.split(" ")[0]
        return (), ((day,) if date_only else (parse.date_format, day))
    return ((), _ISO_DATE) if date_only else (_ISO_AWARE, _ISO_NAIVE)


def _timestamp(expr: pl.Expr, parse: Parse, src: pl.DataType) -> pl.Expr:
    local = parse.timezone
    if isinstance(src, pl.Datetime):
        if src.time_zone is None:  # a naive timestamp is the source's local wall time
            expr = expr.dt.replace_time_zone(local, ambiguous="earliest", non_existent="null")
        return expr.dt.convert_time_zone("UTC").cast(UTC_TS)
    if src == pl.Date:
        return expr.cast(pl.Datetime("us")).dt.replace_time_zone(local).dt.convert_time_zone("UTC")
    text = _as_text(expr)
    aware, naive = _formats(parse, date_only=False)
    if not parse.date_format:
        text = text.str.replace(r"^(\d{4}-\d\d-\d\d) ", "${1}T").str.replace(r"Z$", "+00:00")
    tries = [text.str.strptime(UTC_TS, f, strict=False) for f in aware]
    local_wall = pl.coalesce([text.str.strptime(pl.Datetime("us"), f, strict=False) for f in naive])
    tries.append(
        local_wall.dt.replace_time_zone(
            local, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
    )
    return pl.coalesce(tries) if len(tries) > 1 else tries[0]


# Every offset in use in the world ('Z', ±HH:MM by quarter hours): a rarer one takes the general
# reader.
_OFFSETS = {"Z": 0} | {
    f"{sign}{h:02d}:{m:02d}": (1 if sign == "+" else -1) * (h * 60 + m)
    for sign in "+-" for h in range(15) for m in (0, 15, 30, 45)
}  # fmt: skip


def _iso_instant(expr: pl.Expr) -> pl.Expr:
    """'YYYY-MM-DDTHH:MM:SS' + 'Z' or '±HH:MM', read by slicing: ~3× faster than strptime with
    an offset. Null for anything else (the caller then uses the general reader)."""
    wall = expr.str.slice(0, 19).str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False)
    offset = expr.str.slice(19).replace_strict(_OFFSETS, default=None, return_dtype=pl.Int64)
    return (wall - pl.duration(minutes=offset)).dt.replace_time_zone("UTC")


def _date(expr: pl.Expr, parse: Parse, src: pl.DataType) -> pl.Expr:
    if src == pl.Date:
        return expr
    if isinstance(src, pl.Datetime):
        return expr.dt.date()
    text = _as_text(expr).str.slice(0, 10)
    _, naive = _formats(parse, date_only=True)
    return pl.coalesce([text.str.strptime(pl.Date, f, strict=False) for f in naive])


def _converter(name: str, dtype: pl.DataType, feed: Feed, src: pl.DataType) -> pl.Expr:
    col, parse = pl.col(name), feed.parse
    if dtype == pl.String:
        text = _as_text(col)
        mapping = feed.values.get(name)
        if mapping:
            text = text.replace(mapping)
        return text
    if dtype == pl.Boolean:
        return _flag(col, parse, src)
    if isinstance(dtype, pl.Datetime):
        return _timestamp(col, parse, src)
    if dtype == pl.Date:
        return _date(col, parse, src)
    return _number(col, dtype, parse, src)


def _parse(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], feed: Feed
) -> tuple[pl.DataFrame, list[Reject]]:
    if frame.height == 0:
        schema = schema | ({ROW: pl.Int64()} if ROW in frame.columns else {})
        return pl.DataFrame(schema={c: t for c, t in schema.items() if c in frame.columns}), []
    present = [c for c in schema if c in frame.columns]
    # Convert once into temporary columns, then compare with the raw value: a value given but
    # not readable is the row's reason (the first such column wins). The check is a plain
    # boolean pass (a typed column needs no text: null in, null out); the messages are written
    # for the failing rows only.
    fast = _read_quickly(frame, schema, feed)
    converted = [
        fast[n] if n in fast else _converter(n, schema[n], feed, frame.schema[n]).alias(f"__{n}")
        for n in present
    ]
    tagged = frame.with_columns(converted)

    def given(n: str) -> pl.Expr:
        return _as_text(pl.col(n)).is_not_null() if frame.schema[n] == pl.String else (
            pl.col(n).is_not_null())  # fmt: skip

    # Text is kept as text, and a quick reader read every value given: only the other columns
    # can hold a value that cannot be read.
    readable = [n for n in present if schema[n] != pl.String and n not in fast]
    failed = [given(n) & pl.col(f"__{n}").is_null() for n in readable]
    mask = tagged.select(pl.any_horizontal(failed) if failed else pl.lit(False)).to_series()
    # Every row stays, even with no column of the schema (the loader then says what is missing);
    # a file's row numbers ride along (the loader's reasons name them).
    renamed = tagged.with_columns(pl.col(f"__{n}").alias(n) for n in present)
    good = renamed.drop(c for c in renamed.columns if c not in {*present, ROW})
    if not mask.any():
        return good, []
    reason = pl.coalesce(
        pl.when(f).then(pl.format(say("unreadable", n), _as_text(pl.col(n))))
        for f, n in zip(failed, readable, strict=True)
    )
    bad = tagged.filter(mask).with_columns(reason.alias("_reason"))
    rejects = [
        Reject(raw=_raw_json(row, frame.columns), reason=row["_reason"])
        for row in bad.iter_rows(named=True)
    ]
    return good.filter(~mask), rejects


def _quick(frame: pl.DataFrame, name: str, dtype: pl.DataType, feed: Feed) -> pl.Expr | None:
    """A quick reader of text column `name` for the usual spellings (ISO instants, flags written
    exactly as a true/false value, plain integers); None where the general reader is the only
    one. It returns null for anything else."""
    col = pl.col(name)
    if frame.schema[name] != pl.String:
        return None
    if isinstance(dtype, pl.Datetime) and not feed.parse.date_format:
        return _iso_instant(col)
    if dtype == pl.Boolean:
        # Exactly as `_flag` reads them: trimmed, lower case, a value listed as both is true.
        parse = feed.parse
        spelled = {v: False for v in parse.false_values} | {v: True for v in parse.true_values}
        spelled = {v: b for v, b in spelled.items() if v == v.strip().lower() and v}
        return col.replace_strict(spelled, default=None, return_dtype=pl.Boolean)
    if dtype.is_integer():
        return col.str.to_integer(strict=False).cast(dtype, strict=False)
    return None


def _read_quickly(
    frame: pl.DataFrame, schema: dict[str, pl.DataType], feed: Feed
) -> dict[str, pl.Series]:
    """{column: values} for the columns a quick reader read every given value of, all read in
    one pass (polars runs the columns in parallel); the rest need the general reader."""
    readers = {n: e for n in schema if n in frame.columns
               if (e := _quick(frame, n, schema[n], feed)) is not None}  # fmt: skip
    if not readers:
        return {}
    read = frame.with_columns(e.alias(f"__{n}") for n, e in readers.items())
    unread = read.select(
        (pl.col(f"__{n}").is_null() & pl.col(n).is_not_null() & (pl.col(n) != "")).any()
        for n in readers
    )
    return {n: read[f"__{n}"] for n in readers if not unread[f"__{n}"].item()}


def _raw_json(row: dict, columns: Iterable[str]) -> str:
    return json.dumps({c: row[c] for c in columns}, ensure_ascii=False, default=str)


def parse_dossiers(frame: pl.DataFrame, feed: Feed) -> tuple[pl.DataFrame, list[Reject]]:
    """Source rows → canonical dossier columns (those the source has) and unreadable rows."""
    return _parse(canonical_columns(frame, feed), DOSSIER_SCHEMA, feed)


def parse_reports(
    frame: pl.DataFrame, feed: Feed, grain: str | None = None
) -> tuple[pl.DataFrame, list[Reject]]:
    """Source rows → canonical report rows.

    A *wide* sheet (one row per unit and period, one column per measure, as departments keep
    them) is unpivoted by the feed's `measures` table first; `grain` fills a missing grain column.
    """
    if feed.measures:
        ids = {_norm(k): v for k, v in feed.columns.items()}
        id_cols = [c for c in frame.columns if _norm(c) in ids or c == ROW]
        wanted = {_norm(k): v for k, v in feed.measures.items()}
        measure_cols = [c for c in frame.columns if _norm(c) in wanted]
        frame = frame.with_columns([pl.col(c).cast(pl.String) for c in measure_cols]).unpivot(
            index=id_cols, on=measure_cols, variable_name="measure_code", value_name="value"
        )
        frame = frame.with_columns(
            pl.col("measure_code").map_elements(lambda c: wanted[_norm(c)], pl.String)
        )
    frame = canonical_columns(frame, feed) if not feed.measures else _rename_ids(frame, feed)
    if "grain" not in frame.columns and grain is not None:
        frame = frame.with_columns(pl.lit(grain).alias("grain"))
    return _parse(frame, REPORT_SCHEMA, feed)


def _rename_ids(frame: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    renamed = canonical_columns(frame.drop("measure_code", "value"), feed)
    return renamed.with_columns(frame["measure_code"], frame["value"])
