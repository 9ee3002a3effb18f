"""Fuzzing the parsers (hypothesis): malformed CSV/XLSX/JSON, wrong types, huge values, wrong
encodings, formula-like cells. Each input ends as loaded rows, quarantined rows with a reason, or
a feed error (SourceError) — never another exception, never a failed load batch. And nothing a
source sends reaches an exported CSV/XLSX as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import SourceError
from connectors.feeds import Parse
from connectors.files import FilesConnector
from connectors.mapping import parse_dossiers, parse_reports
from connectors.national_portal import ENDPOINTS, PortalUnits, parse_response
from connectors.rest import records_frame
from dashboards._export import safe_cell, to_csv, to_xlsx
from tests.connectors.conftest import make_feed

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip

HEAD = ["Mã hồ sơ", "Mã đơn vị", "Mã thủ tục", "Kênh", "Ngày nhận", "Hạn trả", "Ngày trả",
        "Số hóa", "Bổ sung"]  # fmt: skip
COLUMNS = {"Mã hồ sơ": "dossier_id", "Mã đơn vị": "unit_code", "Mã thủ tục": "procedure_code",
           "Kênh": "channel", "Ngày nhận": "received_at", "Hạn trả": "due_at",
           "Ngày trả": "completed_at", "Số hóa": "record_digitized", "Bổ sung": "supplements"}  # fmt: skip
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
            '=HYPERLINK("http://evil.example","x")', "=1+1"]  # fmt: skip
GOOD = ["Q8-P04", "2.000815", "Trực tuyến", "05/03/2026 08:30", "09/03/2026 17:00", "", "1", "0"]

cell = st.one_of(
    st.sampled_from(GOOD + FORMULAS),
    st.text(max_size=30),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["31/02/2026 10:00", "2026-13-45", "00/00/0000", "9999-12-31T23:59:59Z",
                     "1e308", "NaN", "true", "null", "x" * 5000, "\x00", "\ufeff", "🙂"]),
)  # fmt: skip
rows = st.lists(st.lists(cell, min_size=0, max_size=len(HEAD) + 2), max_size=12)
ENCODINGS = ["utf-8", "utf-16", "cp1258", "latin-1", "utf-8-sig"]


@pytest.fixture
def files_feed(tmp_path):
    return make_feed("fz_files", "files", options={"path": str(tmp_path)}, columns=COLUMNS,
                     values={"channel": {"Trực tuyến": "online", "Trực tiếp": "direct"}},
                     parse=Parse(date_format="%d/%m/%Y %H:%M"))  # fmt: skip


def _csv_bytes(header: list[str], body: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(body)
    return buf.getvalue().encode(encoding, errors="replace")


def _load_or_feed_error(wh, connector: FilesConnector, name: str, data: bytes) -> None:
    try:
        pull = connector.parse_file(name, data, "digest")
    except SourceError as e:
        assert str(e)  # a feed error says what is wrong
        return
    result = wh.load(pull.batch("fz"))
    assert result.status == "ok", result.error  # bad rows are quarantined, not a failed batch
    assert all(reason for reason in result.reasons), result.reasons
    assert result.rows_loaded + result.rows_quarantined >= 0


@FUZZ
@given(body=rows, encoding=st.sampled_from(ENCODINGS), header_cut=st.integers(0, len(HEAD)))
def test_fuzzed_csv_files_load_quarantine_or_fail_the_feed(wh, config, files_feed, body,
                                                            encoding, header_cut):  # fmt: skip
    connector = FilesConnector(files_feed, config)
    data = _csv_bytes(HEAD[header_cut:] if header_cut % 3 else HEAD, body, encoding)
    _load_or_feed_error(wh, connector, "fz.csv", data)


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes_as_csv_or_xlsx_are_a_feed_error_or_rows(wh, config, files_feed, data):
    connector = FilesConnector(files_feed, config)
    for name in ("fz.csv", "fz.xlsx"):
        _load_or_feed_error(wh, connector, name, data)


@FUZZ
@given(
    body=rows,
    typed=st.lists(
        st.one_of(st.integers(-(2**62), 2**62), st.floats(), st.booleans(), st.dates(), st.none()),
        max_size=9,
    ),
)
def test_fuzzed_xlsx_sheets_with_typed_and_formula_cells(wh, config, files_feed, body, typed):
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    for r in body:  # a worksheet cannot hold control characters at all
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) for v in r])
    ws.append(typed)
    ws.append(FORMULAS[:9])
    out = io.BytesIO()
    wb.save(out)
    _load_or_feed_error(wh, FilesConnector(files_feed, config), "fz.xlsx", out.getvalue())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)


def _portal_dept(values: dict) -> dict:
    return {"departmentId": values.get("id", "d1"), "departmentCode": values.get("code", "X"),
            "departmentName": values.get("name", "Sở"), **values}  # fmt: skip


@FUZZ
@given(
    body=json_values,
    dept=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "received",
                "total",
                "onTime",
                "metrics",
                "children",
                "evaluation",
                "name",
                "code",
            ]
        ),
        json_values,
        max_size=6,
    ),
    endpoint=st.sampled_from(ENDPOINTS),
)
def test_fuzzed_national_portal_answers(body, dept, endpoint):
    units = PortalUnits({"d1": "SO-TP"}, {})
    for doc in (
        body,
        {"data": body},
        {"data": {"children": [_portal_dept(dept)]}},
        {"data": {"evaluation": [_portal_dept(dept)], "children": body}},
    ):
        try:
            good, rejects = parse_response(endpoint, doc, units, date(2026, 1, 1), "month")
        except SourceError as e:
            assert str(e)
            continue
        for r in rejects:
            assert r.reason
        for g in good:
            assert g["value"] is None or isinstance(g["value"], float | int)


@FUZZ
@given(
    records=st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "dossier_id",
                    "unit_code",
                    "procedure_code",
                    "channel",
                    "received_at",
                    "due_at",
                    "completed_at",
                    "record_digitized",
                    "supplements",
                    "extra",
                ]
            ),
            json_values,
            max_size=10,
        ),
        max_size=8,
    )
)
def test_fuzzed_rest_records_load_or_quarantine(wh, config, records):
    feed = make_feed("fz_rest", "rest")
    frame = records_frame(records)
    good, rejects = parse_dossiers(frame, feed)
    assert all(r.reason for r in rejects)
    from warehouse import Batch

    if good.height or rejects:
        result = wh.load(Batch("fz_rest", dossiers=good if good.height else None, rejects=rejects))
        assert result.status == "ok", result.error


@FUZZ
@given(values=st.lists(cell, min_size=1, max_size=6))
def test_fuzzed_report_sheets_load_or_quarantine(wh, config, values):
    feed = make_feed("fz_report", "files", "report")
    import polars as pl

    frame = pl.DataFrame({"unit_code": ["Q8"] * len(values), "period_start": values,
                          "measure_code": ["received"] * len(values), "value": values[::-1]})  # fmt: skip
    good, rejects = parse_reports(frame, feed, "month")
    assert all(r.reason for r in rejects)
    from warehouse import Batch

    result = wh.load(Batch("fz_report", reports=good if good.height else None, rejects=rejects))
    assert result.status in ("ok", "skipped"), result.error


# --- exports: no formula ever --------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
text_cells = st.one_of(st.sampled_from(FORMULAS), st.text(max_size=40))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    header=text_cells,
    values=st.lists(
        st.one_of(text_cells, st.floats(allow_nan=False), st.integers(), st.none()), max_size=8
    ),
)
def test_no_exported_cell_is_ever_a_formula(header, values):
    columns = [(f"c{i}", header if i == 0 else f"h{i}") for i in range(len(values) or 1)]
    rows = [{f"c{i}": v for i, v in enumerate(values)}]
    meta = [("filter unit", header), ("note", values[0] if values else "")]
    text = to_csv(columns, rows, meta).decode("utf-8-sig")
    table = text.split("\n\n", 1)[1]
    for record in csv.reader(io.StringIO(table, newline="")):
        for field in record:
            assert not field.startswith(FORMULA_START) or _is_number(field), field

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(to_xlsx(columns, rows, meta)))
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", c.value
                if isinstance(c.value, str):
                    assert not c.value.startswith(FORMULA_START), c.value
    for f in FORMULAS:
        assert safe_cell(f).startswith("'")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_a_formula_in_a_source_file_never_becomes_a_formula_in_an_export(wh, config, files_feed):
    """End to end: a dossier whose id is a formula is loaded as text; the export of anything
    built from it carries the text defused."""
    data = _csv_bytes(HEAD, [["=cmd|' /C calc'!A0", *GOOD[:6], "1", "0"]], "utf-8")
    pull = FilesConnector(files_feed, config).parse_file("f.csv", data, "d")
    assert pull.dossiers["dossier_id"].to_list() == ["=cmd|' /C calc'!A0"]
    assert wh.load(pull.batch("fz")).status == "ok"
    (dossier_id,) = wh.cursor().execute("SELECT dossier_id FROM dossier").fetchone()
    out = to_csv([("id", "id")], [{"id": dossier_id}], []).decode("utf-8-sig")
    assert "\n'=cmd|" in out
    assert json.dumps(safe_cell(dossier_id)).startswith("\"'=")


# Values as sources write them, the usual spellings and the rest: the quick readers
# (connectors/mapping.py: `_quick`) must read exactly what the general readers read. A column is
# read quickly only when every value is a usual spelling, so half the columns are only those.
USUAL_INSTANT = st.builds(
    lambda d, o: d.strftime("%Y-%m-%dT%H:%M:%S") + o,
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["Z", "+07:00", "-05:30", "+00:00", "+14:00", "-09:45"]),
)
INSTANT = st.one_of(USUAL_INSTANT, st.sampled_from([
    "2025-02-30T00:00:00+07:00", "2025-01-01 10:00+07:00", "2025-1-01T00:00:00Z",
    "2024-02-29T24:00:00Z", "2025-01-01T00:00:00+05:17", "2025-01-01T00:00:00",
    "2025-01-01T00:00:00.5+07:00", "2025-01-01T00:00:0007:00", "", " ", None,
]), st.text(max_size=26))  # fmt: skip
FLAG = st.one_of(st.sampled_from(["true", "có", "TRUE", " true", "", "maybe", "Có"]),
                 st.text(max_size=4))  # fmt: skip
USUAL_COUNT = st.sampled_from(["0", "12", "+3", "-1", "007", "99999999999", None])
COUNT = st.one_of(USUAL_COUNT, st.sampled_from(["1.0", "1,234", " 3 ", "1e3", "", "١٢"]),
                  st.text(max_size=5))  # fmt: skip
PARSES = st.sampled_from(
    [Parse(), Parse(true_values=("Có", "true", " y"), false_values=("true", "0"))]
)


def _column(data, n: int, usual, any_value) -> list:
    return data.draw(
        st.lists(data.draw(st.sampled_from([usual, any_value])), min_size=n, max_size=n)
    )


@FUZZ
@given(data=st.data(), parse=PARSES)
def test_quick_readers_read_exactly_what_the_general_readers_read(data, parse, monkeypatch):
    from connectors import mapping

    n = data.draw(st.integers(1, 8))
    usual_flag = st.sampled_from((*parse.true_values, *parse.false_values, None))
    columns = {
        "dossier_id": [str(i) for i in range(n)],
        "received_at": _column(data, n, USUAL_INSTANT, INSTANT),
        "e_result": _column(data, n, usual_flag, FLAG),
        "supplements": _column(data, n, USUAL_COUNT, COUNT),
    }
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    feed = make_feed("fz_quick", "files", options={"path": "/nonexistent"}, parse=parse)
    quick = parse_dossiers(frame, feed)
    with monkeypatch.context() as m:
        m.setattr(mapping, "_quick", lambda *a: None)
        general = parse_dossiers(frame, feed)
    assert quick[0].to_dicts() == general[0].to_dicts()
    assert quick[1] == general[1]


def test_quick_readers_take_the_usual_spellings():
    """The quick path is taken (not only agreed with): ISO instants, exact flags, integers."""
    from connectors.mapping import _read_quickly
    from warehouse.shapes import DOSSIER_SCHEMA

    frame = pl.DataFrame({"received_at": ["2026-10-01T01:40:00+07:00", "2026-10-01T01:40:00Z"],
                          "e_result": ["true", "có"], "supplements": ["0", "12"],
                          "paid_online": ["TRUE", "false"]})  # fmt: skip
    read = _read_quickly(frame, DOSSIER_SCHEMA, make_feed("fz_q", "files", options={"path": "/x"}))
    assert sorted(read) == ["e_result", "received_at", "supplements"]  # "TRUE": the general one
    assert read["received_at"].to_list() == [datetime(2026, 9, 30, 18, 40, tzinfo=UTC),
                                             datetime(2026, 10, 1, 1, 40, tzinfo=UTC)]  # fmt: skip
    assert read["e_result"].to_list() == [True, True]
