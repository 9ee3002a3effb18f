"""Numbers, dates and words as each language writes them (vi: 89,7% and 23/11/2026)."""

from __future__ import annotations

from datetime import date, datetime

from config import Metric

NO_DATA = {"vi": "không có dữ liệu", "en": "no data"}


def number(value: float | None, decimals: int, lang: str) -> str:
    if value is None:
        return NO_DATA[lang]
    text = f"{value:,.{decimals}f}"
    if lang == "vi":  # Vietnamese swaps the separators: 1.234,5
        text = text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
    return text


def metric_value(
    metric: Metric, value: float | None, lang: str, decimals: int | None = None
) -> str:
    if value is None:
        return NO_DATA[lang]
    text = number(value, metric.decimals if decimals is None else decimals, lang)
    if metric.is_percent:
        return f"{text}%"
    unit = {
        "days": {"vi": "ngày", "en": "days"},
        "dossiers": {"vi": "hồ sơ", "en": "dossiers"},
        "points": {"vi": "điểm", "en": "points"},
        "records": {"vi": "bản ghi", "en": "records"},
        "cases": {"vi": "trường hợp", "en": "cases"},
    }
    return f"{text} {unit.get(metric.unit, {}).get(lang, metric.unit)}"


def decimals_apart(value: float | None, limit: float | None, fewest: int, most: int) -> int:
    """`fewest` decimals, or more (up to `most`) when `value` would round onto `limit` without
    being it: 89.99 against a 90 threshold reads 89,99% (ngưỡng 90,00%), not 90,0% against 90,0%."""
    digits = fewest
    if value is None or limit is None or value == limit:
        return digits
    while digits < most and round(value, digits) == round(limit, digits):
        digits += 1
    return digits


def digits_apart(metric: Metric, value: float | None, limit: float | None) -> int:
    """The metric's decimals, up to 3 more where a value just off `limit` (a target, a
    threshold) would round onto it."""
    return decimals_apart(value, limit, metric.decimals, metric.decimals + 3)


def delta(metric: Metric, change: float | None, lang: str) -> str:
    """A signed change, in points for rates ("+1,2 điểm" / "+1.2 pts")."""
    if change is None:
        return "–"
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    text = number(abs(change), metric.decimals, lang)
    if metric.is_percent:
        return f"{sign}{text} {'điểm' if lang == 'vi' else 'pts'}"
    return f"{sign}{text}"


def day(d: date | datetime, lang: str) -> str:
    return d.strftime("%d/%m/%Y") if lang == "vi" else d.strftime("%d %b %Y")


def period(start: date, grain: str, lang: str) -> str:
    """A calendar bucket as people write it, from its first day: "Quý 2/2026", "Q2 2026",
    "Tháng 4/2026", "Apr 2026", "Tuần từ 06/04/2026". The grid's twin is `iocPeriod`
    (assets/ioc_grid.js)."""
    if grain == "year":
        return str(start.year)
    if grain == "quarter":
        q = (start.month - 1) // 3 + 1
        return f"Quý {q}/{start.year}" if lang == "vi" else f"Q{q} {start.year}"
    if grain == "month":
        return f"Tháng {start.month}/{start.year}" if lang == "vi" else start.strftime("%b %Y")
    if grain == "week":
        return f"{'Tuần từ' if lang == 'vi' else 'Week of'} {day(start, lang)}"
    return day(start, lang)


def moment(ts: datetime | None, lang: str) -> str:
    if ts is None:
        return NO_DATA[lang]
    return ts.strftime("%H:%M %d/%m/%Y") if lang == "vi" else ts.strftime("%H:%M, %d %b %Y")


STATUS_TEXT = {
    "ok": {"vi": "Đạt mục tiêu", "en": "On target"},
    "warning": {"vi": "Cảnh báo", "en": "Warning"},
    "critical": {"vi": "Nghiêm trọng", "en": "Critical"},
    "no_data": {"vi": "Không có dữ liệu", "en": "No data"},
    "no_target": {"vi": "Chưa có mục tiêu", "en": "No target"},
}
# The icon repeats what the colour says, for colour-blind viewers and grey-scale screens.
STATUS_ICON = {"ok": "✔", "warning": "▲", "critical": "✖", "no_data": "○", "no_target": "·"}
