"""SQL databases through SQLAlchemy (any URL: SQLite, PostgreSQL, …), read incrementally.

Keyset pagination on (cursor column, key column): each chunk is
`WHERE cursor > :c OR (cursor = :c AND key > :k) ORDER BY cursor, key LIMIT :n`, so the table is
never held in memory, every chunk is one load batch, and the cursor saved with a chunk is exactly
where the next one starts (a crash between chunks resumes there; nothing is read twice or lost).

Options: `url` (no password in it) or `url_env`, `table` (optionally `schema`), `cursor_column`
(e.g. updated_at), `key_column` (the dossier id), `chunk_rows`, `window_column` (the column a
backfill range applies to; default the cursor column), `timeout_seconds` (default 300: each
statement, a chunk's rows fetched included, fails "did not answer within N s" after that),
`grain` (report tables). Each is declared, with its type and default, in SQL_OPTIONS.

The statement deadline is the database's own where it has one: SQLite checks it between virtual
machine steps (a progress handler), PostgreSQL ends the statement itself (`statement_timeout`;
connecting with psycopg waits `connect_timeout` at most). Other databases (MySQL, SQL Server, …)
get no deadline here: set the server's own limit for the feed's account.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa

from base.calendar import GRAINS
from connectors.base import Connector, OptionSpec, Pull, Seen, SourceError, Window, register
from connectors.mapping import parse_dossiers, parse_reports

SQL_OPTIONS: dict[str, OptionSpec] = {
    # One of url / url_env: the run fails "no database URL" without either.
    "url": OptionSpec("text"),
    "url_env": OptionSpec("text"),
    "table": OptionSpec("text", required=True),
    "schema": OptionSpec("text"),
    "cursor_column": OptionSpec("text", default="updated_at"),
    "key_column": OptionSpec("text", default="dossier_id"),
    "window_column": OptionSpec("text"),  # None: the cursor column
    "chunk_rows": OptionSpec("whole", default=50_000, minimum=1),
    "timeout_seconds": OptionSpec("number", default=300, minimum=0.01),
    "grain": OptionSpec("text", default="month", choices=GRAINS),
}


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


# SQLite asks the progress handler every this many virtual machine steps (~a millisecond).
_SQLITE_STEPS = 10_000


@contextmanager
def statement_deadline(conn: sa.Connection, seconds: float) -> Iterator[None]:
    """Statements on `conn` inside the block stop once `seconds` have passed, where the driver
    allows it (see the module's docstring); elsewhere they run as long as the database lets them."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        # The server ends the statement, lock waits included. Set inside the transaction
        # SQLAlchemy began: its rollback, as the connection goes back to the pool, undoes it.
        conn.exec_driver_sql(f"SET statement_timeout = {max(1, round(seconds * 1000))}")
        yield
    elif dialect == "sqlite" and hasattr(conn.connection.dbapi_connection, "set_progress_handler"):
        raw = conn.connection.dbapi_connection
        ends = time.monotonic() + seconds
        # In the reading thread itself, no timer: a non-zero answer aborts the statement
        # ("interrupted"). Cleared after, as the connection goes back to the pool.
        raw.set_progress_handler(lambda: time.monotonic() > ends, _SQLITE_STEPS)
        try:
            yield
        finally:
            raw.set_progress_handler(None, _SQLITE_STEPS)
    else:
        yield


@register
class SqlConnector(Connector):
    kind = "sql"
    options = SQL_OPTIONS

    def __init__(self, feed, config):
        super().__init__(feed, config)
        self.engine: sa.Engine | None = None
        self.timeout = float(feed.options.get("timeout_seconds", 300))

    def _engine(self) -> sa.Engine:
        opts = self.feed.options
        url = os.environ.get(opts["url_env"], "") if opts.get("url_env") else opts.get("url", "")
        if not url:
            raise SourceError(f"no database URL (set {opts.get('url_env') or 'options.url'})")
        try:
            parsed = sa.make_url(url)
            connect_args = {}
            if parsed.get_driver_name() in ("psycopg", "psycopg2") and (
                "connect_timeout" not in parsed.query
            ):  # libpq waits forever for a host that never answers
                connect_args["connect_timeout"] = max(1, round(self.timeout))
            return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
        except Exception as e:  # noqa: BLE001 — a bad URL or a missing driver fails the run
            raise SourceError(f"cannot use the database URL: {type(e).__name__}: {e}") from None

    def pulls(
        self, state: dict[str, Any], window: Window | None = None, seen: Seen | None = None
    ) -> Iterator[Pull]:
        opts = self.feed.options
        self.engine = self._engine()
        started = time.monotonic()
        try:
            with self.engine.connect() as conn, statement_deadline(conn, self.timeout):
                columns = sa.inspect(conn).get_columns(opts["table"], opts.get("schema"))
        except sa.exc.SQLAlchemyError as e:
            self._late(started)
            reason = f"{type(e).__name__}: {e}"
            raise SourceError(f"cannot read table {opts['table']}: {reason}") from None
        names = [c["name"] for c in columns]
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
            started = time.monotonic()
            try:
                with self.engine.connect() as conn, statement_deadline(conn, self.timeout):
                    result = conn.execute(stmt)
                    names = list(result.keys())
                    rows = result.fetchall()
            except sa.exc.SQLAlchemyError as e:
                self._late(started)
                raise SourceError(f"query failed: {type(e).__name__}: {e}") from None
            if rows:
                last_cursor = rows[-1]._mapping[cur_col.name]
                last_key = rows[-1]._mapping[key_col.name]
            new_state = (
                None
                if window is not None
                else (
                    {"cursor": _encode(last_cursor), "key": last_key}
                    if last_cursor is not None
                    else {}
                )
            )
            frame = pl.DataFrame([tuple(r) for r in rows], schema=names, orient="row",
                                 infer_schema_length=None)  # fmt: skip
            yield self._pull(frame, new_state)
            if len(rows) < n:
                return

    def _late(self, started: float) -> None:
        """A statement that failed at its deadline says so (the driver's own words vary)."""
        if time.monotonic() - started >= self.timeout:
            raise SourceError(f"the database did not answer within {self.timeout:g} s "
                              "(timeout_seconds)") from None  # fmt: skip

    def _pull(self, frame: pl.DataFrame, state: dict[str, Any] | None) -> Pull:
        if self.feed.shape == "dossier":
            good, rejects = parse_dossiers(frame, self.feed)
            return Pull(dossiers=good, rejects=rejects, rows_read=frame.height, state=state)
        good, rejects = parse_reports(frame, self.feed, self.feed.options.get("grain", "month"))
        return Pull(reports=good, rejects=rejects, rows_read=frame.height, state=state)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
