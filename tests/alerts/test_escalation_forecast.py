"""SLA escalation counts/lists over a real DuckDB file, and the year-end forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from metrics.alerts.escalation import escalation_counts, escalation_list
from metrics.forecast import forecast, forecast_units, forecasts, forecasts_by_unit, project
from tests.alerts.conftest import PROC, frame
from warehouse import Batch, open_warehouse

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def open_dossier(did, unit, due_in_hours, completed=False):
    due = NOW + timedelta(hours=due_in_hours)
    return {
        "dossier_id": did,
        "unit_code": unit,
        "procedure_code": PROC,
        "channel": "direct",
        "received_at": due - timedelta(days=5),
        "due_at": due,
        "completed_at": (due - timedelta(hours=1)) if completed else None,
    }


@pytest.fixture
def sla_wh(tmp_path, config):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    rows = [
        open_dossier("g1", "Q8-P04", 5),  # due in 5 h → green
        open_dossier("g2", "Q8-P05", 23.5),  # green
        open_dossier("later", "Q8-P04", 30),  # due in 30 h → not escalated
        open_dossier("y1", "Q8-P04", -2),  # 2 h overdue → yellow
        open_dossier("y2", "Q1-BENNGHE", -47),  # yellow
        open_dossier("r1", "Q1-BENNGHE", -49),  # red
        open_dossier("r2", "Q8-P16", -24 * 10),  # red
        open_dossier("done", "Q8-P04", -100, completed=True),  # completed → never escalated
    ]
    w.load(Batch("desk", dossiers=frame(rows)), now=NOW)
    yield w
    w.close()


def test_escalation_levels_follow_the_hcmc_plan(sla_wh):
    by_ward = escalation_counts(sla_wh.cursor(), NOW)
    got = {
        r["unit_code"]: (r["green"], r["yellow"], r["red"]) for r in by_ward.iter_rows(named=True)
    }
    assert got == {
        "Q8-P04": (1, 1, 0),
        "Q8-P05": (1, 0, 0),
        "Q8-P16": (0, 0, 1),
        "Q1-BENNGHE": (0, 1, 1),
    }
    by_district = escalation_counts(sla_wh.cursor(), NOW, unit_kind="district")
    got = {
        r["unit_code"]: (r["green"], r["yellow"], r["red"])
        for r in by_district.iter_rows(named=True)
    }
    assert got == {"Q8": (2, 1, 1), "Q1": (0, 1, 1)}
    assert by_district["unit_code"].to_list()[0] in ("Q8", "Q1")
    only_q1 = escalation_counts(sla_wh.cursor(), NOW, unit="Q1")
    assert only_q1["unit_code"].to_list() == ["Q1-BENNGHE"]


def test_escalation_list_is_most_overdue_first(sla_wh):
    red = escalation_list(sla_wh.cursor(), NOW, level="red")
    assert red["dossier_id"].to_list() == ["r2", "r1"]
    assert red["hours_overdue"].to_list() == [240.0, 49.0]
    everything = escalation_list(sla_wh.cursor(), NOW, unit="Q8")
    assert everything["dossier_id"].to_list() == ["r2", "y1", "g1", "g2"]
    assert everything["level"].to_list() == ["red", "yellow", "green", "green"]
    with pytest.raises(ValueError):
        escalation_list(sla_wh.cursor(), NOW, level="purple")


def test_escalation_rolls_up_to_the_children_of_a_unit(sla_wh):
    sla_wh.load(Batch("desk", dossiers=frame([open_dossier("own", "Q8", -3)])), now=NOW)
    cur = sla_wh.cursor()

    def levels(frame):
        return {r["unit_code"]: (r["green"], r["yellow"], r["red"])
                for r in frame.iter_rows(named=True)}  # fmt: skip

    assert levels(escalation_counts(cur, NOW, unit="HCM", by_child=True)) == {
        "Q8": (2, 2, 1), "Q1": (0, 1, 1),
    }  # fmt: skip
    assert levels(escalation_counts(cur, NOW, unit="Q8", by_child=True)) == {
        "Q8-P04": (1, 1, 0), "Q8-P05": (1, 0, 0), "Q8-P16": (0, 0, 1), "Q8": (0, 1, 0),
    }  # fmt: skip
    # A sector or procedure picked on the page narrows the counts and the list alike.
    assert levels(escalation_counts(cur, NOW, unit="Q8", by_child=True, sectors=["chung_thuc"]))
    assert escalation_counts(cur, NOW, unit="Q8", by_child=True, sectors=["dat_dai"]).height == 0
    assert escalation_list(cur, NOW, unit="Q8", procedures=["1.000000"]).height == 0
    assert escalation_list(cur, NOW, unit="Q8", procedures=[PROC]).height == 5
    with pytest.raises(ValueError):
        escalation_counts(cur, NOW, by_child=True)


def test_projection_is_a_least_squares_line_with_an_interval(config):
    months = [date(2026, m, 1) for m in range(1, 11)]
    values = [60 + 2 * i + (0.5 if i % 2 else -0.5) for i in range(10)]  # +2 points a month
    f = project("online_rate", "Q8", 2026, months, values, config, target=82.5)
    assert f.slope_per_month == pytest.approx(2.0, abs=0.1)
    assert f.projected == pytest.approx(82.0, abs=0.5)
    assert f.low < f.projected < f.high
    assert f.status == "at_risk" and f.at_risk  # 82 misses 82.5, the interval reaches it
    assert f.line[-1][0] == date(2026, 12, 1) and len(f.line) == 12
    assert "Linear trend over 10 months" in f.explanation
    flat = project("online_rate", "Q8", 2026, months, [50.0] * 10, config, target=85)
    assert flat.status == "off_track" and flat.projected == 50.0
    good = project("online_rate", "Q8", 2026, months, [90.0] * 10, config, target=85)
    assert good.status == "on_track" and not good.at_risk
    assert project("online_rate", "Q8", 2026, months[:3], values[:3], config, 85) is None
    # Lower is better: a rising processing time misses a ceiling.
    slow = project("avg_processing_days", "Q8", 2026, months, [3 + 0.5 * i for i in range(10)],
                   config, target=5)  # fmt: skip
    assert slow.status == "off_track"


def test_forecast_reads_monthly_values_from_the_warehouse(tmp_path, config):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    rows = []
    for m in range(1, 11):  # Jan–Oct 2026: online share rising 40 → 85 %
        received = datetime(2026, m, 10, 3, tzinfo=UTC)
        online = 40 + 5 * (m - 1)
        for i in range(100):
            rows.append({**open_dossier(f"{m}-{i}", "Q8-P04", 0), "received_at": received,
                         "due_at": received + timedelta(days=3),
                         "channel": "online" if i < online else "direct"})  # fmt: skip
    w.load(Batch("desk", dossiers=frame(rows)))
    f = forecast(w.cursor(), config, "online_rate", "Q8", date(2026, 11, 20))
    assert len(f.months) == 10
    assert f.slope_per_month == pytest.approx(5.0)
    assert f.projected == pytest.approx(95.0)  # Dec = Jan + 11 × 5
    assert f.target == 85 and f.status == "on_track"
    today = date(2026, 11, 20)
    assert forecast(w.cursor(), config, "online_rate", "Q8", today, sectors=["chung_thuc"]) == f
    assert forecast(w.cursor(), config, "online_rate", "Q8", today, sectors=["dat_dai"]) is None
    per_district = forecast_units(w.cursor(), config, "online_rate", date(2026, 11, 20),
                                  unit_kind="district")  # fmt: skip
    assert per_district["Q8"].projected == pytest.approx(95.0)
    # Several metrics from one request: each its own series (the alerts page's projections).
    metrics = ["on_time_rate", "online_rate", "record_digitization_rate"]
    own = forecasts(w.cursor(), config, metrics, "Q8", today)
    assert own["online_rate"] == f
    assert own["on_time_rate"] == forecast(w.cursor(), config, "on_time_rate", "Q8", today)
    many = forecasts_by_unit(w.cursor(), config, metrics, today, unit_kind="district")
    assert many["online_rate"] == per_district
    assert many["record_digitization_rate"] == forecast_units(
        w.cursor(), config, "record_digitization_rate", today, unit_kind="district"
    )
    w.close()
