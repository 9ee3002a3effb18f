"""The city's KPI tiles: month to date, against target and the same days last month."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from base.tz import local_today
from dashboards import _format as fmt
from dashboards._i18n import lang_of
from dashboards._runtime import runtime
from metrics import scope
from metrics.kpi import Kpi, kpis

dash.register_page(__name__, path="/", name="Overview", order=0)

TEXT = {
    "title": {"vi": "Tổng quan chuyển đổi số", "en": "Digital government overview"},
    "period": {"vi": "Từ đầu tháng đến", "en": "Month to date, to"},
    "target": {"vi": "Mục tiêu", "en": "Target"},
    "vs_prev": {"vi": "so với cùng kỳ tháng trước", "en": "vs same days last month"},
    "as_of": {"vi": "Dữ liệu đến", "en": "Data as of"},
    "of": {"vi": "trên", "en": "of"},
}


def tile(k: Kpi, lang: str) -> dbc.Col:
    m = runtime().config.metrics[k.metric]
    target = fmt.metric_value(m, k.target, lang) if k.target is not None else "–"
    counts = (
        f"{fmt.number(k.numerator, 0, lang)} {TEXT['of'][lang]} {fmt.number(k.denominator, 0, lang)}"
        if k.denominator
        else ""
    )
    return dbc.Col(
        dbc.Card(
            dbc.CardBody(
                [
                    html.Div(m.name(lang), className="kpi-name"),
                    html.Div(fmt.metric_value(m, k.value, lang), className="kpi-value"),
                    html.Div(counts, className="kpi-counts"),
                    html.Div(f"{TEXT['target'][lang]}: {target}", className="kpi-target"),
                    html.Div(
                        f"{fmt.delta(m, k.change, lang)} {TEXT['vs_prev'][lang]}",
                        className="kpi-change",
                    ),
                    html.Div(
                        f"{fmt.STATUS_ICON[k.status]} {fmt.STATUS_TEXT[k.status][lang]}",
                        className=f"kpi-status status-{k.status}",
                    ),
                ]
            ),
            className=f"kpi-tile h-100 border-status-{k.status}",
            id=f"home-tile-{k.metric}",
        ),
        xs=12,
        md=6,
        xl=3,
        className="mb-3",
    )


def layout(lang: str = "vi", **_query) -> html.Div:
    lang = lang_of(lang)
    rt = runtime()
    today = local_today()
    tiles = kpis(rt.warehouse.cursor(), rt.config, today, unit=scope.current_unit())
    newest = max(rt.warehouse.newest_by_source().values(), default=None)
    return html.Div(
        [
            html.H1(TEXT["title"][lang], className="page-title"),
            html.Div(
                [
                    html.Span(f"{TEXT['period'][lang]} {fmt.day(today, lang)}"),
                    html.Span(
                        f"{TEXT['as_of'][lang]}: {fmt.moment(newest, lang)}",
                        className="as-of ms-4",
                        id="home-as-of",
                    ),
                ],
                className="mb-3 text-muted",
            ),
            dbc.Row([tile(k, lang) for k in tiles], id="home-tiles"),
        ],
        className="container-fluid py-3",
    )
