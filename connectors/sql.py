"""SQL databases through SQLAlchemy (any URL: SQLite, PostgreSQL, …), read incrementally.

Keyset pagination on (cursor column, key column): each chunk is
`WHERE cursor > :c OR (cursor = :c AND key > :k) ORDER BY cursor, key LIMIT :n`, so the table is
never held in memory, every chunk is one load batch, and the cursor saved with a chunk is exactly
where the next one starts (a crash between chunks resumes there; nothing is read twice or lost).

Options: `url` (no password in it) or `url_env`, `table` (optionally `schema`), `cursor_column`
(e.g. updated_at), `key_column` (the dossier id), `chunk_rows`, `window_column` (the column a
backfill range applies to; default the cursor column).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa

from connectors.base import Connector, Pull, Seen, SourceError, Window, register
from connectors.mapping import parse_dossiers, parse_reports


def _encode(value: Any) -> Any:
    """A cursor value as JSON-safe state."""
    if isinstance(value, datetime | date):
        return {"t": "datetime" if isinstance(value, datetime) else "date",
                "v": value.isoformat()}  # fmt: skip
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        if value["t"] == "datetime":
            return datetime.fromisoformat(value["v"])
        return date.fromisoformat(value["v"])
    return value


@register
class SqlConnector(Connector):
    kind = "sql"

    def __init__(self, feed, config):
        super().__init__(feed, config)
        self.engine: sa.Engine | None = None

    def _engine(self) -> sa.Engine:
        opts = self.feed.options
        url = os.environ.get(opts["url_env"], "") if opts.get("url_env") else opts.get("url", "")
        if not url:
            raise SourceError(f"no database URL (set {opts.get('url_env') or 'options.url'})")
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except Exception as e:  # noqa: BLE001 — a bad URL or a missing driver fails the run
            raise SourceError(f"cannot use the database URL: {type(e).__name__}: {e}") from None

    def pulls(
        self, state: dict[str, Any], window: Window | None = None, seen: Seen | None = None
    ) -> Iterator[Pull]:
        opts = self.feed.options
        self.engine = self._engine()
        try:
            names = [c["name"] for c in sa.inspect(self.engine).get_columns(opts["table"],
                                                                           opts.get("schema"))]
        except sa.exc.SQLAlchemyError as e:
            raise SourceError(f"cannot read table {opts['table']}: {type(e).__name__}: {e}") from None
        # Untyped columns: values come back as the driver gives them, so one unreadable stored
        # timestamp is a quarantined row (not a crashed run), and the cursor is compared in the
        # database's own representation (SQLite text compared as text: no rounding at ties).
        table = sa.table(opts["table"], *[sa.column(n) for n in names], schema=opts.get("schema"))
        cur_col = table.c[opts.get("cursor_column", "updated_at")]
        key_col = table.c[opts.get("key_column", "dossier_id")]
        n = int(opts.get("chunk_rows", 50_000))
        base = sa.select(table).order_by(cur_col, key_col).limit(n)
        if window is not None:
            col = table.c[opts.get("window_column", cur_col.name)]
            start = datetime.combine(window.start, datetime.min.time())
            end = datetime.combine(window.end + timedelta(days=1), datetime.min.time())
            if self.engine.dialect.name == "sqlite":  # timestamps are text there
                start, end = start.isoformat(sep=" "), end.isoformat(sep=" ")
            base = base.where(col >= start, col < end)
        last_cursor = _decode(state.get("cursor"))
        last_key = state.get("key")
        while True:
            stmt = base
            if last_cursor is not None:
                stmt = stmt.where(sa.or_(cur_col > last_cursor,
                                         sa.and_(cur_col == last_cursor, key_col > last_key)))  # fmt: skip
            try:
                with self.engine.connect() as conn:
                    result = conn.execute(stmt)
                    names = list(result.keys())
                    rows = result.fetchall()
            except sa.exc.SQLAlchemyError as e:
                raise SourceError(f"query failed: {type(e).__name__}: {e}") from None
            if rows:
                last_cursor = rows[-1]._mapping[cur_col.name]
                last_key = rows[-1]._mapping[key_col.name]
            new_state = None if window is not None else (
                {"cursor": _encode(last_cursor), "key": last_key} if last_cursor is not None else {}
            )
            frame = pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row",
                                 infer_schema_length=None)  # fmt: skip
            yield self._pull(frame, new_state)
            if len(rows) < n:
                return

    def _pull(self, frame: pl.DataFrame, state: dict[str, Any] | None) -> Pull:
        if self.feed.shape == "dossier":
            good, rejects = parse_dossiers(frame, self.feed)
            return Pull(dossiers=good, rejects=rejects, rows_read=frame.height, state=state)
        good, rejects = parse_reports(frame, self.feed, self.feed.options.get("grain", "month"))
        return Pull(reports=good, rejects=rejects, rows_read=frame.height, state=state)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
