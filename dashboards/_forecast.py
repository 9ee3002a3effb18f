"""The year-end forecast on a unit page (issue 5): said in the summary, drawn on the trend.

The model and its wording are metrics/forecast.py's; this module only picks when a view shows
it (a view that reaches into this year) and words it in the viewer's language.
"""

from __future__ import annotations

from datetime import date

from dash import html

from config import Metric
from dashboards import _format as fmt
from dashboards._i18n import t
from dashboards._runtime import local_today, runtime
from dashboards._view import UnitView
from metrics.forecast import Forecast, forecast

# A forecast's status as the boards' colours and icons say it (status-ok, …).
_COLOUR = {"on_track": "ok", "at_risk": "warning", "off_track": "critical",
           "no_target": "no_target"}  # fmt: skip


def applies(v: UnitView) -> bool:
    """A view that reaches into this year (a past year has no year-end left to project)."""
    return v.end.year == local_today().year


def unit_forecast(v: UnitView) -> Forecast | None:
    """The view's projection (None: too little data)."""
    return forecast(runtime().warehouse.cursor(), runtime().config, v.metric, v.unit,
                    local_today(), sectors=[v.sector] if v.sector else [],
                    procedures=[v.procedure] if v.procedure else [])  # fmt: skip


def projection(f: Forecast | None) -> list[tuple[date, float, float, float]]:
    """The line the trend draws: from the last month with data to December."""
    if f is None:
        return []
    return [p for p in f.line if p[0] >= f.months[-1]]


def summary(f: Forecast | None, metric: Metric, lang: str) -> html.Div:
    """The projected value, its interval, what it means for the target, and how it was made."""
    title = t("forecast.title", lang) + (f" {f.year}" if f is not None else "")
    head = html.Div(title, className="kpi-name mt-3")
    if f is None:
        return html.Div([head, html.Div(t("forecast.too_few", lang), className="text-muted")],
                        id="units-forecast")  # fmt: skip

    digits = fmt.decimals_apart(f.projected, f.target, metric.decimals, metric.decimals + 3)

    def value(x: float | None) -> str:
        return fmt.metric_value(metric, x, lang, digits)

    status = html.Span(
        [html.Span(fmt.STATUS_ICON[_COLOUR[f.status]], className="status-icon"),
         t(f"forecast.{f.status}", lang)
         + (f" {value(f.target)}" if f.target is not None else "")],
        className=f"status-badge status-{_COLOUR[f.status]}", id="units-forecast-status",
    )  # fmt: skip
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
