"""Analyst explorer: pick metrics, grain, date range, group-by, filters and chart type; a data
grid (dash-ag-grid) of the same numbers; export exactly what is on screen (CSV, XLSX with the
definitions, filters, as-of and numerator/denominator columns; PNG and SVG of the chart).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from base.tz import local_today
from dashboards import _export
from dashboards import _figures as figs
from dashboards import _format as fmt
from dashboards._components import as_of_line, current_freshness, label, local, parse_search
from dashboards._explore_link import (
    CHANNELS,
    COMPARES,
    GRAINS,
    GROUPS,
    controls_from_query,
    defaults,
    view_of,
)
from dashboards._i18n import TEXT_FILTER, grid_options, lang_of, number_filter, t
from dashboards._runtime import runtime
from metrics import scope
from metrics.freshness import as_of
from metrics.query import DIMENSION_COLUMNS, VIEWS, QueryError, query

dash.register_page(__name__, path="/explore", name="Explorer", order=3, title="IOC · Explorer")

MAX_SERIES = 12  # the chart draws the largest groups; the grid and exports keep every row


def _spec_from(metrics, grain, start, end, group, unit, sectors, channels, chart, compare,
               procedures, lang, view="today") -> dict:  # fmt: skip
    return {
        "metrics": list(metrics or []),
        "grain": grain or "month",
        "start": (start or "")[:10],
        "end": (end or "")[:10],
        "group": group or None,
        "unit": unit or None,
        "sectors": list(sectors or []),
        "procedures": list(procedures or []),
        "channels": list(channels or []),
        "chart": chart or "line",
        "compare": compare if compare in COMPARES else None,
        "lang": lang_of(lang),
        "view": view,  # the view of time: the URL's, as the language (`view_of`)
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _columns(spec: dict) -> list[tuple[str, str]]:
    """The table's (key, header) columns: per metric its value, the comparison and the change
    when one is asked for, the numerator and denominator of a ratio, the target."""
    cfg = runtime().config
    lang, compare = spec["lang"], spec.get("compare")
    columns: list[tuple[str, str]] = [("period", t("period", lang))]
    if spec["group"]:
        columns += [("group_code", spec["group"]), ("group", t(spec["group"], lang))]
    for code in spec["metrics"]:
        m = cfg.metrics[code]
        name, unit = m.name(lang), "%" if m.is_percent else m.unit
        columns.append((code, f"{name} ({unit})"))
        if compare:
            points = t("explore.points", lang) if m.is_percent else unit
            change = f"{t('explore.change', lang)} ({points})"
            before = f"{name} · {t(f'explore.{compare}', lang)}"
            columns += [(f"{code}_{compare}", before), (f"{code}_change", f"{name} · {change}")]
        if m.denominator is not None:
            columns += [(f"{code}_num", f"{name} · {t('numerator', lang)}"),
                        (f"{code}_den", f"{name} · {t('denominator', lang)}")]  # fmt: skip
            if compare:  # the compared value's counts, so it can be checked as the value can
                columns += [(f"{code}_{compare}_num", f"{before} · {t('numerator', lang)}"),
                            (f"{code}_{compare}_den", f"{before} · {t('denominator', lang)}")]  # fmt: skip
        columns.append((f"{code}_target", f"{name} · {t('target', lang)}"))
    return columns


def table(spec: dict) -> tuple[list[tuple[str, str]], list[dict]]:
    """The explorer's table for a spec: (key, header) columns and rows, values rounded as shown.

    The grid, the chart and both exports read this one function, so they always agree.
    """
    cfg = runtime().config
    lang, compare = spec["lang"], spec.get("compare")
    if not spec["metrics"]:
        return [], []
    start, end = date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
    by = [spec["group"]] if spec["group"] else []
    filters = {
        "unit": spec["unit"],
        "sectors": spec["sectors"],
        "procedures": spec.get("procedures", []),
        "channels": spec["channels"],
    }
    frame = query(runtime().warehouse.cursor(), cfg, spec["metrics"], spec["grain"], start, end,
                  filters, by=by, compare=compare is not None, targets=True,
                  view=spec.get("view", "today"))  # fmt: skip
    rows = []
    dim_col = DIMENSION_COLUMNS[spec["group"]] if spec["group"] else None
    for r in frame.iter_rows(named=True):
        row = {"period": r["period"].isoformat() if spec["grain"] != "total" else
               f"{start.isoformat()}..{end.isoformat()}"}  # fmt: skip
        if dim_col:
            row["group_code"] = r[dim_col]
            row["group"] = label(spec["group"], r[dim_col], lang)
        for code in spec["metrics"]:
            m = cfg.metrics[code]
            v = r[code]
            row[code] = _rounded(v, m.decimals)
            if compare:
                before = r[f"{code}_{compare}"]
                row[f"{code}_{compare}"] = _rounded(before, m.decimals)
                both = v is not None and before is not None
                row[f"{code}_change"] = _rounded(v - before, m.decimals) if both else None
            if m.denominator is not None:
                counts = ["_num", "_den"] + (
                    [f"_{compare}_num", f"_{compare}_den"] if compare else []
                )
                row.update({code + c: r[code + c] for c in counts})
            row[f"{code}_target"] = r.get(f"{code}_target")
        rows.append(row)
    return _columns(spec), rows


def _written(period: str, grain: str, lang: str) -> str:
    """A row's period as the grid writes it: "Quý 2/2026"; a range "01/01/2026 – 31/03/2026"."""
    if grain == "total":
        return " – ".join(fmt.day(date.fromisoformat(d), lang) for d in period.split(".."))
    return fmt.period(date.fromisoformat(period), grain, lang)


def _compared(trace: dict, values: list, label: str) -> dict:
    """A series' comparison, at the same periods: its colour and style, faded (and thinner)."""
    faded = {**trace, "y": values, "name": f"{trace['name']} · {label}", "opacity": 0.45,
             "legendgroup": trace["name"]}  # fmt: skip
    if trace["type"] == "scatter":
        faded["mode"] = "lines"
        faded["line"] = {**trace["line"], "width": 1.5}
    return faded


def figure(spec: dict, rows: list[dict]) -> dict:
    """The chart of the table's rows, as a plain-dict figure: `graph_objects` validated each
    trace, ~2/3 of a by-unit update (12 series)."""
    cfg = runtime().config
    lang = spec["lang"]
    if not rows:
        return figs.empty(fmt.NO_DATA[lang])
    series: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        for code in spec["metrics"]:
            key = (code, r.get("group") or "")
            series.setdefault(key, []).append(r)
    if spec["group"]:  # the largest groups by their first metric's denominator (or value)
        first = spec["metrics"][0]
        weight = {}
        for (code, g), rs in series.items():
            if code == first:
                weight[g] = sum((r.get(f"{first}_den") or r.get(first) or 0) for r in rs)
        keep = set(sorted(weight, key=weight.get, reverse=True)[:MAX_SERIES])
        series = {k: v for k, v in series.items() if k[1] in keep}
    two_metrics = len(spec["metrics"]) > 1
    bars = spec["chart"] == "bar" or spec["grain"] == "total"
    # A group keeps its colour across metrics; a metric keeps its dash (or bar pattern).
    groups = {g: i for i, g in enumerate(dict.fromkeys(g for _, g in series))}
    data = []
    compare = spec.get("compare")
    written = {r["period"]: _written(r["period"], spec["grain"], lang) for r in rows}
    for (code, g), rs in series.items():
        m = cfg.metrics[code]
        name = " · ".join(x for x in (m.name(lang) if two_metrics or not g else "", g) if x)
        name = name or (m.name(lang) if compare else "")
        color = figs.SERIES[(groups[g] if g else spec["metrics"].index(code)) % len(figs.SERIES)]
        style = spec["metrics"].index(code) % len(figs.DASHES) if g else 0
        trace = {"x": [r["period"] for r in rs], "y": [r[code] for r in rs], "name": name,
                 "marker": {"color": color}, "customdata": [written[r["period"]] for r in rs],
                 "hovertemplate": f"%{{fullData.name}}<br>%{{customdata}}: %{{y:,.{m.decimals}f}}"
                                  f"{'%' if m.is_percent else ''}<extra></extra>"}  # fmt: skip
        if bars:
            trace["marker"]["pattern"] = {"shape": figs.PATTERNS[style]}
            trace = {"type": "bar", **trace}
        else:
            trace = {"type": "scatter", "mode": "lines+markers", "connectgaps": False,
                     "line": {"dash": figs.DASHES[style]}, **trace}  # fmt: skip
        data.append(trace)
        if compare:
            data.append(_compared(trace, [r[f"{code}_{compare}"] for r in rs],
                                  t(f"explore.{compare}", lang)))  # fmt: skip
    xaxis = {"gridcolor": "#e5e7eb", **figs.period_axis(written, spec["grain"])}
    # Rates only: the axis says they are percentages. A count or days beside them: no sign.
    percent = all(cfg.metrics[c].is_percent for c in spec["metrics"])
    if spec["grain"] == "total":
        xaxis["type"] = "category"
    return figs.figure(data, {
        "template": figs.template(),
        "margin": {"l": 50, "r": 10, "t": 30, "b": 40},
        "legend": {"orientation": "h", "y": -0.15},
        "separators": figs.separators(lang),
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "height": 420,
        "barmode": "group",
        "xaxis": xaxis,
        "yaxis": {"gridcolor": "#e5e7eb", "rangemode": "tozero", "ticksuffix": "%" if percent else ""},
        "title": {"text": ", ".join(cfg.metrics[c].name(lang) for c in spec["metrics"]),
                  "font": {"size": 15}},
    })  # fmt: skip


def _units(lang: str, today: date) -> list:
    """The units the viewer may pick, the city first."""
    cfg = runtime().config
    return sorted((u for u in cfg.units if u.valid_on(today) and scope.allows(cfg, u.code)),
                  key=lambda u: (u.kind != "city", u.kind, u.name(lang)))  # fmt: skip


def _procedure_options(lang: str, sectors: list[str]) -> list[dict]:
    """The procedures to pick from: those of the chosen sectors (all without a sector)."""
    cfg = runtime().config
    picked = [p for p in cfg.procedures.values() if not sectors or p.sector_code in sectors]
    return [{"label": p.name(lang), "value": p.code}
            for p in sorted(picked, key=lambda p: p.name(lang))]  # fmt: skip


def _controls(lang: str, units: list, values: dict) -> html.Div:
    cfg = runtime().config
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(t("metrics", lang)),
                    dcc.Dropdown(
                        id="explore-metrics",
                        multi=True,
                        value=values["metrics"],
                        options=[
                            {"label": m.name(lang), "value": c} for c, m in cfg.metrics.items()
                        ],
                    ),
                ],
                lg=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("grain", lang)),
                    dcc.Dropdown(
                        id="explore-grain",
                        value=values["grain"],
                        clearable=False,
                        options=[{"label": t(f"grain.{g}", lang), "value": g} for g in GRAINS],
                    ),
                ],
                lg=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("period", lang)),
                    dcc.DatePickerRange(
                        id="explore-range",
                        start_date=values["start"],
                        end_date=values["end"],
                        display_format="DD/MM/YYYY" if lang == "vi" else "D MMM YYYY",
                        first_day_of_week=1,
                    ),
                ],
                lg=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("explore.compare", lang)),
                    dcc.Dropdown(
                        id="explore-compare",
                        value=values["compare"],
                        placeholder=t("explore.compare.none", lang),
                        options=[{"label": t(f"explore.{c}", lang), "value": c} for c in COMPARES],
                    ),
                ],
                lg=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("explore.chart", lang)),
                    dbc.RadioItems(
                        id="explore-chart",
                        value=values["chart"],
                        inline=True,
                        options=[
                            {"label": t("explore.line", lang), "value": "line"},
                            {"label": t("explore.bar", lang), "value": "bar"},
                        ],
                    ),
                ],
                lg=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("explore.group_by", lang)),
                    dcc.Dropdown(
                        id="explore-group",
                        value=values["group"],
                        placeholder=t("explore.none", lang),
                        options=[{"label": t(g, lang), "value": g} for g in GROUPS],
                    ),
                ],
                lg=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("unit", lang)),
                    dcc.Dropdown(
                        id="explore-unit",
                        value=values["unit"],
                        placeholder=t("city", lang),
                        options=[
                            {"label": label("unit", u.code, lang), "value": u.code} for u in units
                        ],
                    ),
                ],
                lg=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("sectors", lang)),
                    dcc.Dropdown(
                        id="explore-sectors",
                        multi=True,
                        value=values["sectors"],
                        placeholder=t("all", lang),
                        options=[
                            {"label": s.name(lang), "value": c} for c, s in cfg.sectors.items()
                        ],
                    ),
                ],
                lg=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("procedures", lang)),
                    dcc.Dropdown(
                        id="explore-procedures",
                        multi=True,
                        value=values["procedures"],
                        placeholder=t("all", lang),
                        options=_procedure_options(lang, values["sectors"]),
                    ),
                ],
                lg=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("channels", lang)),
                    dcc.Dropdown(
                        id="explore-channels",
                        multi=True,
                        value=values["channels"],
                        placeholder=t("all", lang),
                        options=[{"label": t(f"channel.{c}", lang), "value": c} for c in CHANNELS],
                    ),
                ],
                lg=2,
            ),
        ],
        className="g-2 mb-3 explore-controls",
    )


def _view_control(lang: str, view: str) -> html.Div:
    return html.Div(
        [
            dbc.Label(t("view_mode", lang), className="me-2 mb-0"),
            dbc.RadioItems(
                id="explore-view-mode",
                value=view,
                inline=True,
                options=[{"label": t(f"view_mode.{m}", lang), "value": m} for m in VIEWS],
            ),
        ],
        className="d-flex align-items-center mb-3",
    )


# The view of time into the address bar (left out at its default), keeping the other controls the
# page wrote there: the page renders again from the URL, as the language switch does.
clientside_callback(
    """
    function(view) {
        const params = new URLSearchParams(window.location.search);
        if (!view || view === "today") { params.delete("view"); } else { params.set("view", view); }
        const q = params.toString();
        return window.location.pathname + (q ? "?" + q : "");
    }
    """,
    Output("explore-nav", "href"),
    Input("explore-view-mode", "value"),
    prevent_initial_call=True,
)


@callback(
    Output("explore-procedures", "options"),
    Input("explore-sectors", "value"),
    State("_pages_location", "search"),
    prevent_initial_call=True,
)
def procedure_options(sectors, search):
    """Picking sectors narrows the procedures to theirs (a picked one outside them stays in
    the filter, which then finds no data, as the grid says)."""
    return _procedure_options(lang_of(parse_search(search).get("lang")), list(sectors or []))


def _ignored(parts: list[str], lang: str) -> dbc.Alert | None:
    if not parts:
        return None
    text = f"{t('explore.link_ignored', lang)}: {', '.join(parts)}"
    return dbc.Alert(text, color="warning", id="explore-link-ignored")


def layout(lang: str = "vi", **query) -> html.Div:
    lang = lang_of(lang)
    today = local_today()
    units = _units(lang, today)
    base = defaults(today, scope.current_unit())
    codes = {u.code for u in units}
    values, ignored = controls_from_query(runtime().config, query, base, codes.__contains__)
    return html.Div(
        [
            # The view of time is the URL's, as the language: its control loads the page again.
            dcc.Location(id="explore-nav", refresh="callback-nav"),
            html.Div(
                [
                    html.H1(t("explore.title", lang), className="page-title mb-0"),
                    as_of_line(current_freshness(), lang, "explore-as-of"),
                ],
                className="d-flex justify-content-between align-items-baseline flex-wrap mb-2",
            ),
            _ignored(ignored, lang),
            _controls(lang, units, values),
            _view_control(lang, view_of(query)),
            dcc.Store(id="explore-spec"),
            # What the address bar may leave out. Not the unit: a department head's default is
            # their unit, and their link must open that unit for a reader whose default is not.
            dcc.Store(id="explore-defaults", data={**base, "unit": None}),
            dcc.Store(id="explore-link"),
            html.Div(id="explore-error"),
            dcc.Graph(
                id="explore-graph",
                config=figs.graph_config(lang, toImageButtonOptions={"filename": "ioc-explorer"}),
            ),
            html.Div(
                [
                    html.Span(t("explore.export", lang) + ":", className="fw-bold me-2"),
                    dbc.Button("CSV", id="explore-csv", size="sm", className="me-1"),
                    dbc.Button("XLSX", id="explore-xlsx", size="sm", className="me-1"),
                    dbc.Button(
                        "PNG", id="explore-png", size="sm", className="me-1", color="secondary"
                    ),
                    dbc.Button("SVG", id="explore-svg", size="sm", color="secondary"),
                    html.Span(id="explore-count", className="ms-3 text-muted"),
                    html.Span(id="explore-shown", className="ms-2 text-muted"),
                    dcc.Download(id="explore-download"),
                    html.Span(id="explore-image-done", hidden=True),
                ],
                className="my-2 d-flex align-items-center",
            ),
            dag.AgGrid(
                id="explore-grid",
                columnSize="responsiveSizeToFit",
                columnDefs=[],
                rowData=[],
                defaultColDef={
                    "sortable": True,
                    "resizable": True,
                    **TEXT_FILTER,
                    "wrapHeaderText": True,
                    "autoHeaderHeight": True,
                    "minWidth": 130,
                },
                dashGridOptions=grid_options(lang, pagination=True, paginationPageSize=50),
                style={"height": "480px"},
                className="ag-theme-alpine",
            ),
        ],
        className="container-fluid py-3",
    )


# The view's controls, in the order the callbacks below take them.
CONTROLS = [
    Input("explore-metrics", "value"),
    Input("explore-grain", "value"),
    Input("explore-range", "start_date"),
    Input("explore-range", "end_date"),
    Input("explore-group", "value"),
    Input("explore-unit", "value"),
    Input("explore-sectors", "value"),
    Input("explore-channels", "value"),
    Input("explore-chart", "value"),
    Input("explore-compare", "value"),
    Input("explore-procedures", "value"),
]


@callback(
    Output("explore-spec", "data"),
    Output("explore-graph", "figure"),
    Output("explore-grid", "columnDefs"),
    Output("explore-grid", "rowData"),
    Output("explore-count", "children"),
    Output("explore-error", "children"),
    *CONTROLS,
    State("_pages_location", "search"),
)
def update(metrics, grain, start, end, group, unit, sectors, channels, chart, compare,
           procedures, search):  # fmt: skip
    asked = parse_search(search)
    spec = _spec_from(metrics, grain, start, end, group, unit, sectors, channels, chart, compare,
                      procedures, asked.get("lang"), view_of(asked))  # fmt: skip
    lang = spec["lang"]
    try:
        columns, rows = table(spec)
    except (QueryError, ValueError) as e:
        return (dash.no_update, figs.empty(str(e)), [], [], "",
                dbc.Alert(f"{t('error', lang)}: {e}", color="warning"))  # fmt: skip
    count = f"{fmt.number(len(rows), 0, lang)} {t('explore.rows', lang)}"
    return spec, figure(spec, rows), column_defs(columns, spec), rows, count, None


# A metric's columns other than its value: `<metric><suffix>`.
_SUFFIXES = ("_num", "_den", "_target", "_prev", "_yoy", "_change")


def column_defs(columns: list[tuple[str, str]], spec: dict) -> list[dict]:
    """The grid's columns: each written, sorted and filtered as people read it."""
    cfg = runtime().config
    lang = spec["lang"]
    defs = []
    for key, header in columns:
        d = {"field": key, "headerName": header}
        base = key
        while base not in cfg.metrics and base.endswith(_SUFFIXES):  # `<m>_prev_num` too
            base = base.rsplit("_", 1)[0]
        if base in cfg.metrics:
            # A rate and its target with the metric's decimals; numerators, denominators as counts.
            digits = 0 if key.endswith(("_num", "_den")) else cfg.metrics[base].decimals
            signed = "true" if key.endswith("_change") else "false"  # "+1,2" beside "−0,4"
            d["type"] = "rightAligned"
            shown = f"iocNum(params.value, '{lang}', {digits}, {signed})"
            d["valueFormatter"] = {"function": shown}
            d.update(number_filter(lang))
        if key == "period":
            # Written as people read it ("Quý 2/2026") and filtered by that text; sorted by the
            # ISO date. As text, not a date: the grid would offer a date picker for a quarter.
            written = f"iocPeriod(params.value, '{spec['grain']}', '{lang}')"
            d["valueFormatter"] = {"function": written}
            d["cellDataType"] = "text"
            d["filterValueGetter"] = {
                "function": written.replace("params.value", "params.data.period")
            }
        if key == "group_code":
            d["hide"] = True
        defs.append(d)
    return defs


COMPARED = {"prev": "prev: the bucket before (for a whole range, the range before); "
                   "change = value − prev",
            "yoy": "yoy: the same bucket or range a year before; change = value − yoy"}  # fmt: skip


def _meta(spec: dict) -> list[tuple[str, str]]:
    cfg = runtime().config
    lang = spec["lang"]
    newest = local(as_of(current_freshness()))
    meta = [
        ("title", t("explore.title", lang)),
        ("generated_at", datetime.now(UTC).isoformat(timespec="seconds")),
        (
            "data_as_of",
            f"{newest.isoformat(timespec='minutes')} Asia/Ho_Chi_Minh" if newest else "",
        ),
        ("grain", spec["grain"]),
        ("start", spec["start"]),
        ("end", spec["end"]),
        ("group_by", spec["group"] or ""),
        ("filter unit", spec["unit"] or cfg.root.code),
        ("filter sectors", ",".join(spec["sectors"]) or t("all", lang)),
        ("filter procedures", ",".join(spec.get("procedures", [])) or t("all", lang)),
        ("filter channels", ",".join(spec["channels"]) or t("all", lang)),
        ("compare", COMPARED.get(spec.get("compare"), "")),
        _export.view_line(spec.get("view", "today")),
        (
            "note",
            (
                "rates are ratios of sums: value = scale × numerator / denominator; "
                "empty = no data (zero or missing denominator)"
            ),
        ),
    ]
    return meta + _export.metric_definitions(cfg, spec["metrics"], lang)


def _filename(spec: dict, ext: str) -> str:
    return (
        f"ioc-{'-'.join(spec['metrics'])[:60]}-{spec['grain']}-{spec['start']}-{spec['end']}.{ext}"
    )


def shown(rows: list[dict], grid_rows: list[dict] | None) -> list[dict]:
    """The table's rows the grid shows, in its order, after its column filters and sort. Only
    the grid's keys (period, group) are taken from the browser: every value is the server's."""
    if grid_rows is None:
        return rows
    by_key = {(r["period"], r.get("group_code")): r for r in rows}
    keys = ((g.get("period"), g.get("group_code")) for g in grid_rows if isinstance(g, dict))
    return [by_key[k] for k in keys if k in by_key]


@callback(
    Output("explore-download", "data"),
    Input("explore-csv", "n_clicks"),
    Input("explore-xlsx", "n_clicks"),
    State("explore-spec", "data"),
    State("explore-grid", "virtualRowData"),
    prevent_initial_call=True,
)
def export(_csv, _xlsx, spec, grid_rows):
    if not spec or not spec["metrics"]:
        raise PreventUpdate
    try:
        columns, rows = table(spec)
    except QueryError:  # a spec this page did not write (an unknown view): nothing to export
        raise PreventUpdate from None
    exported = shown(rows, grid_rows)
    meta = _meta(spec)
    if len(exported) < len(rows):  # the grid's filters left rows out: say so in the file
        meta.insert(1, ("grid filter", f"{len(exported)} of {len(rows)} rows"))
    if dash.ctx.triggered_id == "explore-xlsx":
        return dcc.send_bytes(_export.to_xlsx(columns, exported, meta), _filename(spec, "xlsx"))
    return dcc.send_bytes(_export.to_csv(columns, exported, meta), _filename(spec, "csv"))


# How many rows the grid's filters leave, beside the count: the exports take those.
clientside_callback(
    """
    function(shown, rows, search) {
        const total = (rows || []).length, left = (shown || []).length;
        if (!shown || left === total) { return ""; }
        const en = new URLSearchParams(search || "").get("lang") === "en";
        return en ? `(${left} shown by the grid's filters; the export takes those)`
                  : `(bộ lọc của bảng còn ${left} dòng; tệp xuất lấy các dòng này)`;
    }
    """,
    Output("explore-shown", "children"),
    Input("explore-grid", "virtualRowData"),
    State("explore-grid", "rowData"),
    State("_pages_location", "search"),
)


# Images of the chart as it is on screen, drawn by plotly.js in the browser (no server, offline).
clientside_callback(
    """
    function(nPng, nSvg, spec) {
        const trig = dash_clientside.callback_context.triggered.map(t => t.prop_id)[0] || "";
        const format = trig.startsWith("explore-svg") ? "svg" : "png";
        const gd = document.querySelector("#explore-graph .js-plotly-plot");
        if (!gd || !spec) { return dash_clientside.no_update; }
        const name = ["ioc", (spec.metrics || []).join("-").slice(0, 60), spec.grain,
                      spec.start, spec.end].join("-");
        Plotly.downloadImage(gd, {format: format, filename: name, width: 1400, height: 600});
        return format;
    }
    """,
    Output("explore-image-done", "children"),
    Input("explore-png", "n_clicks"),
    Input("explore-svg", "n_clicks"),
    State("explore-spec", "data"),
    prevent_initial_call=True,
)


# The view in the address bar as the controls change, without a page load (so a dropdown keeps
# its focus) or a history entry: a reload, a bookmark or a shared link opens the same view.
clientside_callback(
    """
    function(metrics, grain, start, end, group, unit, sectors, channels, chart, compare,
             procedures, base) {
        const join = v => Array.isArray(v) ? v.join(",") : (v || "");
        const values = {metrics: join(metrics), grain: grain, start: (start || "").slice(0, 10),
                        end: (end || "").slice(0, 10), group: group, unit: unit,
                        sectors: join(sectors), channels: join(channels), chart: chart,
                        compare: compare, procedures: join(procedures)};
        const params = new URLSearchParams(window.location.search);
        for (const [k, v] of Object.entries(values)) {
            if (!v || v === join(base[k])) { params.delete(k); } else { params.set(k, v); }
        }
        const q = params.toString();
        const url = window.location.pathname + (q ? "?" + q : "");
        if (url !== window.location.pathname + window.location.search) {
            window.history.replaceState(window.history.state, "", url);
        }
        return q;
    }
    """,
    Output("explore-link", "data"),
    *CONTROLS,
    State("explore-defaults", "data"),
)
