"""Exports of exactly what a board shows: CSV and XLSX with the metric definitions, the filters,
the as-of time and the numerator/denominator columns.

CSV: `# key: value` metadata lines, one blank line, then the table (UTF-8 with BOM so Excel reads
Vietnamese). XLSX: a "data" sheet and a "metadata" sheet. Text cells that a spreadsheet would run
as a formula (starting with = + - @, tab or CR) get a leading apostrophe (OWASP CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from config import Config

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The view of time an export's figures were counted in (issue 25, metrics/query.py VIEWS).
VIEW_NAMES = {
    "today": "today's units (every past fact counted under the unit that succeeds it today)",
    "as_was": "as it was (every fact counted under the hierarchy in force on its date)",
}


def view_line(view: str) -> tuple[str, str]:
    """The metadata line naming the view of time: `view: today's units (…)`."""
    return ("view", VIEW_NAMES.get(view, view))


def safe_cell(value: Any) -> Any:
    """Numbers stay numbers; text that could start a formula is defused with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def metric_definitions(config: Config, metrics: Sequence[str], lang: str) -> list[tuple[str, str]]:
    """One line per metric: name, and how it is computed from the catalog's measures."""
    out = []
    for code in metrics:
        m = config.metrics[code]
        num = (
            config.measures[m.numerator].name_vi
            if lang == "vi"
            else config.measures[m.numerator].name_en
        )
        if m.denominator is None:
            how = f"sum({num})"
        else:
            den = config.measures[m.denominator]
            how = f"{m.scale:g} × {num} / ({den.name_vi if lang == 'vi' else den.name_en})"
        out.append(
            (f"metric {code}", f"{m.name(lang)} [{m.unit}] = {how}; {m.direction} is better")
        )
    return out


def to_csv(
    columns: Sequence[tuple[str, str]], rows: Sequence[dict], meta: Sequence[tuple[str, str]]
) -> bytes:
    """`columns`: (key, header) pairs; `rows`: dicts by key; `meta`: (key, value) pairs."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def cell(value: Any) -> Any:
        # A lone CR is a line break to a spreadsheet but not quoted by the csv module: it would
        # start a new row whose first cell escapes the apostrophe. Make it a quoted newline.
        value = safe_cell(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value

    for key, value in meta:  # one cell each, quoted when it holds a comma: never a 2nd cell
        line = " ".join(f"{key}: {value}".split("\n")).replace("\r", " ")
        writer.writerow([f"# {line}"])
    buf.write("\n")
    writer.writerow([cell(h) for _, h in columns])
    for row in rows:
        writer.writerow([cell(row.get(k)) if row.get(k) is not None else "" for k, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(
    columns: Sequence[tuple[str, str]], rows: Sequence[dict], meta: Sequence[tuple[str, str]]
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    def safe_cell(value: Any) -> Any:  # control characters cannot be stored in a worksheet
        value = _safe_cell(value)
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value

    wb = Workbook()
    data = wb.active
    data.title = "data"
    data.append([safe_cell(h) for _, h in columns])
    for cell in data[1]:
        cell.font = Font(bold=True)
    for row in rows:
        data.append([safe_cell(row.get(k)) for k, _ in columns])
    data.freeze_panes = "A2"
    for i, (_, header) in enumerate(columns, start=1):
        data.column_dimensions[data.cell(1, i).column_letter].width = max(
            12, min(50, len(header) + 2)
        )
    info = wb.create_sheet("metadata")
    info.append(["key", "value"])
    for key, value in meta:
        info.append([safe_cell(str(key)), safe_cell(str(value))])
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 120
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


_safe_cell = safe_cell
