"""How the query layer buckets stored facts: which fact grains fit a query grain, and the SQL
for a fact's bucket start.

The calendar itself (grains, bucket starts and ends, month arithmetic) is `base.calendar`.
"""

from __future__ import annotations

# Which stored fact grains fit wholly inside a bucket of the query grain.
FITS_IN: dict[str, tuple[str, ...]] = {
    "day": ("day",),
    "week": ("day", "week"),
    "month": ("day", "month"),
    "quarter": ("day", "month", "quarter"),
    "year": ("day", "month", "quarter", "year"),
    "total": ("day", "week", "month", "quarter", "year"),
}


def bucket_sql(grain: str, column: str = "f.period_start") -> str:
    """SQL for the bucket start of a fact's period, using the pre-computed keys where they exist."""
    return {
        "day": column,
        "week": f"CAST(date_trunc('week', {column}) AS DATE)",
        "month": "f.month_start",
        "quarter": f"CAST(date_trunc('quarter', {column}) AS DATE)",
        "year": "make_date(f.year, 1, 1)",
    }[grain]
