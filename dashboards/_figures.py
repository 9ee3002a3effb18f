"""Plotly figures for the boards, as plain dicts (`{"data": [...], "layout": {...}}`): plotly
express costs ~50 ms a figure here, `graph_objects` validation ~5 ms, a dict nothing. `scale` multiplies font sizes so a 4K wall reads like a 1080p one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import plotly.graph_objects as go

from config import Config, Metric
from dashboards import _format as fmt
from metrics.targets import status as status_of

STATUS_COLOR = {
    "ok": "#1a7f37",
    "warning": "#b35900",
    "critical": "#c62828",
    "no_data": "#6c757d",
    "no_target": "#1f5fa8",
}
# Brighter variants for the dark wall (contrast ≥ 4.5 against near-black, white text on top).
STATUS_COLOR_DARK = {
    "ok": "#1e8e3e",
    "warning": "#c26a00",
    "critical": "#d32f2f",
    "no_data": "#3d4450",
    "no_target": "#2b6cb0",
}
# One colour per series the explorer draws at most (explore.MAX_SERIES groups).
SERIES = ["#1f5fa8", "#c26a00", "#1a7f37", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#546e7a",
          "#d81b60", "#9e9d24", "#3949ab", "#039be5"]  # fmt: skip
# A second or third metric of the same groups: the same colours, another line or bar pattern.
DASHES = ["solid", "dash", "dot", "dashdot"]
PATTERNS = ["", "/", ".", "x"]
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
WALL_CONFIG = {"displayModeBar": False, "staticPlot": True, "responsive": True}


def template() -> dict:
    """Plotly's default template as `go.Figure` would embed it (what every figure was drawn
    with), built once: the figures below are plain dicts, which Dash sends as they are."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = go.Figure().to_plotly_json()["layout"].get("template", {})
    return _TEMPLATE


_TEMPLATE: dict | None = None


def merge(base: dict, **updates) -> dict:
    """`update_layout` for plain dicts: nested dicts merge, other values replace."""
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = merge(dict(base[key]), **value)
        else:
            base[key] = value
    return base


def figure(data: list[dict], layout: dict) -> dict:
    """A plain-dict figure: no `graph_objects` validation (~5 ms a figure, ~60 ms a wall)."""
    return {"data": data, "layout": layout}


def _base(dark: bool, scale: float, height: int | None = None) -> dict:
    fg = "#f2f4f7" if dark else "#222"
    grid = "#2c323c" if dark else "#e5e7eb"
    layout = {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": fg, "size": 13 * scale, "family": "system-ui, 'Segoe UI', Roboto, Arial"},
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "xaxis": {"gridcolor": grid, "zerolinecolor": grid},
        "yaxis": {"gridcolor": grid, "zerolinecolor": grid},
        "showlegend": False,
        "template": template(),
    }
    if height is not None:
        layout["height"] = height
    return layout


def graph_config(lang: str, **options) -> dict:
    """A graph's config in the viewer's language: Vietnamese month and day names on date axes
    and in hover labels, and modebar tips (assets/plotly_locale_vi.js)."""
    return {**GRAPH_CONFIG, **options, "locale": lang}


def separators(lang: str) -> str:
    """Plotly's (decimal, thousands) characters per language: vi writes 89,7 and 1.234."""
    return ",." if lang == "vi" else ".,"


def empty(text: str, dark: bool = False, scale: float = 1.0) -> dict:
    return figure([], merge(
        _base(dark, scale),
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": text, "showarrow": False, "font": {"size": 16 * scale}}],
    ))  # fmt: skip


def sparkline(
    periods: Sequence[date], values: Sequence[float | None], color: str, scale: float = 1.0
) -> dict:
    """A tiny line without axes: the shape of the last months, the last point marked."""
    data = [{"type": "scatter", "x": list(periods), "y": list(values), "mode": "lines",
             "line": {"color": color, "width": 3 * scale}, "connectgaps": False,
             "hoverinfo": "skip"}]  # fmt: skip
    last = [(p, v) for p, v in zip(periods, values, strict=True) if v is not None]
    if last:
        data.append({"type": "scatter", "x": [last[-1][0]], "y": [last[-1][1]], "mode": "markers",
                     "marker": {"color": color, "size": 9 * scale}, "hoverinfo": "skip"})  # fmt: skip
    return figure(data, merge(_base(True, scale), margin={"l": 2, "r": 6, "t": 4, "b": 2},
                              xaxis={"visible": False}, yaxis={"visible": False}))  # fmt: skip


def short_name(name: str, lang: str) -> str:
    """Tile labels: "Quận 1" → "Q.1", "Huyện Củ Chi" → "Củ Chi", "District 1" → "D.1"."""
    for prefix, repl in (("Quận ", "Q."), ("Huyện ", ""), ("Thành phố ", ""), ("District ", "D.")):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            return (repl + rest) if rest[:1].isdigit() else rest
    for suffix in (" District", " City"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def tile_map(
    config: Config,
    metric: Metric,
    values: Mapping[str, float | None],
    targets: Mapping[str, float | None],
    lang: str,
    dark: bool = True,
    scale: float = 1.0,
    on: date | None = None,
) -> dict:
    """The district-level units as squares placed roughly where they are (config/tilemap.csv),
    coloured by status against target, each labelled with its name, value and status icon."""
    palette = STATUS_COLOR_DARK if dark else STATUS_COLOR
    # Whole percents fit the tiles, unless rounding would show a tile short of its target (or
    # of 100%) as meeting it: then every tile has the metric's decimals (99,8% beside 100,0%).
    digits = max((fmt.decimals_apart(values.get(code), limit, 0, metric.decimals)
                  for code in config.tilemap for limit in (targets.get(code), 100.0)),
                 default=0)  # fmt: skip
    shapes, xs, ys, texts, codes, hovers = [], [], [], [], [], []
    for code, (col, row) in config.tilemap.items():
        value = values.get(code)
        st = status_of(metric, value, targets.get(code))
        x, y = col, -row
        shapes.append(
            {
                "type": "rect",
                "x0": x - 0.48,
                "x1": x + 0.48,
                "y0": y - 0.46,
                "y1": y + 0.46,
                "fillcolor": palette[st],
                "line": {"width": 0},
                "layer": "below",
            }
        )
        name = short_name(config.unit(code, on).name(lang), lang)
        shown = fmt.metric_value(metric, value, lang) if value is not None else "–"
        if metric.is_percent and value is not None:
            shown = fmt.number(value, digits, lang) + "%"
        xs.append(x)
        ys.append(y)
        codes.append(code)
        texts.append(f"<b>{name}</b><br>{fmt.STATUS_ICON[st]} {shown}")
        hovers.append(
            f"{config.unit(code, on).name(lang)}: {fmt.metric_value(metric, value, lang)}"
        )
    trace = {"type": "scatter", "x": xs, "y": ys, "mode": "text", "text": texts,
             "textfont": {"color": "#ffffff", "size": 17 * scale}, "customdata": codes,
             "hovertext": hovers, "hoverinfo": "text"}  # fmt: skip
    return figure([trace], merge(
        _base(dark, scale),
        shapes=shapes,
        # Tiles wider than tall: the panel is wide, and names need the width.
        xaxis={"visible": False, "range": [-0.52, 6.52], "fixedrange": True},
        yaxis={"visible": False, "range": [-6.52, 0.52], "fixedrange": True},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
    ))  # fmt: skip


def ranking(
    names: Sequence[str],
    values: Sequence[float | None],
    statuses: Sequence[str],
    metric: Metric,
    lang: str,
    target: float | None = None,
    dark: bool = True,
    scale: float = 1.0,
    codes: Sequence[str] | None = None,
    highlight: str | None = None,
) -> dict:
    """Horizontal bars, best at the top, value written on each bar; no-data units say so."""
    palette = STATUS_COLOR_DARK if dark else STATUS_COLOR
    colors = [palette[s] for s in statuses]
    labels = [
        f"{fmt.STATUS_ICON[s]} {fmt.metric_value(metric, v, lang, fmt.digits_apart(metric, v, target))}"
        for v, s in zip(values, statuses, strict=True)
    ]
    trace = {
        "type": "bar",
        "x": [v if v is not None else 0 for v in values],
        "y": list(names),
        "orientation": "h",
        "marker": {"color": colors,
                   "line": {"width": [3 if (codes and code == highlight) else 0
                                      for code in (codes or names)],
                            "color": "#111" if not dark else "#fff"}},
        "text": labels,
        "textposition": "inside",
        "insidetextanchor": "end",
        "textfont": {"color": "#fff", "size": 19 * scale},
        "hovertemplate": "%{y}: %{text}<extra></extra>",
        "cliponaxis": False,
    }  # fmt: skip
    if codes is not None:
        trace["customdata"] = list(codes)
    blank = _no_data_text(list(names), values, lang, 19 * scale, "#c9ced6" if dark else "#555",
                          keys=list(codes) if codes is not None else None)  # fmt: skip
    top = max([v for v in values if v is not None] + [target or 0, 1])
    layout = merge(
        _base(dark, scale),
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": 19 * scale}},
        xaxis={"range": [0, top * 1.02], "showticklabels": False, "fixedrange": True},
        bargap=0.18,
        separators=separators(lang),
    )
    if target is not None:  # what `add_vline` adds
        layout["shapes"] = [{"type": "line", "x0": target, "x1": target, "xref": "x",
                             "y0": 0, "y1": 1, "yref": "y domain",
                             "line": {"color": "#f2f4f7" if dark else "#222", "dash": "dash",
                                      "width": 2 * scale}}]  # fmt: skip
    return figure([trace, *blank], layout)


def period_axis(written: Mapping, grain: str) -> dict:
    """An x axis of quarters, years or whole ranges ticked as `written` ({x: "Quý 2/2026"}),
    one tick per bucket: plotly's own date ticks would name months ("Th4 2026") between them.
    Days, weeks and months keep plotly's ticks."""
    if grain not in ("quarter", "year", "total"):
        return {}
    return {"tickmode": "array", "tickvals": list(written), "ticktext": list(written.values())}


def trend(
    periods: Sequence[date],
    values: Sequence[float | None],
    targets: Sequence[float | None],
    metric: Metric,
    lang: str,
    target_label: str,
    projection: Sequence[tuple[date, float, float, float]] = (),
    projection_label: str = "",
    grain: str = "month",
) -> dict:
    """The metric per bucket against its target (a step line: targets change by year).

    `projection`: (month, value, low, high) from the last month with data on, drawn as a
    dashed line in its shaded interval (metrics/forecast.py)."""
    # The period as written ("Quý 2/2026"), the value with the metric's decimals and unit, in
    # the page's separators (89,7%).
    hover = (f"%{{fullData.name}}<br>%{{customdata}}: %{{y:,.{metric.decimals}f}}"
             f"{'%' if metric.is_percent else ''}<extra></extra>")  # fmt: skip
    written = [fmt.period(p, grain, lang) for p in periods]
    data = [
        {
            "type": "scatter",
            "x": list(periods),
            "y": list(values),
            "mode": "lines+markers",
            "name": metric.name(lang),
            "line": {"color": SERIES[0], "width": 3},
            "connectgaps": False,
            "hovertemplate": hover,
            "customdata": written,
        }
    ]
    if any(v is not None for v in targets):
        data.append(
            {
                "type": "scatter",
                "x": list(periods),
                "y": list(targets),
                "mode": "lines",
                "name": target_label,
                "hovertemplate": hover,
                "customdata": written,
                "line": {"color": "#c62828", "dash": "dash", "width": 2, "shape": "hv"},
            }
        )
    if projection:
        months = [p[0] for p in projection]
        band = {
            "type": "scatter",
            "x": months,
            "mode": "lines",
            "hoverinfo": "skip",
            "line": {"width": 0},
            "showlegend": False,
        }
        data += [
            {**band, "y": [p[2] for p in projection]},
            {
                **band,
                "y": [p[3] for p in projection],
                "fill": "tonexty",
                "fillcolor": "rgba(31, 95, 168, 0.15)",
            },
            {
                "type": "scatter",
                "x": months,
                "y": [p[1] for p in projection],
                "mode": "lines",
                "name": projection_label,
                "hovertemplate": hover,
                "customdata": [fmt.period(m, "month", lang) for m in months],
                "line": {"color": SERIES[0], "dash": "dot", "width": 3},
            },
        ]
    return figure(data, merge(
        _base(False, 1.0, height=320),
        showlegend=True,
        # "normal": a filled band would otherwise reverse the legend (plotly's default).
        legend={"orientation": "h", "y": 1.12, "x": 0, "traceorder": "normal"},
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        separators=separators(lang),
        xaxis=period_axis(dict(zip(periods, written, strict=True)), grain),
        yaxis={"ticksuffix": "%" if metric.is_percent else "", "rangemode": "tozero"},
    ))  # fmt: skip


LABEL_CHARS = 48
BAR_MAX_PX = 36


def bar_gap(bars: int, plot_px: float) -> float:
    """The gap that keeps `bars` horizontal bars at most ~BAR_MAX_PX thick in a plot area
    `plot_px` tall: one sector's or one ward's bar would otherwise fill the panel."""
    return max(0.2, 1 - BAR_MAX_PX * bars / plot_px)


def _no_data_text(
    rows: list[str],
    values: Sequence[float | None],
    lang: str,
    size: float,
    color: str,
    *,
    hovers: list[str] | None = None,
    keys: list[str] | None = None,
) -> list[dict]:
    """The "no data" of the bars that have none, as a text-only trace from the axis: plotly
    writes no text on a bar of length zero, which left a unit that reported nothing an empty
    row. Its points carry the row's code (`keys`, default the rows), so a click on them drills
    down as on a bar; `hovers` names them (default the rows)."""
    missing = [i for i, v in enumerate(values) if v is None]
    if not missing:
        return []
    hovers, keys = hovers or rows, keys or rows
    label = f"{fmt.STATUS_ICON['no_data']} {fmt.NO_DATA[lang]}"
    return [{
        "type": "scatter", "mode": "text", "x": [0] * len(missing),
        "y": [rows[i] for i in missing], "customdata": [keys[i] for i in missing],
        "hovertext": [hovers[i] for i in missing], "text": [label] * len(missing),
        "textposition": "middle right", "textfont": {"color": color, "size": size},
        "hovertemplate": "%{hovertext}: %{text}<extra></extra>", "cliponaxis": False,
    }]  # fmt: skip


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def bars(
    labels: Sequence[str],
    values: Sequence[float | None],
    codes: Sequence[str],
    metric: Metric,
    targets: Sequence[float | None],
    lang: str,
    highlight: str | None = None,
    height: int = 320,
) -> dict:
    """Clickable breakdown bars (customdata carries the code to drill into), status colours.

    A bar's row is its code, labelled with its name cut to `LABEL_CHARS` (procedure names run to
    150 characters and would leave the bars no room); the hover shows the whole name."""
    statuses = [status_of(metric, v, tg) for v, tg in zip(values, targets, strict=True)]
    trace = {
        "type": "bar",
        "x": [v if v is not None else 0 for v in values],
        "y": list(codes),
        "hovertext": list(labels),
        "orientation": "h",
        "marker": {
            "color": [STATUS_COLOR[s] for s in statuses],
            "line": {"width": [3 if c == highlight else 0 for c in codes], "color": "#111"},
        },
        # A value just short of its target gets the decimals that show it: ▲ 97,97%, not ▲ 98,0%.
        "text": [f"{fmt.STATUS_ICON[s]} {fmt.metric_value(metric, v, lang, fmt.digits_apart(metric, v, tg))}"
                 for v, s, tg in zip(values, statuses, targets, strict=True)],
        "textposition": "auto",
        "customdata": list(codes),
        "cliponaxis": False,  # a value written past a short bar's end stays readable
        "hovertemplate": "%{hovertext}: %{text}<extra></extra>",
    }  # fmt: skip
    height = max(height, 28 * len(labels) + 40)
    blank = _no_data_text(list(codes), values, lang, 13, "#555", hovers=list(labels))
    return figure([trace, *blank], merge(
        _base(False, 1.0, height=height),
        bargap=bar_gap(len(labels), height - 40),
        yaxis={"autorange": "reversed", "automargin": True, "type": "category",
               "tickmode": "array", "tickvals": list(codes),
               "ticktext": [_cut(label, LABEL_CHARS) for label in labels]},
        xaxis={"ticksuffix": "%" if metric.is_percent else "", "rangemode": "tozero"},
        margin={"l": 10, "r": 50, "t": 10, "b": 30},
        separators=separators(lang),
        clickmode="event",
    ))  # fmt: skip
