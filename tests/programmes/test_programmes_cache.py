"""The programme figures are cached per warehouse data version (issue 6, speed): a load batch
must show on the next read, a failed run must show in the registry's freshness, the overdue
figures follow the local day, and a cached read still checks who may read it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from plotly.io.json import to_json_plotly

from config import load_config
from config.settings import Settings
from metrics import scope
from metrics.id_cases import MASK, case_counts, cases_for, overdue_cases
from metrics.programmes import dti_table, form_fields, registry_sync
from metrics.query import CACHE
from tests.helpers import reports
from warehouse import Batch
from warehouse.cases import CaseBatch

TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(autouse=True)
def cache_on():
    """These tests are about the cache: on, whatever IOC_QUERY_CACHE says."""
    enabled = CACHE.enabled
    CACHE.enabled = True
    yield
    CACHE.enabled = enabled


def _case(case_id: str, ward: str, status: str, opened: date, due: date) -> dict:
    return {"case_id": case_id, "ward_code": ward, "group_code": "street_child",
            "age_group": "6-11", "status": status, "proposed_solution": "Đăng ký khai sinh",
            "owner": "Tư pháp", "opened_on": opened, "due_on": due, "resolved_on": None,
            "full_name": "Nguyễn Văn An", "birth_date": date(2017, 5, 1),
            "id_number": "000123456789", "updated_at": datetime(2026, 11, 20, tzinfo=UTC)}  # fmt: skip


FIRST = [
    _case("c1", "Q1-BENNGHE", "in_progress", date(2026, 9, 1), date(2026, 10, 1)),  # overdue
    _case("c2", "Q1-BENNGHE", "new", date(2026, 11, 20), date(2026, 11, 23)),  # due today
]
MORE = [_case("c3", "Q1-TANDINH", "verifying", date(2026, 8, 1), date(2026, 9, 1))]  # overdue


def _load_cases(wh, rows: list[dict], source: str = "cases") -> None:
    result = wh.load(CaseBatch(source, cases=pl.DataFrame(rows)))
    assert result.status == "ok", result.error


def _dti_rows(unit: str, points: float) -> list[dict]:
    base = {"unit_code": unit, "period_start": date(2026, 7, 1), "grain": "quarter",
            "procedure_code": None}  # fmt: skip
    return [{**base, "measure_code": "dti_points", "value": points},
            {**base, "measure_code": "dti_max_points", "value": 100.0}]  # fmt: skip


def _form_rows(unit: str, procedure: str, before: float, removed: float) -> list[dict]:
    base = {"unit_code": unit, "period_start": date(2025, 1, 1), "grain": "year",
            "procedure_code": procedure}  # fmt: skip
    return [{**base, "measure_code": "form_fields_before", "value": before},
            {**base, "measure_code": "form_fields_after", "value": before - removed},
            {**base, "measure_code": "form_fields_removed", "value": removed}]  # fmt: skip


def test_a_case_batch_shows_in_the_cached_counts_and_overdue_list(wh):
    _load_cases(wh, FIRST)
    counts = case_counts(wh.cursor(), None, TODAY)
    assert (counts.total, counts.open, counts.overdue) == (2, 2, 1)
    hits = CACHE.hits
    assert case_counts(wh.cursor(), None, TODAY) == counts  # a hit: the cache is in the way
    assert CACHE.hits == hits + 1
    assert overdue_cases(None, None, cur=wh.cursor(), today=TODAY)["case_id"].to_list() == ["c1"]

    _load_cases(wh, MORE)  # the next batch bumps the data version: no stale figure
    counts = case_counts(wh.cursor(), None, TODAY)
    assert (counts.total, counts.open, counts.overdue) == (3, 3, 2)
    assert counts.by_ward == {"Q1-BENNGHE": 2, "Q1-TANDINH": 1}
    late = overdue_cases(None, None, cur=wh.cursor(), today=TODAY)
    assert late["case_id"].to_list() == ["c3", "c1"]  # most days late first
    assert late["days_overdue"].to_list() == [83, 53]


def test_overdue_figures_follow_the_local_day_without_a_load(wh):
    _load_cases(wh, FIRST)
    assert case_counts(wh.cursor(), None, TODAY).overdue == 1
    tomorrow = TODAY + timedelta(days=1)  # c2 was due today: overdue tomorrow, same data
    assert case_counts(wh.cursor(), None, tomorrow).overdue == 2
    late = overdue_cases(None, None, cur=wh.cursor(), today=tomorrow)
    assert late["case_id"].to_list() == ["c1", "c2"]


def test_the_cached_overdue_list_is_the_case_read_most_late_first_and_masked(wh):
    _load_cases(wh, FIRST + MORE)
    cur = wh.cursor()
    full = cases_for("justice", None, cur=cur, today=TODAY, overdue_only=True)
    expected = full.sort("days_overdue", "case_id", descending=[True, False])
    assert overdue_cases("justice", None, cur=cur, today=TODAY).equals(expected)
    assert overdue_cases("justice", None, cur=cur, today=TODAY, limit=1).equals(expected.head(1))
    # The justice role's list is cached with its names; a masked reader never gets it.
    masked = overdue_cases("analyst", None, cur=cur, today=TODAY)
    assert set(masked["full_name"]) == {MASK} and set(masked["id_number"]) == {MASK}
    assert masked["birth_date"].null_count() == masked.height == 2


def test_a_cached_read_still_checks_the_readers_scope(wh, config):
    _load_cases(wh, FIRST)
    case_counts(wh.cursor(), None, TODAY)
    overdue_cases(None, None, cur=wh.cursor(), today=TODAY)
    form_fields(wh.cursor(), config, 2025)
    scope.use_config(config)
    with scope.restricted("Q1"):
        for read in (
            lambda: case_counts(wh.cursor(), None, TODAY),
            lambda: overdue_cases(None, None, cur=wh.cursor(), today=TODAY),
            lambda: form_fields(wh.cursor(), config, 2025),
        ):
            with pytest.raises(scope.ScopeError):
                read()


def test_a_report_batch_shows_in_the_cached_dti_and_form_tables(wh, config):
    assert wh.load(Batch("dti", reports=reports(_dti_rows("SO-TP", 60.0)))).status == "ok"
    assert dti_table(wh.cursor())["dti"].to_list() == pytest.approx([60.0])
    forms = _form_rows("SO-TP", "2.000815", 20, 5)
    assert wh.load(Batch("forms", reports=reports(forms))).status == "ok"
    assert form_fields(wh.cursor(), config, 2025)["reduction"].to_list() == pytest.approx([25.0])

    rows = _dti_rows("SO-TP", 70.0) + _dti_rows("SO-XD", 50.0)  # the feed re-sends, and more
    assert wh.load(Batch("dti", reports=reports(rows))).status == "ok"
    table = dti_table(wh.cursor())
    assert table["unit_code"].to_list() == ["SO-TP", "SO-XD"]
    assert table["dti"].to_list() == pytest.approx([70.0, 50.0])
    forms = _form_rows("SO-TP", "2.000815", 20, 2)
    assert wh.load(Batch("forms", reports=reports(forms))).status == "ok"
    assert form_fields(wh.cursor(), config, 2025)["reduction"].to_list() == pytest.approx([10.0])


def test_a_failed_registry_run_shows_though_it_does_not_bump_the_data_version(wh):
    base = {"unit_code": "SO-KHDT", "grain": "day", "procedure_code": None,
            "measure_code": "registry_records_synced", "value": 812.0}  # fmt: skip
    day = {**base, "period_start": date(2026, 11, 22)}
    assert wh.load(Batch("registry", reports=reports([day]))).status == "ok"
    sync = registry_sync(wh.cursor())
    assert sync.sources == ("registry",) and sync.newest_day == date(2026, 11, 22)
    assert sync.last_error is None and sync.last_success_at is not None
    version = wh.data_version()
    wh.loader.record_failure(Batch("registry"), "no new file")
    assert wh.data_version() == version
    assert registry_sync(wh.cursor()).last_error == "no new file"
    wh.loader.record_failure(Batch("registry"), "HTTP 503")
    assert registry_sync(wh.cursor()).last_error == "HTTP 503"
    newer = {**base, "period_start": date(2026, 11, 23)}
    assert wh.load(Batch("registry", reports=reports([newer]))).status == "ok"
    later = registry_sync(wh.cursor())
    assert later.newest_day == date(2026, 11, 23)
    assert later.last_success_at > sync.last_success_at


# ---- The drill-down section ---------------------------------------------------------------------


def _find(tree, id_: str) -> dict | None:
    """The component with `id_` in a layout's JSON."""
    if isinstance(tree, list):
        return next((hit for child in tree if (hit := _find(child, id_)) is not None), None)
    if not isinstance(tree, dict) or "props" not in tree:
        return None
    if tree["props"].get("id") == id_:
        return tree
    return _find(tree["props"].get("children"), id_)


@pytest.fixture
def section(wh, config, monkeypatch):
    """The city's programmes section over the warehouse `wh`, as the JSON the browser gets."""
    from dashboards import _programmes, _runtime

    monkeypatch.setattr(_runtime, "_current", _runtime.Runtime(Settings(), config, wh))
    monkeypatch.setattr(_programmes, "local_today", lambda: TODAY)
    return lambda: json.loads(to_json_plotly(
        _programmes.units_section("HCM", date(2026, 1, 1), TODAY, "en")))  # fmt: skip


def test_a_load_changes_the_city_pages_case_figures_and_tables(wh, section):
    _load_cases(wh, FIRST)
    page = section()
    assert _find(page, "units-prog-cases-open")["props"]["children"] == "2"
    assert _find(page, "units-prog-cases-overdue")["props"]["children"] == "1"
    rows = _find(page, "units-prog-cases-table")["props"]["children"][1]["props"]["children"]
    assert len(rows) == 1
    assert section() == page  # the cached figures, the same page

    _load_cases(wh, MORE)
    page = section()
    assert _find(page, "units-prog-cases-open")["props"]["children"] == "3"
    assert _find(page, "units-prog-cases-overdue")["props"]["children"] == "2"
    rows = _find(page, "units-prog-cases-table")["props"]["children"][1]["props"]["children"]
    cells = [[td["props"]["children"] for td in tr["props"]["children"]] for tr in rows]
    assert [c[7] for c in cells] == ["83", "53"]  # days late, most late first
    assert {c[8] for c in cells} == {MASK}  # no role: personal fields masked


def test_the_table_json_is_the_html_table_components_json():
    from dash import html

    from dashboards._html_json import table as _table

    headers, rows = ["A", "B"], [["1", "x"], ["2", None], ["3", ""]]
    expected = html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in headers])),
         html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
        className="table table-sm table-striped mb-0", id="t",
    )  # fmt: skip
    assert json.loads(to_json_plotly(_table(headers, rows, "t", "none"))) == json.loads(
        to_json_plotly(expected))  # fmt: skip
    # Without rows: the text saying so, not a bare header row.
    none = html.Div("không có dữ liệu", id="t", className="small text-muted")
    assert json.loads(to_json_plotly(_table(headers, [], "t", "không có dữ liệu"))) == json.loads(
        to_json_plotly(none))  # fmt: skip
    # A header or a cell given whole, with its own class and children (the escalation's table).
    from dashboards._html_json import element

    th = element("Th", [element("Span", "✖", className="status-icon"), "Đỏ"], className="text-end")
    td = element("Td", "12", className="text-end")
    expected = html.Table(
        [html.Thead(html.Tr([html.Th("A"), html.Th([html.Span("✖", className="status-icon"), "Đỏ"],
                                                   className="text-end")])),
         html.Tbody([html.Tr([html.Td("Q1"), html.Td("12", className="text-end")])])],
        className="sla-table", id="t",
    )  # fmt: skip
    got = _table(["A", th], [["Q1", td]], "t", "", class_name="sla-table")
    assert json.loads(to_json_plotly(got)) == json.loads(to_json_plotly(expected))


def test_an_empty_warehouse_says_no_data_instead_of_empty_tables_or_met_targets(section):
    page = section()
    # No forms reported: not "every procedure meets the target", and no bare header rows.
    assert _find(page, "units-prog-forms-table")["props"]["children"] == "no data"
    assert _find(page, "units-prog-forms-short")["props"]["children"] == ""
    assert _find(page, "units-prog-dti-table")["props"]["children"] == "no data"
    assert _find(page, "units-prog-cases-table")["props"]["children"] == "No overdue cases"
