"""Calendar grains in local time (Asia/Ho_Chi_Minh): bucket starts, ends and shifts.

Weeks start on Monday (ISO). Dates here are local calendar dates; the warehouse converts each
dossier's received instant to its local day once, at load. Pure date arithmetic, in the bottom
layer because the warehouse (report periods at load), metrics (query buckets) and connectors
(portal periods) all need the one definition.
"""

from __future__ import annotations

from datetime import date, timedelta

GRAINS = ("day", "week", "month", "quarter", "year")
QUERY_GRAINS = (*GRAINS, "total")


def add_months(d: date, months: int) -> date:
    """Same day `months` later (clamped to the month's last day)."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(d.day, last))


def bucket_start(d: date, grain: str) -> date:
    if grain == "day":
        return d
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return date(d.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}")


def shift(start: date, grain: str, n: int) -> date:
    """The start of the bucket `n` buckets after the one starting at `start`."""
    if grain == "day":
        return start + timedelta(days=n)
    if grain == "week":
        return start + timedelta(weeks=n)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return add_months(start, months * n)


def bucket_end(start: date, grain: str) -> date:
    """The last day of the bucket starting at `start` (inclusive)."""
    return shift(start, grain, 1) - timedelta(days=1)


def year_ago(start: date, grain: str) -> date:
    """The bucket one year before: 52 weeks for weeks, so weekdays line up."""
    return start - timedelta(weeks=52) if grain == "week" else add_months(start, -12)


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The range just before [start, end]: whole months back when it starts on the 1st.

    Month to date 1–23 Nov compares with 1–23 Oct, a quarter with the quarter before.
    """
    if start.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return add_months(start, -months), add_months(end, -months)
    days = (end - start).days + 1
    return start - timedelta(days=days), end - timedelta(days=days)
