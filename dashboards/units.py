"""Department drill-down: `/units/<code>` for department heads.

The URL carries the whole view — unit (path), `metric`, `grain`, `start`, `end`, `sector`,
`procedure`, `lang`, `view` (the view of time: today's units or as it was) — so links can be shared and Back restores the previous view: every control
and every clicked bar only computes a new URL; the page renders from the URL alone.
Breadcrumbs: city → district or department → ward → sector → procedure.
"""

from __future__ import annotations

from datetime import date

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from base.tz import local_today
from config import Metric
from dashboards import _escalation as escalation
from dashboards import _figures as figs
from dashboards import _forecast as forecast
from dashboards import _format as fmt
from dashboards import _panel as panel
from dashboards._components import (
    as_of_line,
    breadcrumbs,
    current_freshness,
    label,
    local,
    parse_search,
    status_badge,
)
from dashboards._i18n import grid_options, lang_of, t
from dashboards._parallel import gather
from dashboards._programmes import units_failed, units_placeholder
from dashboards._programmes import units_section as programmes_section
from dashboards._recent import RECENT
from dashboards._runtime import runtime
from dashboards._view import UnitView, view_from_query
from metrics import scope
from metrics.dossiers import SORTABLE, overdue
from metrics.query import VIEWS, query
from metrics.targets import status as status_of

dash.register_page(
    __name__,
    path="/units",
    path_template="/units/<code>",
    name="Units",
    order=2,
    title="IOC · Units",
)

GRAINS = ("day", "week", "month", "quarter", "year")
TOP_PROCEDURES = 15
PAGE_SIZE = 20
MAX_PAGE = 500  # rows one grid request may fetch, whatever it asks
OUTSIDE = {"vi": "Đơn vị này nằm ngoài phạm vi bạn được xem.",
           "en": "This unit is outside your access."}  # fmt: skip


def _href(v: UnitView, **changes) -> str:
    return v.replace(**changes).href()


def _crumbs(v: UnitView, lang: str) -> list[tuple[str, str | None]]:
    cfg = runtime().config
    today = local_today()
    chain = [*reversed(cfg.ancestors(v.unit, today)), v.unit]
    items = [
        (cfg.unit(code, today).name(lang), _href(v, unit=code, sector=None, procedure=None))
        for code in chain
    ]
    if v.sector:
        items.append((cfg.sectors[v.sector].name(lang), _href(v, procedure=None)))
    if v.procedure:
        items.append((cfg.procedures[v.procedure].name(lang), v.href()))
    return items


def _filters(v: UnitView) -> dict:
    return {
        "unit": v.unit,
        "sectors": v.sectors,
        "procedures": v.procedures,
    }


def _graph(id_: str, fig, lang: str, clickable: bool = True) -> dcc.Graph:
    # Clickable bars without the modebar: it would sit over the first bars and catch clicks.
    config = figs.graph_config(lang, displayModeBar=False) if clickable else figs.graph_config(lang)
    return dcc.Graph(id=id_, figure=fig, config=config,
                     className="units-graph" + (" clickable" if clickable else ""))  # fmt: skip


def _card(title: str, body, hint: str | None = None, action=None) -> dbc.Card:
    head = [html.Span(title, className="fw-bold")]
    if hint:
        head.append(html.Span(hint, className="text-muted small ms-2"))
    if action is not None:
        head.append(html.Span(action, className="ms-auto small"))
    return dbc.Card([dbc.CardHeader(head, className="d-flex align-items-baseline"),
                     dbc.CardBody(body, className="p-2")], className="mb-3")  # fmt: skip


def _summary(v: UnitView, lang: str):
    cfg = runtime().config
    m = cfg.metrics[v.metric]
    frame = query(runtime().warehouse.cursor(), cfg, [v.metric], "total", v.start, v.end,
                  _filters(v), compare=True, view=v.view)  # fmt: skip
    row = frame.row(0, named=True) if frame.height else {}
    value, target = row.get(v.metric), row.get(f"{v.metric}_target")
    prev = row.get(f"{v.metric}_prev")
    change = value - prev if value is not None and prev is not None else None
    counts, prev_counts = (_counts(m, row, v.metric + part, lang) for part in ("", "_prev"))
    # 97.96 against 98 reads 97,96% (target 98,00%), not 98,0% marked short of 98,0%.
    digits = fmt.digits_apart(m, value, target)
    return html.Div(
        [
            html.Div(m.name(lang), className="kpi-name"),
            html.Div(
                fmt.metric_value(m, value, lang, digits), className="kpi-value", id="units-value"
            ),
            html.Div(counts, className="kpi-counts"),
            html.Div(
                f"{t('target', lang)}: "
                + (fmt.metric_value(m, target, lang, digits) if target is not None else "–"),
                className="kpi-target",
            ),
            # The period before's value (and its counts on hover): the change traces to both.
            html.Div(
                f"{fmt.delta(m, change, lang)} {t('vs_prev', lang)} "
                f"({fmt.metric_value(m, prev, lang, digits)})",
                className="kpi-change",
                id="units-change",
                title=prev_counts or None,
            ),
            status_badge(status_of(m, value, target), lang, "kpi-status"),
        ],
        className="units-summary",
    )


def _counts(m: Metric, row: dict, column: str, lang: str) -> str:
    """ "15.134 trên 17.580": a ratio's numerator of its denominator; "" for no data."""
    if m.denominator is None or not row.get(f"{column}_den"):
        return ""
    return (f"{fmt.number(row[f'{column}_num'], 0, lang)} {t('of', lang)} "
            f"{fmt.number(row[f'{column}_den'], 0, lang)}")  # fmt: skip


def _trend(v: UnitView, lang: str):
    """The trend figure, and the year-end forecast (drawn on it by month; None if the view
    does not reach into this year or has too little data)."""
    cfg = runtime().config
    m = cfg.metrics[v.metric]
    frame = query(runtime().warehouse.cursor(), cfg, [v.metric], v.grain, v.start, v.end,
                  _filters(v), view=v.view)  # fmt: skip
    outlook = forecast.unit_forecast(v) if forecast.applies(v) else None
    if not frame.height:
        return figs.empty(fmt.NO_DATA[lang]), outlook
    line = forecast.projection(outlook) if v.grain == "month" else []
    return figs.trend(frame["period"].to_list(), frame[v.metric].to_list(),
                      frame[f"{v.metric}_target"].to_list(), m, lang, t("target", lang),
                      line, t("forecast.line", lang), v.grain), outlook  # fmt: skip


def _by_unit(v: UnitView, scope: str, lang: str, kind: str | None = None, highlight=None):
    cfg = runtime().config
    m = cfg.metrics[v.metric]
    today = local_today()
    frame = query(runtime().warehouse.cursor(), cfg, [v.metric], "total", v.start, v.end,
                  {**_filters(v), "unit": scope}, by=["unit"], view=v.view)  # fmt: skip
    rows = [r for r in frame.iter_rows(named=True) if r["unit_code"] != scope]
    if kind is not None:
        rows = [r for r in rows if cfg.unit(r["unit_code"], today).kind == kind]
    rows.sort(key=lambda r: (r[v.metric] is None, -(r[v.metric] or 0) if m.direction == "higher"
                             else (r[v.metric] or 0)))  # fmt: skip
    if not rows:
        return None
    return figs.bars(
        [cfg.unit(r["unit_code"], today).name(lang) for r in rows],
        [r[v.metric] for r in rows],
        [r["unit_code"] for r in rows],
        m,
        [r[f"{v.metric}_target"] for r in rows],
        lang,
        highlight=highlight,
    )


def _by_dim(v: UnitView, dim: str, lang: str, limit: int | None = None):
    cfg = runtime().config
    m = cfg.metrics[v.metric]
    column = {"sector": "sector_code", "procedure": "procedure_code"}[dim]
    frame = query(runtime().warehouse.cursor(), cfg, [v.metric], "total", v.start, v.end,
                  _filters(v), by=[dim], view=v.view)  # fmt: skip
    rows = [r for r in frame.iter_rows(named=True) if r[column] is not None]
    # Worst first for procedures (the list is cut), best first for sectors.
    worst_first = dim == "procedure"
    higher = m.direction == "higher"
    rows.sort(key=lambda r: (r[v.metric] is None,
                             (r[v.metric] or 0) * (1 if higher == worst_first else -1)))  # fmt: skip
    if limit:
        rows = rows[:limit]
    if not rows:
        return figs.empty(fmt.NO_DATA[lang])
    names = cfg.sectors if dim == "sector" else cfg.procedures
    return figs.bars(
        [names[r[column]].name(lang) if r[column] in names else r[column] for r in rows],
        [r[v.metric] for r in rows],
        [r[column] for r in rows],
        m,
        [r[f"{v.metric}_target"] for r in rows],
        lang,
        highlight=v.procedure if dim == "procedure" else v.sector,
    )


def _controls(v: UnitView, lang: str) -> dbc.Row:
    cfg = runtime().config
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label(t("metric", lang)),
                    dcc.Dropdown(
                        id="units-metric",
                        value=v.metric,
                        clearable=False,
                        options=[
                            {"label": m.name(lang), "value": c} for c, m in cfg.metrics.items()
                        ],
                    ),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Label(t("grain", lang)),
                    dcc.Dropdown(
                        id="units-grain",
                        value=v.grain,
                        clearable=False,
                        options=[{"label": t(f"grain.{g}", lang), "value": g} for g in GRAINS],
                    ),
                ],
                md=2,
            ),
            dbc.Col(
                [
                    dbc.Label(t("period", lang)),
                    dcc.DatePickerRange(
                        id="units-range",
                        start_date=v.start.isoformat(),
                        end_date=v.end.isoformat(),
                        display_format="DD/MM/YYYY" if lang == "vi" else "D MMM YYYY",
                        first_day_of_week=1,
                        min_date_allowed=date(2015, 1, 1),
                    ),
                ],
                md=4,
            ),
            dbc.Col(
                [
                    dbc.Label(t("view_mode", lang)),
                    dbc.RadioItems(
                        id="units-view-mode",
                        value=v.view,
                        options=[{"label": t(f"view_mode.{m}", lang), "value": m} for m in VIEWS],
                    ),
                ],
                md=3,
            ),
        ],
        className="mb-3 g-2",
    )


def _overdue_grid(v: UnitView, lang: str) -> dag.AgGrid:
    # (field, header, width, narrowest): the times and days late stay whole ("14:16, 25 May 2…"
    # was cut); the names give way and show whole on hover.
    cols = [
        ("dossier_id", t("units.dossier", lang), 230, 150),
        ("unit_code", t("unit", lang), 190, 120),
        ("procedure_code", t("procedure", lang), 260, 140),
        ("channel", t("channel", lang), 110, 100),
        ("received_at", t("units.received", lang), 165, 165),
        ("due_at", t("units.due", lang), 165, 165),
        ("completed_at", t("units.completed", lang), 165, 165),
        ("days_late", t("units.days_late", lang), 120, 120),
    ]
    return dag.AgGrid(
        id="units-overdue",
        columnSize="responsiveSizeToFit",
        rowModelType="infinite",
        columnDefs=[
            {
                "field": f,
                "headerName": h,
                "width": w,
                "minWidth": least,
                "tooltipField": f,
                "sortable": f in SORTABLE,
                "filter": False,
                **({"sort": "desc"} if f == "days_late" else {}),
            }
            for f, h, w, least in cols
        ],
        defaultColDef={"resizable": True},
        dashGridOptions=grid_options(
            lang,
            pagination=True,
            paginationPageSize=PAGE_SIZE,
            cacheBlockSize=PAGE_SIZE,
            paginationPageSizeSelector=False,
            maxBlocksInCache=5,
            rowBuffer=0,
        ),
        style={"height": "560px"},
        className="ag-theme-alpine",
    )


def layout(code: str | None = None, **query_args) -> html.Div:
    lang = lang_of(query_args.get("lang"))
    cfg = runtime().config
    try:
        # A department head starts at their own unit; any other unit must be inside their scope.
        v = view_from_query(cfg, code or scope.current_unit() or cfg.root.code, query_args,
                            local_today())  # fmt: skip
        scope.check_unit(cfg, v.unit)
        RECENT.note(v.unit, query_args)  # warmed after each load while people look at it
    except scope.ScopeError:
        return html.Div(
            [html.H1(t("units.title", lang), className="page-title"),
             dbc.Alert(OUTSIDE[lang], color="warning", id="units-error")],
            className="container-fluid py-3",
        )  # fmt: skip
    except (KeyError, ValueError) as e:
        return html.Div(
            [html.H1(t("units.title", lang), className="page-title"),
             dbc.Alert(f"{t('unknown_unit', lang)}: {e}", color="warning", id="units-error")],
            className="container-fluid py-3",
        )  # fmt: skip
    today = local_today()
    unit = cfg.unit(v.unit, today)
    has_children = bool(cfg.children(v.unit, today))
    has_peers = bool(unit.parent_code) and scope.allows(cfg, unit.parent_code)  # within scope
    by_sector = not v.sector and not v.procedure
    # Every clickable graph is always in the layout (hidden when it does not apply), so the
    # navigation callback always has all its inputs.
    ((trend, outlook), summary, children_fig, peers_fig, sector_fig, procedure_fig, freshness) = (
        gather(
            lambda: _trend(v, lang),
            lambda: _summary(v, lang),
            lambda: _by_unit(v, v.unit, lang) if has_children else None,
            lambda: (
                _by_unit(v, unit.parent_code, lang, kind=unit.kind, highlight=v.unit)
                if has_peers
                else None
            ),
            lambda: _by_dim(v, "sector", lang) if by_sector else None,
            lambda: _by_dim(v, "procedure", lang, TOP_PROCEDURES) if not v.procedure else None,
            current_freshness,
        )
    )
    hint = t("units.click_hint", lang)
    sla_strip, sla_card = escalation.placeholders(lang)
    year_end = (
        forecast.summary(outlook, cfg.metrics[v.metric], lang) if forecast.applies(v) else None
    )
    explore = dcc.Link(t("units.explore", lang), href=v.explorer_href(cfg.root.code),
                       id="units-explore")  # fmt: skip
    sections = [
        dbc.Col(
            _card(
                t("units.trend", lang), _graph("units-trend", trend, lang, False), action=explore
            ),
            lg=8,
        ),
        dbc.Col(
            _card(unit.name(lang), [summary, year_end, html.Div(sla_strip, id="units-sla-slot")]),
            lg=4,
        ),
    ]
    panels = [
        ("units-children", t("units.children", lang), children_fig),
        ("units-peers", t("units.peers", lang), peers_fig),
        ("units-sectors", t("units.by_sector", lang), sector_fig),
        ("units-procedures", t("units.by_procedure", lang), procedure_fig),
    ]
    grid = [
        dbc.Col(
            _card(title, _graph(id_, fig if fig is not None else figs.empty(""), lang), hint),
            lg=6,
            style=None if fig is not None else {"display": "none"},
        )
        for id_, title, fig in panels
    ]
    return html.Div(
        [
            dcc.Location(id="units-nav", refresh="callback-nav"),
            dcc.Store(id="units-view", data=v.to_json()),
            html.Div(
                [
                    html.H1(unit.name(lang), className="page-title mb-0", id="units-title"),
                    as_of_line(freshness, lang, "units-as-of"),
                ],
                className="d-flex justify-content-between align-items-baseline flex-wrap",
            ),
            breadcrumbs(_crumbs(v, lang), "units-breadcrumbs"),
            _controls(v, lang),
            dbc.Row(sections),
            dbc.Row(grid),
            # Below the fold and ~half of a cold page's reads: filled by `programmes` after the
            # page paints, so the figures above come first (issue 6).
            html.Div(units_placeholder(unit.kind, lang), id="units-programmes-slot"),
            html.Div(sla_card, id="units-escalation-slot"),
            _card(
                t("units.overdue", lang),
                [html.Div(id="units-overdue-total", className="mb-1"), _overdue_grid(v, lang)],
            ),
        ],
        className="container-fluid py-3 units-page",
        id="units-root",
    )


@callback(
    Output("units-nav", "href"),
    Input("units-metric", "value"),
    Input("units-grain", "value"),
    Input("units-range", "start_date"),
    Input("units-range", "end_date"),
    Input("units-view-mode", "value"),
    Input("units-children", "clickData"),
    Input("units-peers", "clickData"),
    Input("units-sectors", "clickData"),
    Input("units-procedures", "clickData"),
    State("units-view", "data"),
    prevent_initial_call=True,
)
def navigate(metric, grain, start, end, view, child, peer, sector, procedure, data):
    """Every control and click becomes a new URL (a history entry: Back undoes it)."""
    v = UnitView.from_json(data)
    trig = ctx.triggered_id
    if trig in ("units-children", "units-peers"):
        click = child if trig == "units-children" else peer
        if not click:
            raise PreventUpdate
        return _href(v, unit=click["points"][0]["customdata"])
    if trig == "units-sectors":
        if not sector:
            raise PreventUpdate
        return _href(v, sector=sector["points"][0]["customdata"], procedure=None)
    if trig == "units-procedures":
        if not procedure:
            raise PreventUpdate
        code = procedure["points"][0]["customdata"]
        sec = runtime().config.procedures[code].sector_code
        return _href(v, procedure=code, sector=sec)
    try:
        new = v.replace(
            metric=metric,
            grain=grain,
            start=date.fromisoformat(start[:10]) if start else v.start,
            end=date.fromisoformat(end[:10]) if end else v.end,
            view=view if view in VIEWS else v.view,
        )
    except ValueError:
        raise PreventUpdate from None
    if new == v:
        raise PreventUpdate
    return new.href()


def _panel_view(data) -> UnitView:
    """The view a panel callback is asked for: the page's own store, of a unit in scope."""
    cfg = runtime().config
    try:
        v = UnitView.from_json(data)
    except (KeyError, TypeError, ValueError):  # not a view this page wrote
        raise PreventUpdate from None
    if v.unit not in cfg.unit_codes():
        raise PreventUpdate
    scope.check_unit(cfg, v.unit)  # a forged view of another unit: 403, as the overdue list
    return v


@callback(
    Output("units-programmes-slot", "children"),
    Input("units-view", "data"),
)
def programmes(data):
    """The programmes section of the page's view (issue 8), as soon as the page is drawn."""
    v = _panel_view(data)
    lang = lang_of(v.lang)
    return panel.filled(f"the programmes section of {v.unit}",
                        lambda: programmes_section(v.unit, v.start, v.end, lang),
                        lambda: units_failed(lang))  # fmt: skip


@callback(
    Output("units-sla-slot", "children"),
    Output("units-escalation-slot", "children"),
    Input("units-view", "data"),
)
def escalation_panel(data):
    """The open dossiers to escalate as of this minute: their counts in the summary, their list
    below. Read by the clock, not kept by data version, so in a panel of their own: the first
    open in each minute does not hold the figures above (~45 ms at the city level)."""
    v = _panel_view(data)
    lang = lang_of(v.lang)

    def build():
        e = escalation.read(v)
        return escalation.strip(e, lang), escalation.card(e, v, lang)

    return panel.filled(f"the escalation of {v.unit}", build, lambda: escalation.failed(lang))


def warm(code: str | None, args: dict[str, str]) -> None:
    """Compute what a first open of this view computes (the cache warm-up): the page, then its
    programmes section from the view store the page holds, as the browser asks for it. Not the
    escalation: read by the clock, it would be thrown away within the minute."""
    page = layout(code, **args)
    try:
        view = page["units-view"].data
    except KeyError:  # the page says the view cannot be shown: nothing more to compute
        return
    programmes(view)


def _when(ts, lang: str) -> str:
    return fmt.moment(local(ts), lang) if ts is not None else ""


@callback(
    Output("units-overdue", "getRowsResponse"),
    Output("units-overdue-total", "children"),
    Input("units-overdue", "getRowsRequest"),
    State("units-view", "data"),
    State("_pages_location", "search"),
)
def overdue_rows(request, data, search):
    """One page of overdue dossiers, sorted on the server (all of them can be millions)."""
    if not request or not data:
        raise PreventUpdate
    v = UnitView.from_json(data)
    lang = lang_of(parse_search(search).get("lang"))
    sort = [(s["colId"], s["sort"]) for s in request.get("sortModel", []) if s["colId"] in SORTABLE]
    # The grid asks for PAGE_SIZE rows; a crafted request for millions gets one page.
    start_row = max(0, int(request.get("startRow") or 0))
    end_row = min(int(request.get("endRow") or PAGE_SIZE), start_row + MAX_PAGE)
    page = overdue(runtime().warehouse.cursor(), v.unit, v.start, v.end,
                   v.sectors, v.procedures, sort or None, start_row, end_row - start_row)  # fmt: skip
    rows = [
        {
            "dossier_id": r["dossier_id"],
            "unit_code": label("unit", r["unit_code"], lang),
            "procedure_code": label("procedure", r["procedure_code"], lang),
            "channel": t(f"channel.{r['channel']}", lang),
            "received_at": _when(r["received_at"], lang),
            "due_at": _when(r["due_at"], lang),
            "completed_at": _when(r["completed_at"], lang),
            "days_late": fmt.number(r["days_late"], 1, lang),
        }
        for r in page.rows
    ]  # fmt: skip
    total = f"{fmt.number(page.total, 0, lang)} {t('units.total_overdue', lang)}"
    return {"rowData": rows, "rowCount": page.total}, (no_update if start_row else total)
