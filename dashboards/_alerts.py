"""Alert pieces other pages share: the wall strip's items and the drill-down link of an alert.

`strip_items(lang)` gives the (severity, text, link) triples `_components.alert_strip` draws:
the firing critical alerts (plus warnings with `severity=None`), worst and oldest first.
"""

from __future__ import annotations

from datetime import datetime

from dashboards import _format as fmt
from dashboards._runtime import runtime
from metrics.alerts.notify import drilldown_path
from warehouse.alerts_store import AlertRow, active_alerts


def alert_link(a: AlertRow, lang: str) -> str:
    """The drill-down view that explains the alert (unit, metric, the alert's window)."""
    if a.kind == "feed":
        return "/sources" + ("?lang=en" if lang == "en" else "")
    return drilldown_path(a.unit_code, a.metric, a.period_start, a.period_end, lang, a.sector_code)


def alert_text(a: AlertRow, lang: str) -> str:
    """'Quận 8 · Tỷ lệ hồ sơ trực tuyến 50,0% (ngưỡng 70,0%)'."""
    cfg = runtime().config
    if a.kind == "feed":
        return f"{'Nguồn dữ liệu trễ' if lang == 'vi' else 'Feed late'}: {a.source}"
    try:
        unit = cfg.unit(a.unit_code).name(lang) if a.unit_code else ""
    except KeyError:
        unit = a.unit_code or ""
    m = cfg.metrics.get(a.metric or "")
    if m is None:
        return f"{unit} · {a.rule_id}"
    limit = "ngưỡng" if lang == "vi" else "threshold"
    value = fmt.metric_value(m, a.value, lang)
    threshold = fmt.metric_value(m, a.threshold, lang)
    sector = f" · {cfg.sectors[a.sector_code].name(lang)}" if a.sector_code in cfg.sectors else ""
    return f"{unit}{sector} · {m.name(lang)} {value} ({limit} {threshold})"


def strip_items(
    lang: str, severity: str | None = "critical", now: datetime | None = None
) -> list[tuple[str, str, str | None]]:
    """Firing alerts for the wall strip as (severity, text, link)."""
    from dashboards._components import per_request

    def compute():
        return active_alerts(runtime().warehouse.cursor(), severity=severity, now=now)

    rows = compute() if now is not None else per_request(("active_alerts", severity), compute)
    return [(a.severity or "warning", alert_text(a, lang), alert_link(a, lang)) for a in rows]
