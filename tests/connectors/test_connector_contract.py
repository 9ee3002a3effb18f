"""The contract every connector passes (one parametrized suite, as Meltano runs over every tap):

  * what it loads has the canonical shape;
  * a second run resumes from the saved cursor instead of re-reading everything;
  * re-running over unchanged data changes nothing;
  * rows it cannot read, and rows the loader refuses, land in quarantine with a reason.
Each case is a real source: files in a folder, an HTTP server on 127.0.0.1, a SQLite file, and
the national portal's API shape served over HTTP.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import polars as pl
import pytest
from conftest import Script, make_feed

from base.calendar import add_months
from connectors.feeds import Feed, Parse
from connectors.runner import run_feed
from warehouse import Warehouse
from warehouse.feeds import feed_state
from warehouse.shapes import DOSSIER_SCHEMA, REPORT_SCHEMA

T0 = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)
PROC = "2.000815"
UNITS = ["Q1-BENNGHE", "Q1-BENTHANH", "Q3-P01"]


def dossier(i: int, **over: Any) -> dict[str, Any]:
    received = T0 + timedelta(hours=i)
    row = {"dossier_id": f"D{i:05d}", "unit_code": UNITS[i % 3], "procedure_code": PROC,
           "channel": "online" if i % 2 else "direct", "received_at": received,
           "due_at": received + timedelta(days=3),
           "completed_at": received + timedelta(days=1) if i % 4 else None,
           "record_digitized": bool(i % 3), "supplements": i % 2,
           "updated_at": received + timedelta(days=1)}  # fmt: skip
    return row | over


def vi_time(v: Any) -> Any:
    if isinstance(v, datetime):
        return (v + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M")
    return v


# ---- the cases ------------------------------------------------------------------------------


@dataclass
class FilesCase:
    """A desk export folder; every put() drops a new file (Vietnamese headers, dd/mm/yyyy)."""

    folder: Path
    suffix: str
    shape: str = "dossier"
    n: int = 0
    HEAD: ClassVar[dict[str, str]] = {"dossier_id": "Mã hồ sơ", "unit_code": "Mã đơn vị", "procedure_code": "Mã thủ tục",
            "channel": "Kênh", "received_at": "Ngày nhận", "due_at": "Hạn trả",
            "completed_at": "Ngày trả", "record_digitized": "Số hóa", "supplements": "Bổ sung",
            "updated_at": "Cập nhật"}  # fmt: skip

    def feed(self) -> Feed:
        return make_feed("case_files", "files", options={"path": str(self.folder)},
                         columns={v: k for k, v in self.HEAD.items()},
                         values={"channel": {"Trực tuyến": "online", "Trực tiếp": "direct"}},
                         parse=Parse(date_format="%d/%m/%Y %H:%M"))  # fmt: skip

    def put(self, rows: list[dict[str, Any]]) -> None:
        self.n += 1
        vi = {"online": "Trực tuyến", "direct": "Trực tiếp"}
        data = {
            self.HEAD[k]: [
                vi.get(r.get(k), r.get(k)) if k == "channel"
                else ("Có" if r.get(k) else "Không") if k == "record_digitized"
                else None if r.get(k) is None else str(vi_time(r.get(k)))
                for r in rows
            ]
            for k in self.HEAD
        }  # fmt: skip
        frame = pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))
        path = self.folder / f"export_{self.n:03d}{self.suffix}"
        if self.suffix == ".csv":
            path.write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode())
        else:
            from openpyxl import Workbook

            wb = Workbook()
            ws = wb.active
            ws.append(frame.columns)
            for row in frame.iter_rows():
                ws.append(list(row))
            wb.save(path)


@dataclass
class RestCase:
    """A paged JSON API with an updated_since filter, bearer token from the environment."""

    serve: Any
    monkeypatch: Any
    shape: str = "dossier"
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""

    def __post_init__(self) -> None:
        self.monkeypatch.setenv("CASE_TOKEN", "s3cret")
        self.url = self.serve(Script(self.handle))

    def handle(self, req):
        if req.headers.get("Authorization") != "Bearer s3cret":
            return 401, {"error": "no"}, 0
        rows = sorted(self.records.values(), key=lambda r: (r["updated_at"], r["dossier_id"]))
        since = req.query.get("updated_since")
        if since:
            rows = [r for r in rows if r["updated_at"] >= since]
        page, size = int(req.query["page"]), int(req.query["size"])
        return 200, {"data": {"rows": rows[(page - 1) * size : page * size]}}, 0

    def feed(self) -> Feed:
        return make_feed("case_rest", "rest", options={
            "base_url": self.url, "path": "/dossiers", "records_path": "data.rows",
            "page_size": 7, "token_env": "CASE_TOKEN", "retries": 0})  # fmt: skip

    def put(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            self.records[r["dossier_id"]] = {
                k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()
            }


@dataclass
class SqliteCase:
    """A department's dossier table in a SQLite file, with naive local timestamps."""

    path: Path
    shape: str = "dossier"
    COLS = ("dossier_id", "unit_code", "procedure_code", "channel", "received_at", "due_at",
            "completed_at", "record_digitized", "supplements", "updated_at")  # fmt: skip

    def __post_init__(self) -> None:
        with sqlite3.connect(self.path) as con:
            con.execute("CREATE TABLE hs (dossier_id TEXT PRIMARY KEY, unit_code TEXT,"
                        " procedure_code TEXT, channel TEXT, received_at TIMESTAMP,"
                        " due_at TIMESTAMP, completed_at TIMESTAMP, record_digitized INTEGER,"
                        " supplements INTEGER, updated_at TIMESTAMP)")  # fmt: skip

    def feed(self) -> Feed:
        return make_feed("case_sql", "sql", options={
            "url": f"sqlite:///{self.path}", "table": "hs", "cursor_column": "updated_at",
            "key_column": "dossier_id", "chunk_rows": 4})  # fmt: skip

    def put(self, rows: list[dict[str, Any]]) -> None:
        def val(v):
            if isinstance(v, datetime):
                return (v + timedelta(hours=7)).replace(tzinfo=None).isoformat(sep=" ")
            return v

        with sqlite3.connect(self.path) as con:
            con.executemany(
                f"INSERT OR REPLACE INTO hs VALUES ({', '.join('?' * len(self.COLS))})",
                [[val(r.get(c)) for c in self.COLS] for r in rows],
            )


@dataclass
class PortalCase:
    """The 766 API's tree shape; put() adds agencies' counts for the current month."""

    serve: Any
    units_file: Path
    shape: str = "report"
    months: dict[date, dict[str, dict[str, Any]]] = field(default_factory=dict)
    url: str = ""

    def __post_init__(self) -> None:
        self.units_file.write_text(
            "portal_department_id,portal_code,unit_code,name\n"
            + "".join(f"id-{u},X.{u},{u},\n" for u in UNITS),
            encoding="utf-8",
        )
        self.url = self.serve(Script(self.handle))

    def handle(self, req):
        month = date(req.body["year"], req.body["month"], 1)
        children = list(self.months.get(month, {}).values())
        return 200, {"code": "0", "data": {"parent": {}, "children": children}}, 0

    def feed(self) -> Feed:
        return make_feed("case_portal", "national_portal", "report", options={
            "base_url": self.url, "root_department_id": "root", "units_file": str(self.units_file),
            "endpoints": ["dvc-progress-tree"], "lookback_periods": 0, "retries": 0})  # fmt: skip

    def put(self, rows: list[dict[str, Any]]) -> None:
        # One agency per row: dossier i becomes agency counts (received i+10, on time i+5).
        today = (datetime.now(UTC) + timedelta(hours=7)).date().replace(day=1)
        for r in rows:
            bad_time = not isinstance(r["received_at"], datetime)
            month = add_months(today, -(int(r["dossier_id"][1:]) % 2)) if not bad_time else today
            unit = r["unit_code"]
            received = "n/a" if bad_time else int(r["dossier_id"][1:]) + 10
            self.months.setdefault(month, {})[r["dossier_id"]] = {
                "departmentId": f"id-{unit}" if unit in UNITS else "id-unknown",
                "departmentCode": f"X.{unit}", "departmentName": unit, "level": "COMMUNE",
                "totalReceived": received, "totalOnTime": 0 if bad_time else received - 5,
                "totalOverdue": 5, "score": None,
            }  # fmt: skip


CASES = ["files_csv", "files_xlsx", "rest", "sqlite", "national_portal"]


@pytest.fixture(params=CASES)
def case(request, tmp_path, serve, monkeypatch):
    folder = tmp_path / "src"
    folder.mkdir()
    return {
        "files_csv": lambda: FilesCase(folder, ".csv"),
        "files_xlsx": lambda: FilesCase(folder, ".xlsx"),
        "rest": lambda: RestCase(serve, monkeypatch),
        "sqlite": lambda: SqliteCase(tmp_path / "dept.sqlite"),
        "national_portal": lambda: PortalCase(serve, tmp_path / "portal_units.csv"),
    }[request.param]()


# ---- the contract ---------------------------------------------------------------------------


def _table(case) -> str:
    return "dossier" if case.shape == "dossier" else "report"


def _snapshot(wh: Warehouse, case) -> list[tuple]:
    table = _table(case)
    cols = ", ".join(DOSSIER_SCHEMA if table == "dossier" else REPORT_SCHEMA)
    facts = wh.cursor().execute("SELECT * EXCLUDE (source) FROM fact ORDER BY ALL").fetchall()
    rows = wh.cursor().execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
    return rows + [("fact",)] + facts


def _ok(results) -> None:
    assert results and all(r.status == "ok" for r in results), [r.error for r in results]


def test_loads_the_canonical_shape(case, wh):
    case.put([dossier(i) for i in range(10)])
    feed = case.feed()
    _ok(run_feed(wh, feed))
    table = _table(case)
    schema = DOSSIER_SCHEMA if table == "dossier" else REPORT_SCHEMA
    frame = wh.cursor().sql(f"SELECT {', '.join(schema)} FROM {table}").pl()
    assert frame.height > 0
    # what the connector produced went through conform() unchanged: same values back
    from connectors.base import make_connector

    for pull in make_connector(feed, wh.config).pulls({}, None, None):
        got = pull.dossiers if table == "dossier" else pull.reports
        for col, dtype in got.schema.items():
            assert col in schema and dtype == schema[col], (col, dtype)
    if table == "dossier":
        row = (
            wh.cursor()
            .execute(
                "SELECT received_at, channel, record_digitized FROM dossier WHERE dossier_id = 'D00001'"
            )
            .fetchone()
        )
        assert row[0] == dossier(1)["received_at"]  # local times read as Ho Chi Minh City time
        assert row[1:] == ("online", True)


def test_resumes_from_its_cursor(case, wh):
    case.put([dossier(i) for i in range(12)])
    feed = case.feed()
    first = run_feed(wh, feed)
    _ok(first)
    read_first = sum(r.rows_read for r in first)
    case.put([dossier(i) for i in range(12, 15)])
    second = run_feed(wh, feed)
    _ok(second)
    read_second = sum(r.rows_read for r in second)
    assert 0 < read_second < read_first  # only what is new (and at most the cursor's tie)
    table = _table(case)
    count = (
        wh.cursor()
        .execute(
            f"SELECT count(DISTINCT {'dossier_id' if table == 'dossier' else 'measure_code || unit_code || period_start'}) FROM {table}"
        )
        .fetchone()[0]
    )
    if table == "dossier":
        assert count == 15
        assert feed_state(wh.cursor(), feed.name) or feed.kind == "files"
    else:
        assert count > 0


def test_rerun_changes_nothing(case, wh):
    case.put([dossier(i) for i in range(9)])
    feed = case.feed()
    _ok(run_feed(wh, feed))
    before = _snapshot(wh, case)
    _ok(run_feed(wh, feed))
    _ok(run_feed(wh, feed))
    assert _snapshot(wh, case) == before


def test_a_correction_replaces_the_earlier_value(case, wh):
    if case.shape != "dossier":
        pytest.skip("report corrections: see test_national_portal")
    case.put([dossier(i) for i in range(6)])
    feed = case.feed()
    _ok(run_feed(wh, feed))
    fixed = dossier(2, channel="online", updated_at=dossier(2)["updated_at"] + timedelta(days=2))
    case.put([fixed])
    _ok(run_feed(wh, feed))
    rows = wh.cursor().execute("SELECT channel FROM dossier WHERE dossier_id = 'D00002'").fetchall()
    assert rows == [("online",)]


def test_bad_rows_are_quarantined_with_reasons(case, wh):
    good = [dossier(i) for i in range(6)]
    unknown_unit = dossier(7, unit_code="NO-SUCH-UNIT")
    unreadable = dossier(8, received_at="31/31/2026 99:99")
    case.put(good + [unknown_unit, unreadable])
    results = run_feed(wh, case.feed())
    _ok(results)
    reasons = [r[0] for r in wh.cursor().execute("SELECT reason FROM quarantine").fetchall()]
    assert any("NO-SUCH-UNIT" in r for r in reasons), reasons
    assert any(("received_at" in r) or ("cannot read" in r) for r in reasons), reasons
    raws = [json.loads(r[0]) for r in wh.cursor().execute("SELECT raw FROM quarantine").fetchall()]
    assert all(isinstance(r, dict) for r in raws)
    assert sum(r.rows_loaded for r in results) > 0  # the good rows still load
