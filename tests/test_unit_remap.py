"""Old unit codes after the unit's last day (issue 25): loaded under the successor when there is
one to take them, quarantined with the reason when the old unit was divided or simply ended.

A small reorganisation added to the shipped units, all wards directly under the city:
ward A merges into B on 1 March 2025, and B into the new ward C on 1 July 2025 (a chain: an A
row of April goes to B, of August to C); ward V is divided on 1 July 2025, its history going to
N2 (share 1) and only named for N (share 0); ward R ends on 30 June 2025 with no successor.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from config import CONFIG_DIR, load_config
from tests.helpers import dossier, dossiers, reports
from warehouse import Batch, open_warehouse
from warehouse.db import scalar
from warehouse.messages import words

A, B, C, V, N, N2, R = "T-A", "T-B", "T-C", "T-V", "T-N", "T-N2", "T-R"

UNITS = f"""\
{A},HCM,ward,Phường A,Ward A,2000-01-01,2025-02-28,
{B},HCM,ward,Phường B,Ward B,2000-01-01,2025-06-30,
{C},HCM,ward,Phường C,Ward C,2025-07-01,,
{V},HCM,ward,Phường V,Ward V,2000-01-01,2025-06-30,
{N},HCM,ward,Phường Mới,New Ward,2025-07-01,,
{N2},HCM,ward,Phường Mới 2,New Ward 2,2025-07-01,,
{R},HCM,ward,Phường R,Ward R,2000-01-01,2025-06-30,
"""
SUCCESSIONS = f"""\
old_code,new_code,valid_from,share
{A},{B},2025-03-01,1
{B},{C},2025-07-01,1
{V},{N2},2025-07-01,1
{V},{N},2025-07-01,0
"""
DIVIDED = f"{V} was divided on 2025-07-01 among {N}, {N2}: send the new unit's code"
RETIRED = f"unit {R} ended on 2025-06-30 and has no successor unit"
NOW = datetime(2025, 9, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    directory = tmp_path_factory.mktemp("remap") / "config"
    shutil.copytree(CONFIG_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (directory / "units.csv").open("a", encoding="utf-8") as f:
        f.write(UNITS)
    (directory / "successions.csv").write_text(SUCCESSIONS, encoding="utf-8")
    return load_config(directory)


@pytest.fixture
def wh(tmp_path: Path, config):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    yield w
    w.close()


def units_of(wh, table: str = "dossier", key: str = "dossier_id") -> dict[str, str]:
    rows = wh.cursor().execute(f"SELECT {key}, unit_code FROM {table}").fetchall()
    return dict(rows)


def quarantined(wh) -> dict[str, str]:
    """Quarantined dossier id (or report unit and period) → reason."""
    out = {}
    for raw, reason in wh.cursor().execute("SELECT raw, reason FROM quarantine").fetchall():
        row = json.loads(raw)
        out[row.get("dossier_id") or f"{row['unit_code']} {row['period_start']}"] = reason
    return out


def remapped_in_batch(wh, batch_id: int) -> int:
    return scalar(wh.cursor(), "SELECT rows_remapped FROM load_batch WHERE batch_id = ?",
                  [batch_id])  # fmt: skip


def test_a_merged_wards_dossier_after_its_last_day_loads_under_its_heir(wh):
    result = wh.load(Batch("desk", dossiers=dossiers([
        dossier("b-aug", B, "2025-08-04 09:00"),
        dossier("c-aug", C, "2025-08-05 09:00"),
        dossier("b-jun", B, "2025-06-30 16:00"),  # B's last day: still B
    ])), NOW)  # fmt: skip
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("ok", 3, 0)
    assert result.rows_remapped == 1
    assert remapped_in_batch(wh, result.batch_id) == 1
    assert units_of(wh) == {"b-aug": C, "c-aug": C, "b-jun": B}


def test_a_chain_of_successions_is_followed_to_the_unit_of_the_rows_day(wh):
    result = wh.load(Batch("desk", dossiers=dossiers([
        dossier("a-feb", A, "2025-02-28 23:30"),  # A's last day, local time: stays A
        dossier("a-mar", A, "2025-03-01 00:30"),  # 28 Feb 17:30 UTC, 1 March in the city: B
        dossier("a-apr", A, "2025-04-01 09:00"),
        dossier("a-aug", A, "2025-08-04 09:00"),
        dossier("b-apr", B, "2025-04-02 09:00"),  # B is still valid in April
    ])), NOW)  # fmt: skip
    assert (result.rows_loaded, result.rows_quarantined, result.rows_remapped) == (5, 0, 3)
    assert units_of(wh) == {"a-feb": A, "a-mar": B, "a-apr": B, "a-aug": C, "b-apr": B}


def test_a_divided_wards_row_after_the_division_is_quarantined_naming_its_successors(wh):
    result = wh.load(Batch("desk", dossiers=dossiers([
        dossier("v-jun", V, "2025-06-30 09:00"),
        dossier("v-jul", V, "2025-07-01 00:10"),
        dossier("n-jul", N, "2025-07-02 09:00"),
    ])), NOW)  # fmt: skip
    assert (result.rows_loaded, result.rows_quarantined, result.rows_remapped) == (2, 1, 0)
    assert result.reasons == {DIVIDED: 1}
    assert quarantined(wh) == {"v-jul": DIVIDED}
    assert units_of(wh) == {"v-jun": V, "n-jul": N}
    raw = json.loads(scalar(wh.cursor(), "SELECT raw FROM quarantine"))
    assert raw["unit_code"] == V and not any(k.startswith("_succ") for k in raw)
    assert words(DIVIDED, "vi") == (
        f"{V} đã được chia tách từ ngày 2025-07-01 thành {N}, {N2}: hãy gửi mã của đơn vị mới"
    )


def test_a_retired_unit_with_no_successor_is_quarantined_after_its_last_day(wh):
    result = wh.load(Batch("desk", dossiers=dossiers([
        dossier("r-jun", R, "2025-06-30 23:59"),
        dossier("r-jul", R, "2025-07-01 08:00"),
    ])), NOW)  # fmt: skip
    assert (result.rows_loaded, result.rows_quarantined, result.rows_remapped) == (1, 1, 0)
    assert quarantined(wh) == {"r-jul": RETIRED}
    assert units_of(wh) == {"r-jun": R}
    assert words(RETIRED, "vi") == (
        f"đơn vị {R} đã kết thúc vào ngày 2025-06-30 và không có đơn vị kế thừa"
    )


def month(unit: str, first: date, value: float, grain: str = "month") -> dict:
    return {"unit_code": unit, "period_start": first, "grain": grain,
            "measure_code": "received", "value": value}  # fmt: skip


def test_report_rows_are_remapped_or_quarantined_by_their_period_start(wh):
    result = wh.load(Batch("sheet", reports=reports([
        month(A, date(2025, 2, 1), 10.0),  # A's last month: stays A
        month(A, date(2025, 4, 1), 11.0),  # → B
        month(B, date(2025, 7, 1), 12.0, "quarter"),  # → C
        month(A, date(2025, 8, 1), 13.0),  # → B → C
        month(V, date(2025, 7, 1), 14.0),
        month(R, date(2025, 7, 1), 15.0),
        month(R, date(2025, 6, 1), 16.0),
    ])), NOW)  # fmt: skip
    assert (result.rows_loaded, result.rows_quarantined, result.rows_remapped) == (5, 2, 3)
    stored = (
        wh.cursor()
        .execute("SELECT unit_code, period_start, grain, value FROM report ORDER BY value")
        .fetchall()
    )
    assert stored == [
        (A, date(2025, 2, 1), "month", 10.0),
        (B, date(2025, 4, 1), "month", 11.0),
        (C, date(2025, 7, 1), "quarter", 12.0),
        (C, date(2025, 8, 1), "month", 13.0),
        (R, date(2025, 6, 1), "month", 16.0),
    ]
    assert quarantined(wh) == {f"{V} 2025-07-01": DIVIDED, f"{R} 2025-07-01": RETIRED}


def test_the_same_batch_sent_again_loads_nothing_twice(wh):
    rows = [dossier("a-apr", A, "2025-04-01 09:00"), dossier("b-aug", B, "2025-08-04 09:00")]
    figures = [month(A, date(2025, 4, 1), 11.0), month(B, date(2025, 8, 1), 12.0)]
    first = wh.load(Batch("desk", dossiers=dossiers(rows)), NOW)
    sheet = wh.load(Batch("sheet", reports=reports(figures)), NOW)
    facts = wh.cursor().execute("SELECT * FROM fact ORDER BY ALL").fetchall()
    again = wh.load(Batch("desk", dossiers=dossiers(rows)), NOW)
    sheet_again = wh.load(Batch("sheet", reports=reports(figures)), NOW)
    assert [r.rows_remapped for r in (first, sheet, again, sheet_again)] == [2, 2, 2, 2]
    assert units_of(wh) == {"a-apr": B, "b-aug": C}
    assert scalar(wh.cursor(), "SELECT count(*) FROM dossier") == 2
    stored = wh.cursor().execute("SELECT unit_code, value FROM report ORDER BY value").fetchall()
    assert stored == [(B, 11.0), (C, 12.0)]
    assert wh.cursor().execute("SELECT * FROM fact ORDER BY ALL").fetchall() == facts


def feed(name: str):
    from connectors.base import Feed, Schedule

    return Feed(name, "files", "dossier", True, Schedule(every=timedelta(minutes=15)),
                timedelta(hours=3))  # fmt: skip


def test_feed_status_and_the_sources_page_show_the_remapped_rows(wh, tmp_path, monkeypatch):
    from connectors.runner import feed_status

    wh.load(Batch("desk", dossiers=dossiers([
        dossier("a-apr", A, "2025-04-01 09:00"),
        dossier("a-aug", A, "2025-08-04 09:00"),
        dossier("b-aug", B, "2025-08-05 09:00"),
    ])), NOW)  # fmt: skip
    wh.load(Batch("desk", dossiers=dossiers([dossier("b-sep", B, "2025-08-30 09:00")])), NOW)
    wh.load(Batch("other", dossiers=dossiers([dossier("c-aug", C, "2025-08-04 09:00")])), NOW)
    status = {r["name"]: r for r in feed_status(wh, {"desk": feed("desk"), "other": feed("other"),
                                                     "never": feed("never")}, now=NOW)}  # fmt: skip
    counts = {name: (r["last_rows_remapped"], r["total_rows_remapped"])
              for name, r in status.items()}  # fmt: skip
    assert counts == {"desk": (1, 4), "other": (0, 0), "never": (None, 0)}

    import dash

    dash.Dash(__name__, use_pages=True, pages_folder=str(tmp_path))  # a page module needs an app
    from dashboards import sources

    monkeypatch.setattr(sources, "feed_rows", lambda: list(status.values()))

    def remapped_lines(lang: str) -> dict[str, list[str]]:
        table = sources.feeds_table(lang)
        rows = table.children[1].children
        out = {}
        for row in rows:
            loaded = row.children[5].children
            out[row.id.removeprefix("sources-row-")] = [
                c.children for c in loaded if not isinstance(c, str)
            ]
        return out

    assert remapped_lines("en") == {
        "desk": ["re-mapped to today's units: 1"], "other": [], "never": [],
    }  # fmt: skip
    assert remapped_lines("vi")["desk"] == ["đã chuyển sang đơn vị mới: 1"]


def test_the_shipped_units_have_none_retired_so_no_row_moves(tmp_path):
    shipped = load_config()
    wh = open_warehouse(tmp_path / "w.duckdb", shipped)
    result = wh.load(Batch("desk", dossiers=dossiers([
        dossier("x", "Q1-BENNGHE", "2025-08-04 09:00"),
    ])), NOW)  # fmt: skip
    assert (result.rows_loaded, result.rows_remapped) == (1, 0)
    assert units_of(wh) == {"x": "Q1-BENNGHE"}
    wh.close()
