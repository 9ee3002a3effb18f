"""Breakdown bars (dashboards/_figures.py: bars) keep room for the bars: long names are cut on
the axis and whole in the hover, and two names alike up to the cut stay two bars."""

from datetime import date

import pytest

from config import load_config
from dashboards._figures import LABEL_CHARS, bars

LONG = "Chứng thực chữ ký người dịch mà người dịch không phải là cộng tác viên dịch thuật"
ALIKE = "Chứng thực chữ ký người dịch mà người dịch là cộng tác viên dịch thuật của Phòng Tư pháp"


def test_long_names_are_cut_on_the_axis_and_whole_in_the_hover():
    metric = load_config().metrics["on_time_rate"]
    fig = bars([LONG, ALIKE, "Đăng ký kết hôn"], [94.2, 94.1, 94.4], ["P1", "P2", "P3"], metric,
               [98.0, 98.0, None], "vi")  # fmt: skip
    trace, yaxis = fig["data"][0], fig["layout"]["yaxis"]
    assert trace["y"] == ["P1", "P2", "P3"] == trace["customdata"]
    assert trace["hovertext"] == [LONG, ALIKE, "Đăng ký kết hôn"]
    assert yaxis["tickvals"] == ["P1", "P2", "P3"]
    short = yaxis["ticktext"]
    assert all(len(t) <= LABEL_CHARS for t in short)
    assert short[0] != short[1] and short[0].endswith("…") and short[2] == "Đăng ký kết hôn"
    assert LONG.startswith(short[0][:-1])


def test_count_bars_without_counts_say_no_data_instead_of_empty_axes():
    from dashboards._programmes import hbars

    fig = hbars([], [], "vi")
    assert fig["data"] == []
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["không có dữ liệu"]
    assert hbars(["Phường 1"], [3], "vi")["data"][0]["text"] == ["3"]


def test_one_count_bar_stays_a_bar_not_a_block():
    """A ward's page lists one ward: its bar keeps a bar's thickness in a 220 px panel."""
    from dashboards._figures import BAR_MAX_PX
    from dashboards._programmes import hbars

    for n in (1, 3, 12):
        layout = hbars([f"P{i}" for i in range(n)], [5] * n, "vi", height=220)["layout"]
        assert (1 - layout["bargap"]) * (220 - 20) / n <= BAR_MAX_PX + 0.5, n


def test_trend_hover_writes_the_value_with_the_metrics_decimals_and_unit():
    from dashboards._figures import trend

    metric = load_config().metrics["on_time_rate"]
    fig = trend([date(2026, 1, 1)], [97.93456], [98.0], metric, "vi", "Mục tiêu")
    value, target = fig["data"]
    assert value["hovertemplate"] == target["hovertemplate"]
    assert f"%{{y:,.{metric.decimals}f}}%" in value["hovertemplate"]  # not the raw 97.93456
    assert fig["layout"]["separators"] == ",."  # 97,9% in Vietnamese


def test_tile_map_never_rounds_a_tile_onto_its_target_or_100_percent():
    from dashboards._figures import tile_map

    config = load_config()
    metric = config.metrics["on_time_rate"]
    a, b, c, d = list(config.tilemap)[:4]
    values = {a: 99.8, b: 97.6, c: 73.2, d: 100.0}
    fig = tile_map(config, metric, values, {a: 98.0, b: 98.0, c: 98.0, d: 98.0}, "vi")
    shown = {code: text.rsplit(" ", 1)[1]
             for code, text in zip(fig["data"][0]["customdata"], fig["data"][0]["text"])}  # fmt: skip
    # 99.8 is not 100% (short of it), 97.6 is not 98% (short of its target): the map's decimals.
    assert (shown[a], shown[b], shown[c], shown[d]) == ("99,8%", "97,6%", "73,2%", "100,0%")
    values[a], values[b] = 91.2, 80.4
    fig = tile_map(config, metric, values, {a: 98.0, b: 98.0, c: 98.0, d: 98.0}, "vi")
    assert all(
        t.endswith(("91%", "80%", "73%", "100%", "–")) for t in fig["data"][0]["text"]
    )  # nothing rounds onto a limit: whole percents


def test_a_lone_bar_keeps_a_bars_thickness():
    from dashboards._figures import BAR_MAX_PX

    metric = load_config().metrics["on_time_rate"]
    one = bars(["Hoạt động xây dựng"], [86.7], ["XD"], metric, [98.0], "vi")["layout"]
    plot_px = one["height"] - 40  # the margins
    assert (1 - one["bargap"]) * plot_px <= BAR_MAX_PX + 0.5  # not a 280 px slab
    many = bars([f"P{i}" for i in range(15)], [90.0] * 15, [f"P{i}" for i in range(15)], metric,
                [98.0] * 15, "vi")["layout"]  # fmt: skip
    assert many["bargap"] == 0.2  # plotly's usual gap once the bars fill the panel


def test_a_bar_just_short_of_its_target_does_not_read_as_the_target():
    """97.96 against 98 is ▲ short of it: written "97,96%", not "98,0%" marked short."""
    from dashboards._figures import ranking

    metric = load_config().metrics["on_time_rate"]
    fig = bars(["Bến Thành", "Bến Nghé"], [97.96, 97.4], ["A", "B"], metric, [98.0, 98.0], "vi")
    assert fig["data"][0]["text"] == ["▲ 97,96%", "▲ 97,4%"]
    fig = ranking(["Bến Thành"], [97.96], ["warning"], metric, "vi", target=98.0)
    assert fig["data"][0]["text"] == ["▲ 97,96%"]


def test_the_wall_ranking_writes_no_data_where_a_bar_has_none():
    """A district that reports nothing is listed first among the lowest: its row says so."""
    from dashboards._figures import ranking

    metric = load_config().metrics["on_time_rate"]
    fig = ranking(["Cần Giờ", "Q.8"], [None, 95.0], ["no_data", "warning"], metric, "vi",
                  codes=["CGIO", "Q8"])  # fmt: skip
    words = [(t["y"], t["text"]) for t in fig["data"] if t.get("mode") == "text"]
    assert words == [(["Cần Giờ"], ["○ không có dữ liệu"])]
    assert not [t for t in ranking(["Q.8"], [95.0], ["warning"], metric, "vi")["data"]
                if t.get("mode") == "text"]  # fmt: skip


# The same cases as the grid's `iocPeriod` (test_boards_browser.py): the two writers agree.
PERIODS = [("2026-04-01", "quarter", "vi", "Quý 2/2026"), ("2026-04-01", "quarter", "en", "Q2 2026"),
           ("2026-10-01", "month", "vi", "Tháng 10/2026"), ("2026-10-01", "month", "en", "Oct 2026"),
           ("2026-01-05", "week", "vi", "Tuần từ 05/01/2026"),
           ("2026-01-05", "week", "en", "Week of 05 Jan 2026"),
           ("2026-01-05", "day", "vi", "05/01/2026"), ("2026-01-01", "year", "en", "2026")]  # fmt: skip


@pytest.mark.parametrize("start,grain,lang,written", PERIODS)
def test_a_period_is_written_as_the_grid_writes_it(start, grain, lang, written):
    from dashboards._format import period

    assert period(date.fromisoformat(start), grain, lang) == written


def test_quarters_are_ticked_and_hovered_as_quarters_not_as_the_months_between():
    from dashboards._figures import trend

    metric = load_config().metrics["on_time_rate"]
    quarters = [date(2026, 1, 1), date(2026, 4, 1), date(2026, 7, 1)]
    fig = trend(quarters, [97.0, 98.0, 99.0], [98.0] * 3, metric, "vi", "Mục tiêu",
                grain="quarter")  # fmt: skip
    xaxis = fig["layout"]["xaxis"]
    assert xaxis["tickvals"] == quarters
    assert xaxis["ticktext"] == ["Quý 1/2026", "Quý 2/2026", "Quý 3/2026"]
    assert all(t["customdata"] == xaxis["ticktext"] for t in fig["data"])  # the hover, too
    assert "%{customdata}" in fig["data"][0]["hovertemplate"]
    monthly = trend(quarters, [97.0, 98.0, 99.0], [98.0] * 3, metric, "vi", "Mục tiêu")
    assert "tickvals" not in monthly["layout"]["xaxis"]  # months: plotly's date ticks
