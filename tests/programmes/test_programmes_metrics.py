"""The six programmes of issue 8 against hand-computed values, over a real DuckDB file."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from config import load_config
from connectors.feeds import parse_feed
from connectors.runner import run_feed
from metrics import query
from metrics.id_cases import MASK, case_counts, cases_for
from metrics.programmes import dti_table, form_fields, hour_of_week, is_after_hours, registry_sync
from tests.helpers import dossier, load, reports
from warehouse import Batch
from warehouse.cases import CaseBatch

MAR = (date(2024, 3, 1), date(2024, 3, 31))
COMMUNE = "CCHI-NHUANDUC"
NO_PAPER = "2.000815"  # commune-level certified copy: issues a result, no paper result
PAPER = "1.001193"  # birth registration: paper result


@pytest.fixture(scope="module")
def config():
    return load_config()


def one(frame: pl.DataFrame, column: str):
    assert frame.height == 1, frame
    return frame[column][0]


# ---- 1. QR at communes ----------------------------------------------------------------------


QR_ROWS = [
    # Monday 4 March 2024
    dossier("a", COMMUNE, "2024-03-04 07:29", channel="online", submit_method="qr"),  # after
    dossier("b", COMMUNE, "2024-03-04 07:30", channel="online", submit_method="qr"),  # office
    dossier("c", COMMUNE, "2024-03-04 16:59", channel="online", submit_method="portal"),  # office
    dossier("d", COMMUNE, "2024-03-04 17:00", channel="online", submit_method="app"),  # after
    dossier("e", COMMUNE, "2024-03-05 10:00", submit_method="desk"),  # Tuesday, office
    dossier("f", COMMUNE, "2024-03-09 10:00", channel="online", submit_method="qr"),  # Saturday
    # A department's city-level procedure is not a commune dossier.
    dossier("g", "SO-KHDT", "2024-03-09 22:00", channel="online", procedure="2.001610"),
]


def test_qr_share_of_commune_online_dossiers_and_after_hours_share(wh, config):
    load(wh, QR_ROWS)
    metrics = ["qr_count", "qr_share_online", "after_hours_rate"]
    city = query(wh.cursor(), config, metrics, "total", *MAR)
    # 3 QR of 5 commune online dossiers = 60%; after hours: a, d, f of 6 commune dossiers = 50%.
    assert one(city, "qr_count") == 3
    assert (one(city, "qr_share_online_num"), one(city, "qr_share_online_den")) == (3, 5)
    assert one(city, "qr_share_online") == pytest.approx(60.0)
    assert (one(city, "after_hours_rate_num"), one(city, "after_hours_rate_den")) == (3, 6)
    assert one(city, "after_hours_rate") == pytest.approx(50.0)
    commune = query(wh.cursor(), config, metrics, "total", *MAR, {"unit": COMMUNE})
    assert one(commune, "qr_share_online") == pytest.approx(60.0)


def test_office_hours_are_0730_to_1700_on_weekdays():
    assert is_after_hours(datetime(2024, 3, 4, 7, 29))
    assert not is_after_hours(datetime(2024, 3, 4, 7, 30))
    assert not is_after_hours(datetime(2024, 3, 4, 16, 59, 59))
    assert is_after_hours(datetime(2024, 3, 4, 17, 0))
    assert is_after_hours(datetime(2024, 3, 9, 10, 0))  # Saturday
    assert is_after_hours(datetime(2024, 3, 10, 10, 0))  # Sunday


def test_hour_of_week_heat_map_counts_local_hours(wh):
    load(wh, QR_ROWS)
    heat = hour_of_week(wh.cursor(), "CCHI", *MAR)
    assert heat.total == 6  # the department's dossier is not commune level
    assert heat.dossiers[0][7] == 2 and heat.qr[0][7] == 2  # Monday 07:29 and 07:30
    assert heat.dossiers[0][16] == 1 and heat.dossiers[0][17] == 1
    assert heat.dossiers[1][10] == 1  # Tuesday 10:00
    assert heat.dossiers[5][10] == 1 and heat.qr[5][10] == 1  # Saturday 10:00
    assert heat.after_hours == 3 and heat.after_hours_share == pytest.approx(50.0)
    online = hour_of_week(wh.cursor(), "CCHI", *MAR, online_only=True)
    assert online.total == 5 and online.after_hours == 3
    assert hour_of_week(wh.cursor(), "Q1", *MAR).total == 0


# ---- 4. Business registry reuse -------------------------------------------------------------


def test_business_registry_reuse_rate_counts_business_sectors_only(wh, config):
    rows = [
        dossier(f"k{i}", "SO-KHDT", "2024-03-04 09:00", procedure="2.001610", registry_reused=i < 3)
        for i in range(4)
    ]
    rows.append(dossier("h", "Q1", "2024-03-05 09:00", procedure="1.001570"))  # household business
    rows.append(dossier("x", "Q1", "2024-03-05 09:00", procedure=PAPER, registry_reused=True))
    load(wh, rows)
    frame = query(wh.cursor(), config, ["business_registry_reuse_rate"], "total", *MAR)
    assert (one(frame, "business_registry_reuse_rate_num"),
            one(frame, "business_registry_reuse_rate_den")) == (3, 5)  # fmt: skip
    assert one(frame, "business_registry_reuse_rate") == pytest.approx(60.0)
    assert one(frame, "business_registry_reuse_rate_target") == 50  # targets.csv, 2024


# ---- 6. Procedures without a paper result -----------------------------------------------------


def test_e_result_only_rate_covers_completed_dossiers_of_no_paper_procedures(wh, config):
    rows = [
        dossier("n1", COMMUNE, "2024-03-04 09:00", procedure=NO_PAPER,
                completed="2024-03-05 09:00", e_result=True),
        dossier("n2", COMMUNE, "2024-03-04 09:00", procedure=NO_PAPER,
                completed="2024-03-05 09:00", e_result=True),
        dossier("n3", COMMUNE, "2024-03-04 09:00", procedure=NO_PAPER,
                completed="2024-03-05 09:00", e_result=False),
        dossier("n4", COMMUNE, "2024-03-04 09:00", procedure=NO_PAPER),  # still open
        dossier("p1", COMMUNE, "2024-03-04 09:00", procedure=PAPER,
                completed="2024-03-05 09:00", e_result=True),  # has a paper result
    ]  # fmt: skip
    load(wh, rows)
    frame = query(wh.cursor(), config, ["e_result_only_rate", "e_result_rate"], "total", *MAR)
    assert (one(frame, "e_result_only_rate_num"), one(frame, "e_result_only_rate_den")) == (2, 3)
    assert one(frame, "e_result_only_rate") == pytest.approx(200 / 3)
    assert one(frame, "e_result_rate") == pytest.approx(75.0)  # 3 of 4 completed, all kinds


# ---- 3. Simpler forms ---------------------------------------------------------------------------


def _form_rows(year: int, proc: str, unit: str, before: float, removed: float) -> list[dict]:
    base = {"unit_code": unit, "period_start": date(year, 1, 1), "grain": "year",
            "procedure_code": proc}  # fmt: skip
    return [
        {**base, "measure_code": "form_fields_before", "value": before},
        {**base, "measure_code": "form_fields_after", "value": before - removed},
        {**base, "measure_code": "form_fields_removed", "value": removed},
    ]


def test_form_reduction_by_department_against_the_20_percent_target(wh, config):
    rows = (_form_rows(2025, NO_PAPER, "SO-TP", 20, 5)  # 25%
            + _form_rows(2025, PAPER, "SO-TP", 10, 1)  # 10%: short
            + _form_rows(2025, "2.001610", "SO-KHDT", 30, 3))  # 10%: short  # fmt: skip
    result = wh.load(Batch("forms", reports=reports(rows)))
    assert result.status == "ok" and result.rows_quarantined == 0, result.reasons
    year = (date(2025, 1, 1), date(2025, 12, 31))
    justice = query(wh.cursor(), config, ["form_field_reduction"], "total", *year,
                    {"unit": "SO-TP"})  # fmt: skip
    assert one(justice, "form_field_reduction") == pytest.approx(20.0)  # (5 + 1) / (20 + 10)
    assert one(justice, "form_field_reduction_target") == 20
    by_dept = query(wh.cursor(), config, ["form_field_reduction"], "total", *year, by=["unit"],
                    filters={"unit_kind": "department"})  # fmt: skip
    values = dict(zip(by_dept["unit_code"], by_dept["form_field_reduction"], strict=True))
    assert values == {"SO-TP": pytest.approx(20.0), "SO-KHDT": pytest.approx(10.0)}
    table = form_fields(wh.cursor(), config, 2025)
    assert table["procedure_code"].to_list() == [PAPER, "2.001610", NO_PAPER]  # worst first
    assert table["short"].to_list() == [True, True, False]
    assert table["reduction"].to_list() == pytest.approx([10.0, 10.0, 25.0])
    assert form_fields(wh.cursor(), config, 2025, "SO-TP").height == 2


def test_a_report_removing_more_fields_than_asked_is_quarantined(wh):
    rows = _form_rows(2025, PAPER, "SO-TP", 10, 12)
    result = wh.load(Batch("forms", reports=reports(rows)))
    assert result.rows_quarantined >= 1
    assert "numerator is larger than its denominator" in result.reasons


# ---- 2. DTI -------------------------------------------------------------------------------------


def _dti(unit: str, quarter: date, points: list[float]) -> list[dict]:
    comps = ["dti_awareness", "dti_institutions", "dti_infrastructure", "dti_human_resources",
             "dti_security", "dti_operations"]  # fmt: skip
    base = {"unit_code": unit, "period_start": quarter, "grain": "quarter", "procedure_code": None}
    rows = [{**base, "measure_code": c, "value": v} for c, v in zip(comps, points, strict=True)]
    rows.append({**base, "measure_code": "dti_points", "value": sum(points)})
    rows.append({**base, "measure_code": "dti_max_points", "value": 100.0})
    return rows


def test_dti_table_has_components_and_progress_per_department(wh, config):
    q2, q3 = date(2026, 4, 1), date(2026, 7, 1)
    rows = (_dti("SO-TP", q2, [6, 6, 9, 9, 10, 20]) + _dti("SO-TP", q3, [7, 7, 10, 10, 11, 21])
            + _dti("SO-XD", q3, [5, 4, 8, 8, 9, 16]))  # fmt: skip
    assert wh.load(Batch("dti", reports=reports(rows))).status == "ok"
    table = dti_table(wh.cursor())
    assert table["unit_code"].to_list() == ["SO-TP", "SO-XD"]  # best first
    tp = table.row(0, named=True)
    assert tp["period_start"] == q3 and tp["dti"] == pytest.approx(66.0)
    assert tp["dti_prev"] == pytest.approx(60.0) and tp["dti_change"] == pytest.approx(6.0)
    assert tp["dti_operations"] == 21
    xd = table.row(1, named=True)
    assert xd["dti"] == pytest.approx(50.0) and xd["dti_prev"] is None
    assert dti_table(wh.cursor(), period=q2)["unit_code"].to_list() == ["SO-TP"]
    # The catalog metric over both departments is their plain average: (66 + 50) / 2.
    frame = query(wh.cursor(), config, ["dti_index"], "quarter", q3, date(2026, 9, 30))
    assert one(frame, "dti_index") == pytest.approx(58.0)


# ---- 5. Identification-paper cases --------------------------------------------------------------


TODAY = date(2026, 11, 23)


def _case(case_id, ward, status, opened, due, resolved=None, age="6-11", group="street_child",
          name="Nguyễn Văn An", birth=date(2017, 5, 1), ident="000123456789"):  # fmt: skip
    return {"case_id": case_id, "ward_code": ward, "group_code": group, "age_group": age,
            "status": status, "proposed_solution": "Đăng ký khai sinh", "owner": "Tư pháp",
            "opened_on": opened, "due_on": due, "resolved_on": resolved, "full_name": name,
            "birth_date": birth, "id_number": ident,
            "updated_at": datetime(2026, 11, 20, tzinfo=UTC)}  # fmt: skip


CASES = [
    _case("c1", "Q1-BENNGHE", "in_progress", date(2026, 9, 1), date(2026, 10, 1)),  # overdue 53 d
    _case("c2", "Q1-BENNGHE", "new", date(2026, 11, 20), date(2026, 12, 20), age="0-5"),
    _case("c3", "Q1-TANDINH", "resolved", date(2026, 9, 5), date(2026, 10, 5), date(2026, 9, 30)),
    _case(
        "c4",
        COMMUNE,
        "resolved",
        date(2026, 9, 10),
        date(2026, 9, 20),
        date(2026, 10, 1),
        age="16-17",
        group="child_no_guardian",
    ),  # resolved late
    _case("bad", "NOWHERE", "new", date(2026, 9, 1), date(2026, 10, 1), name="Trần Thị Bí Mật"),
]


def _load_cases(wh):
    frame = pl.DataFrame(CASES)
    result = wh.load(CaseBatch("cases", cases=frame))
    assert result.status == "ok", result.error
    return result


def test_cases_load_into_their_table_and_bad_rows_leave_no_personal_data(wh):
    result = _load_cases(wh)
    assert (result.rows_loaded, result.rows_quarantined) == (4, 1)
    raw = wh.cursor().execute("SELECT raw, reason FROM quarantine").fetchall()
    assert raw[0][1] == "unknown ward NOWHERE"
    assert "Bí Mật" not in raw[0][0] and "full_name" not in json.loads(raw[0][0])
    _load_cases(wh)  # re-sent: replaces, never duplicates
    assert wh.cursor().execute("SELECT count(*) FROM id_case").fetchall()[0][0] == 4


def test_cases_for_masks_personal_fields_outside_the_justice_role(wh):
    _load_cases(wh)
    cur = wh.cursor()
    for role in (None, "leader", "department_head", "analyst", "admin", "wall"):
        masked = cases_for(role, "Q1", cur=cur, today=TODAY)
        assert masked["case_id"].to_list() == ["c2", "c3", "c1"]  # newest first, Q1 only
        assert set(masked["full_name"]) == {MASK} and set(masked["id_number"]) == {MASK}
        assert masked["birth_date"].null_count() == 3
    justice = cases_for("justice", None, cur=cur, today=TODAY)
    assert justice.height == 4
    assert set(justice["full_name"]) == {"Nguyễn Văn An"}
    assert justice.filter(pl.col("case_id") == "c1")["days_overdue"][0] == 53
    overdue = cases_for(None, None, cur=cur, today=TODAY, overdue_only=True)
    assert overdue["case_id"].to_list() == ["c1"]


def test_case_counts_by_status_ward_and_age_group(wh):
    _load_cases(wh)
    counts = case_counts(wh.cursor(), None, TODAY)
    assert counts.by_status == {"resolved": 2, "in_progress": 1, "new": 1}
    assert counts.by_ward == {"Q1-BENNGHE": 2}  # open cases
    assert counts.by_age_group == {"0-5": 1, "6-11": 1}
    assert (counts.total, counts.open, counts.overdue) == (4, 2, 1)
    assert case_counts(wh.cursor(), "CCHI", TODAY).total == 1


def test_case_measures_in_the_catalog_are_a_cohort_by_month_opened(wh, config):
    _load_cases(wh)
    sep = query(wh.cursor(), config, ["id_case_resolution_rate", "id_cases_opened_count"],
                "total", date(2026, 9, 1), date(2026, 9, 30))  # fmt: skip
    # Opened in September: c1, c3, c4; resolved: c3, c4 → 2 / 3.
    assert one(sep, "id_cases_opened_count") == 3
    assert one(sep, "id_case_resolution_rate") == pytest.approx(200 / 3)
    q1 = query(wh.cursor(), config, ["id_cases_opened_count"], "total", date(2026, 9, 1),
               date(2026, 11, 30), {"unit": "Q1"})  # fmt: skip
    assert one(q1, "id_cases_opened_count") == 3


# ---- 4. The registry integration's freshness ------------------------------------------------------


def test_a_registry_sync_log_that_stops_arriving_makes_the_feed_fail_then_stale(wh, tmp_path):
    from metrics.alerts.service import configure, evaluate_after_load

    folder = tmp_path / "registry"
    folder.mkdir()
    path = folder / "dkkd-dong-bo_2026-11.csv"
    path.write_text("Ngày;Mã đơn vị;Số bản ghi đồng bộ\n22/11/2026;SO-KHDT;812\n", "utf-8")
    feed = parse_feed("registry", {
        "kind": "files", "shape": "report", "schedule": {"every": "15m"}, "stale_after": "3h",
        "options": {"path": str(folder), "pattern": "dkkd-dong-bo_*", "separator": ";",
                    "grain": "day", "max_file_age": "2h"},
        "parse": {"date_format": "%d/%m/%Y"},
        "columns": {"Ngày": "period_start", "Mã đơn vị": "unit_code"},
        "measures": {"Số bản ghi đồng bộ": "registry_records_synced"},
    }, Path("feeds.toml"), {"files"})  # fmt: skip
    now = datetime.now(UTC)
    results = run_feed(wh, feed, now=now)
    assert [r.status for r in results] == ["ok"]
    sync = registry_sync(wh.cursor())
    assert sync.sources == ("registry",) and sync.newest_day == date(2026, 11, 22)
    # The integration stops: the newest log is three hours old.
    old = time.time() - 3 * 3600
    os.utime(path, (old, old))
    results = run_feed(wh, feed, now=now)
    assert results[-1].status == "failed" and "no new file" in results[-1].error
    configure(wh, feed_stale_after={"registry": feed.stale_after})
    later = datetime.now(UTC) + timedelta(hours=4)
    evaluate_after_load(wh, now=later, send=False)
    state = (
        wh.cursor()
        .execute("SELECT state FROM alert_instance WHERE alert_key = 'stale/registry'")
        .fetchall()
    )
    assert state == [("stale",)]


def test_programme_reads_refuse_a_unit_outside_the_readers_scope(wh, config):
    from metrics import scope

    _load_cases(wh)
    load(wh, QR_ROWS)
    scope.use_config(config)
    with scope.restricted("Q1"):
        assert case_counts(wh.cursor(), "Q1", TODAY).total == 3
        assert cases_for(None, "Q1-BENNGHE", cur=wh.cursor(), today=TODAY).height == 2
        for read in (
            lambda: case_counts(wh.cursor(), None, TODAY),
            lambda: cases_for("analyst", "CCHI", cur=wh.cursor(), today=TODAY),
            lambda: hour_of_week(wh.cursor(), "CCHI", *MAR),
            lambda: form_fields(wh.cursor(), config, 2025),
        ):
            with pytest.raises(scope.ScopeError):
                read()


def test_the_justice_role_follows_every_wards_cases_whatever_its_unit(wh, config):
    from metrics import scope

    _load_cases(wh)
    scope.use_config(config)
    with scope.restricted("SO-TP"):  # the Department of Justice's head
        assert cases_for("justice", None, cur=wh.cursor(), today=TODAY).height == 4
        assert case_counts(wh.cursor(), None, TODAY, role="justice").total == 4
        with pytest.raises(scope.ScopeError):
            cases_for("department_head", None, cur=wh.cursor(), today=TODAY)


def test_viewer_case_access_maps_the_justice_departments_head_to_the_justice_role():
    from metrics.id_cases import viewer_case_access

    assert viewer_case_access("department_head", "SO-TP") == ("justice", "SO-TP")
    assert viewer_case_access("department_head", "Q8") == ("department_head", "Q8")
    assert viewer_case_access("leader", None) == ("leader", None)
