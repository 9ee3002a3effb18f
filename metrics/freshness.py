"""How fresh each source is: last run, newest data, counts, errors, and whether it is stale.

Read-only, from the `load_batch` and `quarantine` tables. Times are timezone-aware (UTC in
storage; pages convert to Asia/Ho_Chi_Minh for display). A source is *stale* when its last
successful run is older than its `stale_after` (from config/feeds.toml when the feed is declared
there, else `DEFAULT_STALE_AFTER`), or when it has never loaded anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from metrics.query import cached
from warehouse.db import NEWEST_BATCH_SQL, frame, until_commit

DEFAULT_STALE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    last_run_at: datetime | None  # start of the newest batch, whatever its outcome
    last_ok_at: datetime | None  # end of the newest successful batch
    newest_data_at: datetime | None  # newest data time any successful batch delivered
    last_status: str | None  # ok | failed | running
    last_error: str | None  # error of the newest batch when it failed
    rows_loaded: int  # of the newest batch
    rows_quarantined: int  # of the newest batch
    total_loaded: int  # over all successful batches
    total_quarantined: int
    batches: int
    stale_after: timedelta
    stale: bool


_SQL = """
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY source ORDER BY started_at DESC, batch_id DESC) AS rn
    FROM load_batch
)
SELECT r.source, r.started_at, r.status, r.error,
       coalesce(r.rows_loaded, 0) AS loaded, coalesce(r.rows_quarantined, 0) AS quarantined,
       a.last_ok, a.newest, a.total_loaded, a.total_quarantined, a.batches
FROM ranked r
JOIN (
    SELECT source,
           max(finished_at) FILTER (WHERE status = 'ok') AS last_ok,
           max(newest_data_at) FILTER (WHERE status = 'ok') AS newest,
           coalesce(sum(rows_loaded) FILTER (WHERE status = 'ok'), 0) AS total_loaded,
           coalesce(sum(rows_quarantined) FILTER (WHERE status = 'ok'), 0) AS total_quarantined,
           count(*) AS batches
    FROM load_batch GROUP BY source
) a USING (source)
WHERE r.rn = 1
ORDER BY r.source
"""


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def freshness(
    cur: duckdb.DuckDBPyConnection,
    stale_after: dict[str, timedelta] | None = None,
    now: datetime | None = None,
    sources: list[str] | tuple[str, ...] = (),
) -> dict[str, SourceFreshness]:
    """Per source (every source with a batch, plus `sources` that have none yet)."""
    now = now or datetime.now(UTC)
    stale_after = stale_after or {}
    out: dict[str, SourceFreshness] = {}
    # Cached per newest batch (a failed run adds one without changing the data version); the
    # query reads every batch ever run, which grows with each scheduled run.
    newest_batch = until_commit(cur, NEWEST_BATCH_SQL)
    rows = cached(cur, None, ("freshness", newest_batch), lambda: frame(cur, _SQL))
    for row in rows.iter_rows():
        (source, started, status, error, loaded, quarantined, last_ok, newest, total_loaded,
         total_q, batches) = row  # fmt: skip
        limit = stale_after.get(source, DEFAULT_STALE_AFTER)
        last_ok = _aware(last_ok)
        out[source] = SourceFreshness(
            source=source,
            last_run_at=_aware(started),
            last_ok_at=last_ok,
            newest_data_at=_aware(newest),
            last_status=status,
            last_error=error if status == "failed" else None,
            rows_loaded=int(loaded),
            rows_quarantined=int(quarantined),
            total_loaded=int(total_loaded),
            total_quarantined=int(total_q),
            batches=int(batches),
            stale_after=limit,
            stale=last_ok is None or now - last_ok > limit,
        )
    for source in sources:
        if source not in out:
            limit = stale_after.get(source, DEFAULT_STALE_AFTER)
            out[source] = SourceFreshness(
                source, None, None, None, None, None, 0, 0, 0, 0, 0, limit, True
            )
    return out


def as_of(fresh: dict[str, SourceFreshness]) -> datetime | None:
    """The newest data time over all sources: what a board's "as of" shows."""
    times = [f.newest_data_at for f in fresh.values() if f.newest_data_at is not None]
    return max(times, default=None)


def quarantined(
    cur: duckdb.DuckDBPyConnection, source: str | None = None, limit: int = 500
) -> list[dict]:
    """The newest quarantined rows (optionally of one source): batch, source, time, reason, raw."""
    where, params = ("WHERE source = ?", [source]) if source else ("", [])
    rows = cur.execute(
        "SELECT batch_id, source, quarantined_at, reason, raw FROM quarantine "
        f"{where} ORDER BY quarantined_at DESC, batch_id DESC LIMIT ?",
        [*params, int(limit)],
    ).fetchall()
    keys = ("batch_id", "source", "quarantined_at", "reason", "raw")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def quarantine_reasons(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(source, reason, rows) over the whole quarantine, most frequent first."""
    return cur.execute(
        "SELECT source, reason, count(*) AS n FROM quarantine GROUP BY ALL ORDER BY n DESC, 1, 2"
    ).fetchall()
