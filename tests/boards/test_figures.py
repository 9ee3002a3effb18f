"""Breakdown bars (dashboards/_figures.py: bars) keep room for the bars: long names are cut on
the axis and whole in the hover, and two names alike up to the cut stay two bars."""

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


def test_trend_hover_writes_the_value_with_the_metrics_decimals_and_unit():
    from datetime import date

    from dashboards._figures import trend

    metric = load_config().metrics["on_time_rate"]
    fig = trend([date(2026, 1, 1)], [97.93456], [98.0], metric, "vi", "Mục tiêu")
    value, target = fig["data"]
    assert value["hovertemplate"] == target["hovertemplate"]
    assert f"%{{y:,.{metric.decimals}f}}%" in value["hovertemplate"]  # not the raw 97.93456
    assert fig["layout"]["separators"] == ",."  # 97,9% in Vietnamese
