"""The explorer's chart (dashboards/explore.py: figure) tells its series apart: a colour per group
(as many colours as groups it draws), a dash or bar pattern per metric."""

from __future__ import annotations

import dash
import pytest

from config import load_config
from config.settings import Settings
from dashboards import _runtime
from dashboards._figures import SERIES


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(autouse=True)
def runtime(wh, config, monkeypatch, tmp_path):
    monkeypatch.setattr(_runtime, "_current", _runtime.Runtime(Settings(), config, wh))
    dash.Dash(__name__, use_pages=True, pages_folder=str(tmp_path))  # a page module needs an app


def figure(spec: dict, rows: list[dict]) -> dict:
    from dashboards.explore import figure

    return figure(spec, rows)


def _spec(metrics: list[str], group: str | None, chart: str = "line") -> dict:
    return {"metrics": metrics, "group": group, "grain": "month", "chart": chart, "lang": "en"}


def _rows(metrics: list[str], groups: int) -> list[dict]:
    return [
        {"period": f"2026-0{m}-01", "group": f"G{g:02d}",
         **{c: 50.0 + g for c in metrics}, **{f"{c}_den": 1000 - g for c in metrics}}
        for g in range(groups) for m in (1, 2, 3)
    ]  # fmt: skip


def test_each_drawn_group_has_a_colour_of_its_own():
    from dashboards.explore import MAX_SERIES

    assert len(set(SERIES)) == len(SERIES) >= MAX_SERIES
    fig = figure(_spec(["online_rate"], "unit"), _rows(["online_rate"], 15))
    colors = [t["marker"]["color"] for t in fig["data"]]
    assert len(colors) == MAX_SERIES and len(set(colors)) == MAX_SERIES
    assert {t["name"] for t in fig["data"]} == {f"G{g:02d}" for g in range(MAX_SERIES)}


@pytest.mark.parametrize("chart", ["line", "bar"])
def test_two_metrics_of_the_same_groups_share_colours_and_differ_in_style(chart):
    metrics = ["online_rate", "on_time_rate"]
    fig = figure(_spec(metrics, "sector", chart), _rows(metrics, 3))
    by = {(t["name"].split(" · ")[1], t["name"].split(" · ")[0]): t for t in fig["data"]}
    assert len(by) == 6
    style = (lambda t: t["marker"]["pattern"]["shape"]) if chart == "bar" else (
        lambda t: t["line"]["dash"])  # fmt: skip
    for g in ("G00", "G01", "G02"):
        first, second = (t for (group, _), t in by.items() if group == g)
        assert first["marker"]["color"] == second["marker"]["color"]
        assert style(first) != style(second)
    assert len({t["marker"]["color"] for t in fig["data"]}) == 3


def test_hover_writes_each_metric_with_its_decimals_and_unit(config):
    metrics = ["online_rate", "qr_count"]
    fig = figure(_spec(metrics, None), _rows(metrics, 1))
    hover = {t["name"].split(" · ")[0]: t["hovertemplate"] for t in fig["data"]}
    rate, count = config.metrics["online_rate"], config.metrics["qr_count"]
    assert f"%{{y:,.{rate.decimals}f}}%" in hover[rate.name("en")]  # 81,0%, not 81
    assert f"%{{y:,.{count.decimals}f}}<" in hover[count.name("en")]  # a count: no % sign
    assert fig["layout"]["yaxis"]["ticksuffix"] == ""  # a count on the same axis: no % either
    rates = ["online_rate", "on_time_rate"]
    assert figure(_spec(rates, None), _rows(rates, 1))["layout"]["yaxis"]["ticksuffix"] == "%"


def _compare_spec(compare: str | None) -> dict:
    return {"metrics": ["online_rate"], "grain": "month", "start": "2026-01-01",
            "end": "2026-02-28", "group": None, "unit": None, "sectors": [], "channels": [],
            "chart": "line", "compare": compare, "lang": "en"}  # fmt: skip


@pytest.mark.parametrize("compare,jan,feb", [("prev", (None, None), (25.0, 50.0)),
                                             ("yoy", (None, None), (100.0, -25.0))])  # fmt: skip
def test_a_comparison_adds_the_period_before_and_the_change(wh, compare, jan, feb):
    """Feb 2026 is 3 online of 4 (75%), January 1 of 4 (25%), Feb 2025 2 of 2 (100%); December
    2025 and January 2025 have nothing: no data, and no change, not 0."""
    from dashboards.explore import column_defs, table
    from dashboards.explore import figure as draw
    from tests.helpers import dossier, load

    def month(prefix: str, day: str, online: int, total: int) -> list[dict]:
        channels = ["online"] * online + ["direct"] * (total - online)
        return [dossier(f"{prefix}{i}", "Q1-BENNGHE", f"{day} 09:00", channel=c)
                for i, c in enumerate(channels)]  # fmt: skip

    load(wh, month("J", "2026-01-15", 1, 4) + month("F", "2026-02-10", 3, 4)
         + month("Y", "2025-02-10", 2, 2))  # fmt: skip
    columns, rows = table(_compare_spec(compare))
    label = "Period before" if compare == "prev" else "A year before"
    keys = [k for k, _ in columns]
    assert keys[:3] == ["period", "online_rate", f"online_rate_{compare}"]
    assert keys[3] == "online_rate_change"
    by_month = {r["period"]: r for r in rows}
    for period, (before, change) in (("2026-01-01", jan), ("2026-02-01", feb)):
        row = by_month[period]
        assert (row[f"online_rate_{compare}"], row["online_rate_change"]) == (before, change)
    # The compared value's counts, beside the value's: February's 1 of 4 (prev), 2 of 2 (yoy).
    feb_counts = (1, 4) if compare == "prev" else (2, 2)
    row = by_month["2026-02-01"]
    assert (row["online_rate_num"], row["online_rate_den"]) == (3, 4)
    assert (row[f"online_rate_{compare}_num"], row[f"online_rate_{compare}_den"]) == feb_counts
    assert by_month["2026-01-01"][f"online_rate_{compare}_den"] is None  # no data, not 0
    headers = dict(columns)
    assert headers[f"online_rate_{compare}_den"] == f"Online dossier rate · {label} · Denominator"
    shown = {d["field"]: d for d in column_defs(columns, _compare_spec(compare))}
    assert "'en', 0, false" in shown[f"online_rate_{compare}_num"]["valueFormatter"]["function"]
    fig = draw(_compare_spec(compare), rows)
    names = [t["name"] for t in fig["data"]]
    assert names == ["Online dossier rate", f"Online dossier rate · {label}"]
    assert fig["data"][1]["y"] == [None, feb[0]]
    assert fig["data"][1]["opacity"] < 1 and fig["data"][1]["line"]["dash"] == "solid"


def test_an_export_takes_the_grids_rows_but_never_its_values():
    """The browser says which rows its filters and sort leave (their period and group); the
    values exported are the server's: a forged number in the request changes nothing."""
    from dashboards.explore import shown

    rows = [{"period": "2026-01-01", "group_code": "Q1", "online_rate": 50.0},
            {"period": "2026-02-01", "group_code": "Q1", "online_rate": 60.0},
            {"period": "2026-02-01", "group_code": "Q3", "online_rate": 70.0}]  # fmt: skip
    grid = [{"period": "2026-02-01", "group_code": "Q3", "online_rate": 99.9},
            {"period": "2026-01-01", "group_code": "Q1"}, {"period": "1999-01-01"}, "junk"]  # fmt: skip
    assert shown(rows, grid) == [rows[2], rows[0]]
    assert shown(rows, None) == rows  # no grid state: every row
    assert shown(rows, []) == []  # the filters leave nothing: nothing


def test_picking_sectors_narrows_the_procedures_to_theirs(config):
    from dashboards.explore import _procedure_options

    civil = {p.code for p in config.procedures.values() if p.sector_code == "ho_tich"}
    assert {o["value"] for o in _procedure_options("en", ["ho_tich"])} == civil
    assert len(_procedure_options("en", [])) == len(config.procedures)  # no sector: all
    names = [o["label"] for o in _procedure_options("en", [])]
    assert names == sorted(names)


def test_a_department_heads_link_names_their_unit():
    """Their explorer opens on their unit; the link must still say so (left out, it would open
    the city for a leader), while the other defaults stay out of the address bar."""
    from dashboards.explore import layout
    from metrics import scope

    token = scope.set_unit("Q8")
    try:
        page = layout("en")
    finally:
        scope.reset(token)

    def find(node, id_):
        if getattr(node, "id", None) == id_:
            return node
        for child in getattr(node, "children", None) or []:
            if not isinstance(child, str) and (hit := find(child, id_)) is not None:
                return hit
        return None

    assert find(page, "explore-unit").value == "Q8"
    left_out = find(page, "explore-defaults").data
    assert left_out["unit"] is None and left_out["grain"] == "month"
