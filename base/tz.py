"""The city's time zone: Asia/Ho_Chi_Minh, UTC+7 all year.

Viet Nam has kept no daylight saving since 1975, so a fixed offset is exact for every instant the
warehouse holds; code that can add a timedelta does so instead of loading the tz database, and
DuckDB sessions and polars conversions use the name. Instants are stored in UTC; a naive datetime
handed to these helpers is taken as UTC, as the warehouse writes them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

LOCAL_TZ = "Asia/Ho_Chi_Minh"
LOCAL_OFFSET = timedelta(hours=7)
LOCAL_OFFSET_SECONDS = int(LOCAL_OFFSET.total_seconds())  # for SQL on epoch seconds


def _utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def local_wall(instant: datetime) -> datetime:
    """The city's wall-clock time of `instant`, naive (for display and local-day arithmetic)."""
    return (_utc(instant) + LOCAL_OFFSET).replace(tzinfo=None)


def local_date(instant: datetime) -> date:
    """The city's calendar day of `instant`."""
    return local_wall(instant).date()


def local_today(now: datetime | None = None) -> date:
    """Today in the city (`now` for tests; the real clock otherwise)."""
    return local_date(now or datetime.now(UTC))
