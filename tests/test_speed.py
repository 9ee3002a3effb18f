"""The speed work keeps every number: the monthly rollup, comparisons in one scan, the result
cache and the loader's fast paths give exactly what the plain daily path gives."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from config import load_config
from connectors.demo_city import generate
from tests.helpers import dossier, dossiers, reports
from warehouse import Batch, open_warehouse
from warehouse.db import scalar

# The module (the package re-exports its `query` function under the same name).
mq = importlib.import_module("metrics.query")

NOW = datetime(2026, 11, 23, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def wh(tmp_path_factory, config):
    """A year and a half of the tiny demo city, a report feed with monthly and quarterly rows
    (some numerators not reported), loaded month by month like a real feed."""
    w = open_warehouse(tmp_path_factory.mktemp("speed") / "w.duckdb", config, NOW)
    for frame in generate(config, start=date(2025, 5, 1), end=date(2026, 11, 22), scale="tiny",
                          now=NOW):  # fmt: skip
        assert w.load(Batch("demo", dossiers=frame), NOW).status == "ok"
    rows = []
    for month in (date(2025, 6, 1), date(2025, 7, 1), date(2026, 3, 1)):
        rows += [
            {"unit_code": "Q1", "period_start": month, "grain": "month",
             "measure_code": "received", "value": 40.0},
            {"unit_code": "Q1", "period_start": month, "grain": "month",
             "measure_code": "received_online", "value": None if month.month == 7 else 30.0},
            {"unit_code": "Q3", "period_start": month, "grain": "month",
             "measure_code": "record_digitized", "value": 5.0},
        ]  # fmt: skip
    rows.append({"unit_code": "Q1", "period_start": date(2025, 7, 1), "grain": "quarter",
                 "measure_code": "received", "value": 100.0})  # fmt: skip
    # Day-grain reports of one unit and month, one without its numerator: summed into one
    # monthly row, they would count that day's denominator too.
    for day, online in ((date(2025, 8, 4), 30.0), (date(2025, 8, 5), None)):
        rows += [
            {"unit_code": "Q1", "period_start": day, "grain": "day",
             "measure_code": "received", "value": 40.0},
            {"unit_code": "Q1", "period_start": day, "grain": "day",
             "measure_code": "received_online", "value": online},
        ]  # fmt: skip
    assert w.load(Batch("sheet", reports=reports(rows)), NOW).status == "ok"
    yield w
    w.close()


def daily(monkeypatch, fn):
    """`fn()` on the plain path: day facts only, no cache."""
    with monkeypatch.context() as m:
        m.setattr(mq, "MONTH_GRAINS", frozenset())
        m.setattr(mq, "cached", lambda con, config, key, compute: compute())
        return fn()


REQUESTS = [
    # (grain, start, end, filters, by)
    ("month", date(2025, 5, 1), date(2026, 11, 22), None, ()),
    ("month", date(2025, 5, 17), date(2026, 10, 3), {"unit": "Q1"}, ()),
    ("quarter", date(2025, 5, 10), date(2026, 11, 22), None, ("sector",)),
    ("year", date(2025, 1, 1), date(2026, 11, 22), None, ("channel",)),
    ("total", date(2025, 6, 1), date(2026, 5, 31), None, ("unit",)),
    ("total", date(2025, 6, 12), date(2026, 2, 3), {"unit_kind": "district"}, ("unit",)),
    ("total", date(2025, 7, 1), date(2025, 9, 30), {"sectors": ["ho_tich"]}, ("source",)),
    ("month", date(2025, 6, 1), date(2025, 12, 31), {"channels": ["online"]}, ("unit", "sector")),
]
METRICS = ["online_rate", "record_digitization_rate", "on_time_rate", "avg_processing_days"]


def metrics_in(config) -> list[str]:
    return [m for m in METRICS if m in config.metrics]


@pytest.mark.parametrize("grain,start,end,filters,by", REQUESTS)
@pytest.mark.parametrize("compare", [False, True])
def test_monthly_rollup_gives_the_daily_numbers(
    wh, config, monkeypatch, grain, start, end, filters, by, compare
):
    def ask():
        return mq.query(wh.cursor(), config, metrics_in(config), grain, start, end, filters, by,
                        compare=compare)  # fmt: skip

    fast, slow = ask(), daily(monkeypatch, ask)
    assert fast.height > 0
    # Counts and rates are exact; a sum of fractional days may differ in the last bit with the
    # order of addition (as the daily path itself does between runs).
    assert_frame_equal(fast, slow, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    exact = [c for c in fast.columns if "processing" not in c]
    assert fast.select(exact).equals(slow.select(exact))


def test_the_month_path_reads_fact_month_only_where_it_is_exact(config):
    req = mq.Request(("online_rate",), "month", date(2025, 5, 17), date(2026, 10, 3))
    sql, params = mq.build_sql(config, req)
    assert "fact_month" in sql
    assert (params["m0_0"], params["m1_0"]) == (date(2025, 6, 1), date(2026, 9, 30))
    assert (params["e0_0"], params["e1_0"]) == (date(2025, 5, 31), date(2026, 10, 1))
    assert "fact_month" not in mq.build_sql(config, replace(req, grain="week"))[0]
    # No whole month inside: day facts only.
    assert "fact_month" not in mq.build_sql(config, replace(req, grain="total",
                                            start=date(2026, 11, 1), end=date(2026, 11, 23)))[0]  # fmt: skip


def test_a_unit_moving_mid_month_sends_that_month_to_the_day_facts(config, monkeypatch):
    monkeypatch.setitem(mq._CHANGES, id(config), (config, (date(2025, 7, 15),)))
    moved = mq.Request(("online_rate",), "month", date(2025, 1, 1), date(2025, 12, 31))
    assert "fact_month" not in mq.build_sql(config, moved)[0]
    elsewhere = replace(moved, start=date(2026, 1, 1), end=date(2026, 6, 30))
    assert "fact_month" in mq.build_sql(config, elsewhere)[0]


def test_comparisons_are_the_ranges_before_and_a_year_before(wh, config):
    cur, m = wh.cursor(), ["online_rate"]
    both = mq.query(cur, config, m, "total", date(2026, 3, 1), date(2026, 3, 20), compare=True)
    prev = mq.query(cur, config, m, "total", date(2026, 2, 1), date(2026, 2, 20))
    yoy = mq.query(cur, config, m, "total", date(2025, 3, 1), date(2025, 3, 20))
    assert both["online_rate_prev"][0] == prev["online_rate"][0]
    assert both["online_rate_yoy"][0] == yoy["online_rate"][0]
    # Twelve months: the range before is the same range a year before, read once for both.
    ytd = mq.Request(tuple(m), "total", date(2026, 1, 1), date(2026, 12, 1))
    assert [s[1] for s in mq.plan(config, ytd, True)[0][1].items() if s[0].startswith("lo")] == [
        date(2026, 1, 1), date(2025, 1, 1)]  # fmt: skip
    year = mq.query(cur, config, m, "total", ytd.start, ytd.end, compare=True)
    before = mq.query(cur, config, m, "total", date(2025, 1, 1), date(2025, 12, 1))
    assert year["online_rate_prev"][0] == year["online_rate_yoy"][0] == before["online_rate"][0]
    trend = mq.query(cur, config, m, "month", date(2026, 1, 1), date(2026, 6, 30), compare=True)
    months = mq.query(cur, config, m, "month", date(2024, 12, 1), date(2026, 6, 30))
    by_month = dict(zip(months["period"], months["online_rate"], strict=True))
    for row in trend.iter_rows(named=True):
        p = row["period"]
        assert row["online_rate_prev"] == by_month.get(date(p.year - (p.month == 1),
                                                            (p.month - 2) % 12 + 1, 1))  # fmt: skip
        assert row["online_rate_yoy"] == by_month.get(date(p.year - 1, p.month, 1))


def test_results_are_cached_until_the_next_batch(tmp_path: Path, config):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    w.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")])))
    mar = (date(2024, 3, 1), date(2024, 3, 31))
    hits = mq.CACHE.hits
    first = mq.query(w.cursor(), config, ["online_rate"], "total", *mar)
    again = mq.query(w.cursor(), config, ["online_rate"], "total", *mar)
    assert mq.CACHE.hits == hits + 1 and again.equals(first)
    w.load(Batch("desk", dossiers=dossiers([
        dossier("b", "Q1-BENNGHE", "2024-03-05 09:00", channel="online")])))  # fmt: skip
    after = mq.query(w.cursor(), config, ["online_rate"], "total", *mar)
    assert (first["online_rate_den"][0], after["online_rate_den"][0]) == (1, 2)
    w.close()


def test_the_cache_keeps_the_newest_answers_within_its_size():
    cache = mq._Cache(max_bytes=3000)
    small = pl.DataFrame({"x": range(125)})  # 1,000 bytes
    for key in "abcd":
        cache.run((key,), None, lambda: small)
    assert list(cache.entries) == [("b",), ("c",), ("d",)] and cache.bytes == 3000
    cache.run(("b",), None, lambda: small)  # read: b is now the newest
    cache.run(("e",), None, lambda: small)
    assert list(cache.entries) == [("d",), ("b",), ("e",)]
    big = pl.DataFrame({"x": range(500)})  # 4,000 bytes: more than the whole cache
    cache.run(("f",), None, lambda: big)
    assert list(cache.entries) == [("f",)] and cache.bytes == 4000  # kept alone, not refused
    cache.clear()
    assert cache.bytes == 0


def test_batches_with_separate_key_ranges_skip_the_anti_join_and_still_upsert(
    tmp_path: Path, config
):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    a = [dossier(f"A{i}", "Q1-BENNGHE", "2024-03-04 09:00") for i in range(5)]
    b = [dossier(f"B{i}", "Q1-BENNGHE", "2024-03-05 09:00") for i in range(5)]
    w.load(Batch("desk", dossiers=dossiers(a)))
    w.load(Batch("desk", dossiers=dossiers(b)))
    keys = (
        w.cursor().execute("SELECT min_key, max_key FROM load_batch ORDER BY batch_id").fetchall()
    )
    assert keys == [("A0", "A4"), ("B0", "B4")]
    # A late correction of A2 (its range overlaps batch 1's): replaced, not duplicated, and
    # its old day loses it.
    fix = [dossier("A2", "Q1-BENNGHE", "2024-03-06 09:00", channel="online")]
    w.load(Batch("desk", dossiers=dossiers(fix)))
    cur = w.cursor()
    assert scalar(cur, "SELECT count(*) FROM dossier") == 10
    per_day = dict(
        cur.execute("SELECT period_start, sum(received) FROM fact GROUP BY 1").fetchall()
    )
    assert per_day == {date(2024, 3, 4): 4, date(2024, 3, 5): 5, date(2024, 3, 6): 1}
    months = cur.execute("SELECT sum(received), sum(received_online) FROM fact_month").fetchall()
    assert months == [(10, 1)]
    w.close()


def test_a_batch_mixing_status_updates_a_moved_receipt_day_and_new_dossiers_upserts(
    tmp_path: Path, config
):
    """Old versions are looked for on the incoming days first, then elsewhere (loading.py)."""
    w = open_warehouse(tmp_path / "w.duckdb", config)
    w.load(
        Batch(
            "desk",
            dossiers=dossiers(
                [dossier(f"A{i}", "Q1-BENNGHE", f"2024-03-0{4 + i % 2} 09:00") for i in range(4)]
            ),
        )
    )
    w.load(Batch("desk", dossiers=dossiers([
        dossier("A0", "Q1-BENNGHE", "2024-03-04 09:00", channel="online"),  # same day, updated
        dossier("A1", "Q1-BENNGHE", "2024-03-04 09:00"),  # received 03-05 before: corrected
        dossier("A9", "Q1-BENNGHE", "2024-03-04 10:00"),  # new
    ])))  # fmt: skip
    cur = w.cursor()
    assert scalar(cur, "SELECT count(*) FROM dossier") == 5
    assert scalar(cur, "SELECT received_day FROM dossier WHERE dossier_id = 'A1'") == date(
        2024, 3, 4
    )
    per_day = dict(
        cur.execute("SELECT period_start, sum(received) FROM fact GROUP BY 1").fetchall()
    )
    assert per_day == {date(2024, 3, 4): 4, date(2024, 3, 5): 1}
    assert cur.execute("SELECT sum(received), sum(received_online) FROM fact_month").fetchall() == [
        (5, 1)
    ]
    hours = dict(cur.execute("SELECT day, sum(dossiers) FROM fact_hour GROUP BY 1").fetchall())
    assert hours == per_day
    w.close()


def test_a_batch_reports_its_rollup_time(tmp_path: Path, config):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    result = w.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1", "2024-03-04 09:00",
                                                             procedure="1.001612")])))  # fmt: skip
    assert result.status == "ok" and 0 < result.rollup_seconds <= result.seconds
    w.close()


def test_duplicates_in_one_batch_keep_the_latest_update(tmp_path: Path, config):
    w = open_warehouse(tmp_path / "w.duckdb", config)
    rows = dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00"),
                     dossier("a", "Q1-BENNGHE", "2024-03-04 09:00", channel="online")])  # fmt: skip
    rows = rows.with_columns(pl.Series("updated_at", [datetime(2024, 3, 5, tzinfo=UTC),
                                                      datetime(2024, 3, 4, tzinfo=UTC)]))  # fmt: skip
    w.load(Batch("desk", dossiers=rows))
    assert w.cursor().execute("SELECT channel FROM dossier").fetchall() == [("direct",)]
    w.close()


def test_the_fast_iso_reader_agrees_with_the_general_one():
    from connectors.feeds import Parse
    from connectors.mapping import _iso_instant, _timestamp

    values = ["2025-01-01T00:00:00+07:00", "2025-03-01T23:59:59-05:30", "2024-02-29T12:00:00Z",
              "2025-02-30T00:00:00+07:00", None, "2025-01-01T00:00:00", "2025-01-01 10:00+07:00"]  # fmt: skip
    frame = pl.DataFrame({"a": values})
    fast = frame.select(_iso_instant(pl.col("a"))).to_series().to_list()
    general = frame.select(_timestamp(pl.col("a"), Parse(), pl.String)).to_series().to_list()
    assert fast[:3] == general[:3] and fast[3:] == [None] * 4  # the rest: the general reader


# The heat map as it was read before the hour rollup: a scan of the raw dossiers.
RAW_HEATMAP_SQL = """
SELECT CAST((floor((epoch(d.received_at) + 25200) / 86400) + 3) % 7 AS INTEGER) AS weekday,
       CAST(floor((epoch(d.received_at) + 25200) / 3600) % 24 AS INTEGER) AS hour,
       count(*) AS dossiers, count(*) FILTER (WHERE d.submit_method = 'qr') AS qr,
       count(*) FILTER (WHERE (CAST(floor((epoch(d.received_at) + 25200) / 86400) AS BIGINT)
                               + 3) % 7 >= 5
           OR CAST(floor((epoch(d.received_at) + 25200) / 60) AS BIGINT) % 1440
              NOT BETWEEN 450 AND 1019) AS after_hours
FROM dossier d JOIN procedure p ON p.code = d.procedure_code
JOIN unit_tree s ON s.descendant = d.unit_code AND s.ancestor = $scope
     AND d.received_day BETWEEN s.valid_from AND s.valid_to
WHERE d.received_day BETWEEN $start AND $end AND p.level = 'commune'
  AND ($online_only = false OR d.channel = 'online')
GROUP BY ALL
"""


@pytest.mark.parametrize("scope,start,end,online_only", [
    ("HCM", date(2025, 11, 23), date(2026, 11, 22), False),
    ("HCM", date(2025, 5, 1), date(2026, 11, 22), True),
    ("Q1", date(2026, 2, 3), date(2026, 9, 17), False),
    ("CCHI-NHUANDUC", date(2025, 5, 1), date(2026, 11, 22), False),
])  # fmt: skip
def test_the_hour_rollup_gives_the_heat_map_of_the_raw_dossiers(
    wh, config, scope, start, end, online_only
):
    from metrics.programmes import hour_of_week

    heat = hour_of_week(wh.cursor(), scope, start, end, online_only)
    params = {"scope": scope, "start": start, "end": end, "online_only": online_only}
    raw = wh.cursor().execute(RAW_HEATMAP_SQL, params).fetchall()
    dossiers = [[0] * 24 for _ in range(7)]
    qr = [[0] * 24 for _ in range(7)]
    for weekday, hour, n, q, _ in raw:
        dossiers[weekday][hour], qr[weekday][hour] = n, q
    assert heat.total > 0
    assert (heat.dossiers, heat.qr) == (dossiers, qr)
    assert heat.after_hours == sum(r[4] for r in raw)


def test_a_warehouse_from_before_the_hour_rollup_gets_it_filled_at_start(tmp_path: Path, config):
    path = tmp_path / "w.duckdb"
    w = open_warehouse(path, config)
    w.load(Batch("desk", dossiers=dossiers([
        dossier("A", "Q1-BENNGHE", "2024-03-04 09:00", channel="online"),
        dossier("B", "Q1-BENNGHE", "2024-03-09 18:30", submit_method="qr"),
    ])))  # fmt: skip
    expected = w.cursor().execute("SELECT * FROM fact_hour ORDER BY ALL").fetchall()
    assert len(expected) == 2
    # As a file written before migration 009 has it: no table, no fingerprint.
    cur = w.cursor()
    cur.execute("DROP TABLE fact_hour")
    cur.execute("DELETE FROM schema_migration WHERE version = 9")
    cur.execute("DELETE FROM meta WHERE key = 'hour_rollup_fingerprint'")
    version = w.data_version()
    w.close()
    again = open_warehouse(path, config)
    assert again.cursor().execute("SELECT * FROM fact_hour ORDER BY ALL").fetchall() == expected
    assert again.data_version() > version  # cached heat maps of the old file are not reused
    again.close()
