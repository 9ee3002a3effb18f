"""The year-end forecast on the pages (issue 5): said in a unit's summary and drawn on its
trend; the units projected to miss a target listed on the alerts page.

The model is metrics/forecast.py's; this module picks when a view shows it (a view that reaches
into this year) and words it in the viewer's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import dash_bootstrap_components as dbc
from dash import html

from base.tz import local_today
from config import Metric
from dashboards import _format as fmt
from dashboards._i18n import t
from dashboards._parallel import gather
from dashboards._runtime import runtime
from dashboards._view import UnitView
from metrics.forecast import Forecast, forecast, forecasts, forecasts_by_unit
from metrics.targets import target_for
from warehouse.db import remembered

# A forecast's status as the boards' colours and icons say it (status-ok, …).
_COLOUR = {"on_track": "ok", "at_risk": "warning", "off_track": "critical",
           "no_target": "no_target"}  # fmt: skip


def applies(v: UnitView) -> bool:
    """A view that reaches into this year (a past year has no year-end left to project)."""
    return v.end.year == local_today().year


def unit_forecast(v: UnitView) -> Forecast | None:
    """The view's projection (None: too little data)."""
    return forecast(runtime().warehouse.cursor(), runtime().config, v.metric, v.unit,
                    local_today(), sectors=v.sectors, procedures=v.procedures)  # fmt: skip


def projection(f: Forecast | None) -> list[tuple[date, float, float, float]]:
    """The line the trend draws: from the last month with data to December."""
    if f is None:
        return []
    return [p for p in f.line if p[0] >= f.months[-1]]


def _badge(f: Forecast, lang: str, suffix: str = "", **attrs) -> html.Span:
    colour = _COLOUR[f.status]
    return html.Span([html.Span(fmt.STATUS_ICON[colour], className="status-icon"),
                      t(f"forecast.{f.status}", lang) + suffix],
                     className=f"status-badge status-{colour}", **attrs)  # fmt: skip


def summary(f: Forecast | None, metric: Metric, lang: str) -> html.Div:
    """The projected value, its interval, what it means for the target, and how it was made."""
    title = t("forecast.title", lang) + (f" {f.year}" if f is not None else "")
    head = html.Div(title, className="kpi-name mt-3")
    if f is None:
        return html.Div([head, html.Div(t("forecast.too_few", lang), className="text-muted")],
                        id="units-forecast")  # fmt: skip

    digits = fmt.digits_apart(metric, f.projected, f.target)

    def value(x: float | None) -> str:
        return fmt.metric_value(metric, x, lang, digits)

    status = _badge(f, lang, f" {value(f.target)}" if f.target is not None else "",
                    id="units-forecast-status")  # fmt: skip
    explain = t("forecast.explain", lang).format(
        n=len(f.months), first=f"{f.months[0]:%m/%Y}", last=f"{f.months[-1]:%m/%Y}",
        slope=fmt.delta(metric, f.slope_per_month, lang), year=f.year, value=value(f.projected),
        interval=t("forecast.interval", lang), low=value(f.low), high=value(f.high),
    )  # fmt: skip
    interval = f" ({t('forecast.interval', lang)}: {value(f.low)}–{value(f.high)})"
    return html.Div(
        [
            head,
            html.Div([html.Span(value(f.projected), className="forecast-value"),
                      html.Span(interval, className="kpi-counts")]),
            status,
            html.Div(explain, className="forecast-explain"),
        ],
        id="units-forecast",
        **{"data-status": f.status},
    )  # fmt: skip


@dataclass(frozen=True)
class Outlook:
    """One metric's year-end projections below a unit: the unit's own, and its children's."""

    metric: str
    target: float | None  # the unit's target this year
    own: Forecast | None
    missing: tuple[Forecast, ...]  # children projected to miss the target, furthest off first
    projected: int  # children with a projection


def outlooks(unit: str) -> list[Outlook]:
    """Every metric with a target this year, those the unit is projected to miss first. Kept
    until the next commit (11 metrics × every child, in two statements: ~0.1 s cold)."""
    cur = runtime().warehouse.cursor()
    return remembered(cur, ("outlooks", unit, local_today()), lambda: _outlooks(unit))


def _outlooks(unit: str) -> list[Outlook]:
    rt = runtime()
    cfg, today = rt.config, local_today()
    metrics = [m for m in cfg.metrics if (m, today.year) in cfg.targets_by_year]
    if not metrics:
        return []
    # Each in its own thread's cursor (`_parallel`): a cursor serves one thread at a time.
    per_unit, own = gather(
        lambda: forecasts_by_unit(rt.warehouse.cursor(), cfg, metrics, today, unit=unit),
        lambda: forecasts(rt.warehouse.cursor(), cfg, metrics, unit, today),
    )
    found = []
    for metric in metrics:
        children = [f for code, f in per_unit[metric].items() if f is not None and code != unit]
        missing = sorted((f for f in children if f.at_risk),
                         key=lambda f: -abs(f.projected - f.target))  # fmt: skip
        found.append(Outlook(metric, target_for(cfg, metric, today.year, unit), own[metric],
                             tuple(missing), len(children)))  # fmt: skip
    rank = {"off_track": 0, "at_risk": 1, "on_track": 2, "no_target": 3}
    return sorted(found, key=lambda o: (rank[o.own.status] if o.own else 4, -len(o.missing)))


WORST_SHOWN = 5


def outlook_table(found: list[Outlook], lang: str) -> html.Div:
    """The alerts page's forecast warnings: per metric, the unit's projection and the children
    projected to miss (the furthest off named, each linked to its drill-down)."""
    if not found:
        return html.P(t("forecast.none", lang), className="text-muted")
    head = [t("metric", lang), t("forecast.december", lang), t("target", lang), "",
            t("forecast.missing", lang)]  # fmt: skip
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                      html.Tbody([_outlook_row(o, lang) for o in found])],
                     size="sm", hover=True, responsive=True)  # fmt: skip


def _outlook_row(o: Outlook, lang: str) -> html.Tr:
    cfg, today = runtime().config, local_today()
    m = cfg.metrics[o.metric]

    def value(x: float | None) -> str:
        return fmt.metric_value(m, x, lang)

    def link(f: Forecast) -> html.A:
        view = UnitView(f.unit_code, f.metric, "month", date(today.year, 1, 1), today, lang=lang)
        return html.A(f"{cfg.unit(f.unit_code, today).name(lang)} {value(f.projected)}",
                      href=view.href(), className="me-2")  # fmt: skip

    own = o.own
    status = (_badge(own, lang) if own is not None
              else html.Span(t("forecast.too_few_short", lang), className="text-muted"))  # fmt: skip
    missing: list = [html.Span("–")]
    if o.projected:
        count = t("forecast.missing_count", lang).format(
            n=fmt.number(len(o.missing), 0, lang), of=fmt.number(o.projected, 0, lang))  # fmt: skip
        missing = [html.Span(count, className="fw-bold me-2"),
                   *[link(f) for f in o.missing[:WORST_SHOWN]]]  # fmt: skip
        if len(o.missing) > WORST_SHOWN:
            more = t("forecast.more", lang).format(n=len(o.missing) - WORST_SHOWN)
            missing.append(html.Span(more, className="text-muted"))
    target = value(o.target) if o.target is not None else "–"
    cells = [m.name(lang), value(own.projected) if own else "–", target, status, missing]
    return html.Tr([html.Td(c, className="text-end" if i in (1, 2) else None)
                    for i, c in enumerate(cells)],
                   className="forecast-row", **{"data-metric": o.metric})  # fmt: skip
