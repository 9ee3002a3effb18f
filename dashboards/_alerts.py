"""Alert pieces other pages share: the wall strip's items, the drill-down link of an alert and
its reason in the viewer's language.

`strip_items(lang)` gives the (severity, text, link) triples `_components.alert_strip` draws:
the firing critical alerts (plus warnings with `severity=None`), worst and oldest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from dashboards import _format as fmt
from dashboards._components import label, local, per_request
from dashboards._runtime import runtime
from metrics.alerts.notify import drilldown_path
from metrics.alerts.reasons import Formats, Reason
from warehouse.alerts_store import AlertRow, active_alerts


def alert_link(a: AlertRow, lang: str) -> str:
    """The drill-down view that explains the alert (unit, metric, the alert's window)."""
    if a.kind == "feed":
        return "/sources" + ("?lang=en" if lang == "en" else "")
    return drilldown_path(a.unit_code, a.metric, a.period_start, a.period_end, lang, a.sector_code)


def when(ts: datetime | None, lang: str) -> str:
    """An instant as the pages write it, in local time."""
    return "–" if ts is None else fmt.moment(local(ts), lang)


def reason_text(row: Mapping, lang: str) -> str:
    """Why the alert is in its state, in `lang`, its values written as the boards write them:
    `row` has `reason_parts`, `reason` (the English text, all rows from before reasons were kept
    as data have), `metric`, `value` and `threshold`."""
    reason = Reason.from_json(row.get("reason_parts"))
    if reason is None:
        return row.get("reason") or ""
    m = runtime().config.metrics.get(row.get("metric") or "")
    digits = None if m is None else fmt.digits_apart(m, row.get("value"), row.get("threshold"))
    formats = Formats(
        value=(lambda x: fmt.metric_value(m, x, lang, digits)) if m is not None else None,
        count=lambda x: fmt.number(x, 0 if float(x).is_integer() else 1, lang),
        moment=lambda ts: when(ts, lang),
    )
    return reason.text(lang, formats)


def alert_name(row: Mapping, lang: str) -> str:
    """'Quận 8 · Tỷ lệ hồ sơ trực tuyến' of an instance's columns (unit_code, metric,
    sector_code, source, rule_id, kind); a history row whose instance is gone has only its key."""
    cfg = runtime().config
    if row.get("kind") == "feed" or row.get("rule_id") == "stale":
        return f"{'Nguồn dữ liệu trễ' if lang == 'vi' else 'Feed late'}: {row.get('source')}"
    if row.get("rule_id") is None:
        return row.get("alert_key") or ""
    code = row.get("unit_code")
    unit = label("unit", code, lang) if code else ""
    m = cfg.metrics.get(row.get("metric") or "")
    if m is None:
        return f"{unit} · {row['rule_id']}"
    sector = cfg.sectors.get(row.get("sector_code") or "")
    return f"{unit}{f' · {sector.name(lang)}' if sector else ''} · {m.name(lang)}"


def alert_text(a: AlertRow, lang: str) -> str:
    """'Quận 8 · Tỷ lệ hồ sơ trực tuyến 50,0% (ngưỡng 70,0%)'."""
    name = alert_name(vars(a) | {"alert_key": a.key}, lang)  # vars: asdict deep-copies
    m = runtime().config.metrics.get(a.metric or "")
    if a.kind == "feed" or m is None:
        return name
    limit = "ngưỡng" if lang == "vi" else "threshold"
    digits = fmt.digits_apart(m, a.value, a.threshold)
    value = fmt.metric_value(m, a.value, lang, digits)
    threshold = fmt.metric_value(m, a.threshold, lang, digits)
    return f"{name} {value} ({limit} {threshold})"


def strip_items(
    lang: str, severity: str | None = "critical", now: datetime | None = None
) -> list[tuple[str, str, str | None]]:
    """Firing alerts for the wall strip as (severity, text, link)."""

    def compute():
        return active_alerts(runtime().warehouse.cursor(), severity=severity, now=now)

    rows = compute() if now is not None else per_request(("active_alerts", severity), compute)
    return [(a.severity or "warning", alert_text(a, lang), alert_link(a, lang)) for a in rows]
