"""The metrics layer against hand-computed values, over a real DuckDB file."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from config import CONFIG_DIR, load_config
from metrics import QueryError, query, rank_units
from tests.helpers import dossier, load, reports
from warehouse import Batch, open_warehouse
from warehouse.db import scalar

NOW = date(2026, 11, 23)
MAR = (date(2024, 3, 1), date(2024, 3, 31))


@pytest.fixture
def config():
    return load_config()


def value(frame: pl.DataFrame, column: str, **where) -> float | None:
    for key, v in where.items():
        frame = frame.filter(pl.col(key) == v)
    assert frame.height == 1, frame
    return frame[column][0]


def test_rate_is_ratio_of_sums_not_average_of_rates(wh, config):
    # Ward 9: 1 of 1 online (100%); Ward 10: 1 of 9 online (11.1%).
    # Average of rates would be 55.6%; the district's rate is 2 / 10 = 20%.
    rows = [dossier("a0", "Q11-P09", "2024-03-04 09:00", channel="online")]
    rows += [
        dossier(f"b{i}", "Q11-P05", "2024-03-04 09:00", channel="online" if i == 0 else "direct")
        for i in range(9)
    ]
    load(wh, rows)
    frame = query(wh.cursor(), config, ["online_rate"], "total", *MAR, {"unit": "Q11"})
    assert value(frame, "online_rate") == pytest.approx(20.0)
    assert (value(frame, "online_rate_num"), value(frame, "online_rate_den")) == (2, 10)


def test_district_equals_the_sum_of_its_wards_and_its_own_desk(wh, config):
    load(
        wh,
        [
            dossier("a", "Q11-P09", "2024-03-04 09:00", channel="online"),
            dossier("b", "Q11-P09", "2024-03-05 09:00"),
            dossier("c", "Q11-P05", "2024-03-05 09:00", channel="online"),
            dossier("d", "Q11", "2024-03-06 09:00", procedure="1.001612"),
            dossier("e", "Q1-BENNGHE", "2024-03-06 09:00", channel="online"),
        ],
    )
    by_unit = query(wh.cursor(), config, ["online_rate"], "total", *MAR, {"unit": "Q11"}, ["unit"])
    assert dict(zip(by_unit["unit_code"], by_unit["online_rate_den"], strict=True)) == {
        "Q11": 1,
        "Q11-P09": 2,
        "Q11-P05": 1,
    }
    total = query(wh.cursor(), config, ["online_rate"], "total", *MAR, {"unit": "Q11"})
    assert value(total, "online_rate_den") == by_unit["online_rate_den"].sum() == 4
    assert value(total, "online_rate") == pytest.approx(50.0)
    city = query(wh.cursor(), config, ["online_rate"], "total", *MAR, by=["unit"])
    assert value(city, "online_rate_den", unit_code="Q11") == 4
    assert value(city, "online_rate_den", unit_code="Q1") == 1


def test_zero_denominator_is_no_data_not_zero(wh, config):
    # 1.001612 (household business registration) bears a fee; 2.000815 does too, so use a
    # procedure without a fee for the payment rate and a month with nothing at all.
    free = next(p.code for p in config.procedures.values() if not p.fee_bearing)
    load(wh, [dossier("a", "Q11-P09", "2024-03-04 09:00", procedure=free)])
    frame = query(wh.cursor(), config, ["online_payment_rate", "online_rate"], "total", *MAR)
    assert value(frame, "online_payment_rate") is None
    assert value(frame, "online_payment_rate_den") == 0
    assert value(frame, "online_rate") == 0.0
    empty = query(
        wh.cursor(), config, ["online_rate"], "month", date(2025, 1, 1), date(2025, 1, 31)
    )
    assert empty.height == 0


def test_local_midnight_decides_the_year(wh, config):
    load(
        wh,
        [
            dossier("late-2023", "Q11-P09", "2023-12-31 23:30"),  # 16:30 UTC on 31 Dec
            dossier("early-2024", "Q11-P09", "2024-01-01 00:30"),  # 17:30 UTC on 31 Dec
        ],
    )
    frame = query(
        wh.cursor(), config, ["received_count"], "year", date(2023, 1, 1), date(2024, 12, 31)
    )
    assert frame.select("period", "received_count").rows() == [
        (date(2023, 1, 1), 1.0),
        (date(2024, 1, 1), 1.0),
    ]
    stored = scalar(wh.cursor(), "SELECT received_day FROM dossier WHERE dossier_id = 'late-2023'")
    assert stored == date(2023, 12, 31)


def test_grains_bucket_by_calendar(wh, config):
    load(
        wh,
        [
            dossier("sun", "Q11-P09", "2024-03-31 10:00"),  # Sunday: week of Mon 25 Mar, Q1
            dossier("mon", "Q11-P09", "2024-04-01 10:00"),  # Monday: new week, month, quarter
        ],
    )
    args = (wh.cursor(), config, ["received_count"])
    span = (date(2024, 3, 1), date(2024, 4, 30))
    assert query(*args, "week", *span)["period"].to_list() == [date(2024, 3, 25), date(2024, 4, 1)]
    assert query(*args, "quarter", *span)["period"].to_list() == [
        date(2024, 1, 1),
        date(2024, 4, 1),
    ]
    assert query(*args, "day", *span)["period"].to_list() == [date(2024, 3, 31), date(2024, 4, 1)]


def test_previous_period_and_year_over_year(wh, config):
    rows = [
        dossier("m23", "Q11-P09", "2023-03-10 09:00", channel="online"),
        dossier("m23b", "Q11-P09", "2023-03-10 09:00"),  # Mar 2023: 50%
        dossier("f24", "Q11-P09", "2024-02-10 09:00"),  # Feb 2024: 0%
        dossier("m24", "Q11-P09", "2024-03-10 09:00", channel="online"),  # Mar 2024: 100%
    ]
    load(wh, rows)
    frame = query(wh.cursor(), config, ["online_rate"], "month", *MAR, compare=True)
    assert value(frame, "online_rate", period=date(2024, 3, 1)) == 100.0
    assert value(frame, "online_rate_prev", period=date(2024, 3, 1)) == 0.0
    assert value(frame, "online_rate_yoy", period=date(2024, 3, 1)) == 50.0
    total = query(wh.cursor(), config, ["online_rate"], "total", *MAR, compare=True)
    assert (value(total, "online_rate_prev"), value(total, "online_rate_yoy")) == (0.0, 50.0)


def test_targets_with_unit_overrides(wh, config):
    load(
        wh,
        [
            dossier("a", "CGIO", "2024-03-04 09:00", procedure="1.001612", channel="online"),
            dossier("b", "Q1", "2024-03-04 09:00", procedure="1.001612"),
            dossier("c", "CGIO-CANTHANH", "2024-03-04 09:00"),
        ],
    )
    city = query(wh.cursor(), config, ["online_rate"], "total", *MAR, by=["unit"])
    assert value(city, "online_rate_target", unit_code="CGIO") == 60.0  # override for 2024
    assert value(city, "online_rate_target", unit_code="Q1") == 70.0  # city-wide 2024
    assert value(city, "online_rate_gap", unit_code="Q1") == pytest.approx(0 - 70.0)
    ward = query(wh.cursor(), config, ["online_rate"], "total", *MAR, {"unit": "CGIO-CANTHANH"})
    assert value(ward, "online_rate_target") == 60.0  # inherited from its district
    y2025 = query(
        wh.cursor(),
        config,
        ["online_rate"],
        "total",
        date(2025, 3, 1),
        date(2025, 3, 31),
        {"unit": "CGIO"},
    )
    assert value(y2025, "online_rate") is None  # no data in 2025: "no data", not a gap
    assert value(y2025, "online_rate_target") == 80.0
    assert value(y2025, "online_rate_gap") is None


def test_ranking_puts_best_first_and_no_data_last(wh, config):
    load(
        wh,
        [
            dossier("a", "Q1", "2024-03-04 09:00", procedure="1.001612", channel="online"),
            dossier("b", "Q3", "2024-03-04 09:00", procedure="1.001612"),
            dossier("c", "Q3", "2024-03-04 09:00", procedure="1.001612", channel="online"),
        ],
    )
    ranked = rank_units(wh.cursor(), config, "online_rate", *MAR, {"unit_kind": "district"})
    assert ranked.select("rank", "unit_code", "online_rate").rows()[:2] == [
        (1, "Q1", 100.0),
        (2, "Q3", 50.0),
    ]


def test_dossiers_and_reports_give_the_same_answer(tmp_path: Path, config):
    rows = [
        dossier(f"d{i}", unit, day, channel=ch, completed=done, record_digitized=dig)
        for i, (unit, day, ch, done, dig) in enumerate(
            [
                ("Q11-P09", "2024-01-05 09:00", "online", "2024-01-06 09:00", True),
                ("Q11-P09", "2024-01-20 09:00", "direct", "2024-01-28 09:00", False),
                ("Q11-P05", "2024-02-03 09:00", "online", None, True),
                ("Q11-P05", "2024-02-04 09:00", "online", "2024-02-05 09:00", True),
                ("Q1-BENNGHE", "2024-03-09 09:00", "postal", "2024-03-10 09:00", False),
            ]
        )
    ]
    metrics = ["online_rate", "on_time_rate", "record_digitization_rate", "avg_processing_days"]
    span = (date(2024, 1, 1), date(2024, 3, 31))
    from_dossiers = open_warehouse(tmp_path / "d.duckdb", config)
    load(from_dossiers, rows)
    # The same dossiers as a department's monthly sheet: one report row per unit, month, measure.
    facts = (
        from_dossiers.cursor()
        .sql(
            "SELECT unit_code, month_start AS period_start, sum(received) AS received,"
            " sum(received_online) AS received_online, sum(on_time) AS on_time,"
            " sum(record_digitized) AS record_digitized, sum(completed) AS completed,"
            " sum(processing_days_total) AS processing_days_total FROM fact GROUP BY ALL"
        )
        .pl()
    )
    sheet = facts.unpivot(index=["unit_code", "period_start"], variable_name="measure_code")
    sheet = sheet.with_columns(pl.lit("month").alias("grain"), pl.lit(None).alias("procedure_code"))
    from_reports = open_warehouse(tmp_path / "r.duckdb", config)
    result = from_reports.load(Batch("sheet", reports=reports(sheet.to_dicts())))
    assert result.status == "ok" and result.rows_quarantined == 0, result
    for grain in ("month", "quarter", "total"):
        for by in ([], ["unit"]):
            a = query(from_dossiers.cursor(), config, metrics, grain, *span, {"unit": "HCM"}, by)
            b = query(from_reports.cursor(), config, metrics, grain, *span, {"unit": "HCM"}, by)
            assert a.select(sorted(a.columns)).equals(b.select(sorted(b.columns))), (grain, by)


def test_a_null_reported_numerator_leaves_its_denominator_out(wh, config):
    rows = [
        {"unit_code": "Q1", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "received", "value": 10.0},
        {"unit_code": "Q1", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "received_online", "value": None},
        {"unit_code": "Q3", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "received", "value": 10.0},
        {"unit_code": "Q3", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "received_online", "value": 5.0},
    ]  # fmt: skip
    assert wh.load(Batch("sheet", reports=reports(rows))).rows_loaded == 4
    frame = query(wh.cursor(), config, ["online_rate", "received_count"], "total", *MAR)
    assert value(frame, "online_rate") == 50.0  # 5 / 10, not 5 / 20
    assert value(frame, "received_count") == 20.0
    q1 = query(wh.cursor(), config, ["online_rate"], "total", *MAR, {"unit": "Q1"})
    assert value(q1, "online_rate") is None  # not reported is "no data", never 0


def test_reorganisation_is_a_data_change(tmp_path: Path):
    """July 2025: a ward leaves its district and reports directly to the city."""
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = directory / "units.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ward = next(r for r in rows if r["code"] == "Q11-P09")
    ward["valid_to"] = "2025-06-30"
    rows.append({**ward, "parent_code": "HCM", "valid_from": "2025-07-01", "valid_to": ""})
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    config = load_config(directory)
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    load(
        wh,
        [
            dossier("june", "Q11-P09", "2025-06-30 10:00"),
            dossier("july", "Q11-P09", "2025-07-01 10:00"),
        ],
    )
    span = (date(2025, 6, 1), date(2025, 7, 31))
    q11 = query(wh.cursor(), config, ["received_count"], "month", *span, {"unit": "Q11"})
    assert q11.select("period", "received_count").rows() == [(date(2025, 6, 1), 1.0)]
    city = query(wh.cursor(), config, ["received_count"], "month", *span, by=["unit"])
    assert sorted(city.select("period", "unit_code").rows()) == [
        (date(2025, 6, 1), "Q11"),
        (date(2025, 7, 1), "Q11-P09"),
    ]


def test_bad_requests_get_clear_messages(wh, config):
    with pytest.raises(QueryError, match="unknown unit 'NOPE'"):
        query(wh.cursor(), config, ["online_rate"], "month", *MAR, {"unit": "NOPE"})
    with pytest.raises(QueryError, match="unknown metric 'speed'"):
        query(wh.cursor(), config, ["speed"], "month", *MAR)
    with pytest.raises(QueryError, match="unknown grain 'decade'"):
        query(wh.cursor(), config, ["online_rate"], "decade", *MAR)
    with pytest.raises(QueryError, match="unknown filter"):
        query(wh.cursor(), config, ["online_rate"], "month", *MAR, {"district": "Q1"})
