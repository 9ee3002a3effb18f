"""The DuckDB file: opening, migrations, per-thread cursors, the data version.

One process owns the file (DuckDB allows one read-write process). Inside it, one connection is
shared and every thread reads through its own `cursor()`; writes are serialized by `write_lock`.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl

from base.tz import LOCAL_TZ

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


def scalar(cur: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None):
    """The first column of the first row, or None. Fetches everything: DuckDB 2 refuses new
    relation queries on a cursor whose last result was not read to the end."""
    rows = cur.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


# `frame` reads small results through a DB-API result on purpose (see there). The filter is set
# once for the process: `warnings.catch_warnings()` around each call is not thread-safe, and
# page renders read from many threads.
warnings.filterwarnings("ignore", "Arrow output on a DB-API result", UserWarning)


def frame(
    cur: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None
) -> pl.DataFrame:
    """The result as a polars frame, for the small results boards read (a few hundred rows).

    `con.sql(q).pl()` builds a relation first: ~3 ms more per statement here, twice the
    overhead of this path. The copy DuckDB warns about costs microseconds at these sizes.
    """
    reader = cur.execute(sql, params).to_arrow_reader()
    return pl.from_arrow(reader.read_all())


_writing = threading.local()


def in_write_transaction() -> bool:
    """True in a thread inside `Database.transaction()` (its reads see uncommitted rows)."""
    return getattr(_writing, "depth", 0) > 0


# Answers that only a write changes (the data version, the newest load batch, the firing alerts),
# kept in memory per file until the next commit here, in the one process that may write the
# file. Every board query's cache key reads the data version (a dozen per page): as a statement
# each time it was ~1 ms of a ~20 ms warm page.
_VERSION_SQL = "SELECT value FROM meta WHERE key = 'data_version'"
NEWEST_BATCH_SQL = "SELECT max(batch_id) FROM load_batch"  # failed runs too: no version bump
_MISSING = object()
_answers: dict[str, dict[Hashable, tuple[Any, datetime | None]]] = {}
_commits: dict[str, int] = {}  # per file: an answer read while a commit landed is not kept
_answers_lock = threading.Lock()
_owners: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Database] = (
    weakref.WeakKeyDictionary()
)


def _never(_value: Any) -> datetime | None:
    return None


def remembered(
    cur: duckdb.DuckDBPyConnection,
    key: Hashable,
    compute: Callable[[], T],
    expires: Callable[[T], datetime | None] = _never,
) -> T:
    """`compute()` (reads through `cur`), from memory until the next commit to the file or the
    moment `expires(value)` gives, for an answer only a write or that moment changes. Computed
    each time for a cursor not of a file's `Database`, and inside a write transaction (which
    sees its own rows before they commit)."""
    db = _owners.get(cur)
    file = db.key if db is not None else None
    if file is None or in_write_transaction():
        return compute()
    with _answers_lock:
        value, until = _answers.get(file, {}).get(key, (_MISSING, None))
        commits = _commits.get(file, 0)
    if value is not _MISSING and (until is None or datetime.now(UTC) < until):
        return value
    value = compute()
    with _answers_lock:
        if _commits.get(file, 0) == commits:  # no commit since the read began
            _answers.setdefault(file, {})[key] = (value, expires(value))
    return value


def forget_answers() -> None:
    """Drop every answer kept, as a commit to its file does (the bench's cold runs do it before
    each request: each is then the first after a load)."""
    with _answers_lock:
        _answers.clear()


def until_commit(cur: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """`scalar(cur, sql)` for a statement only a write changes, from memory until the next
    commit to the file (see `remembered`)."""
    return remembered(cur, sql, lambda: scalar(cur, sql))


@contextmanager
def snapshot(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One read transaction: its statements see one moment, even while a load commits (and a
    row id means the same row in each of them)."""
    cur.begin()
    try:
        yield
    finally:
        cur.rollback()  # nothing was written


def database_path(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The file behind `cur` (None in memory), part of every board query's cache key: known
    without a statement for a warehouse's own cursors."""
    db = _owners.get(cur)
    if db is not None:
        return db.key
    return scalar(
        cur, "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    )


def data_version_of(cur: duckdb.DuckDBPyConnection) -> int:
    return int(until_commit(cur, _VERSION_SQL) or 0)


def _forget_answers(key: str | None) -> None:
    if key is not None:
        with _answers_lock:
            _answers.pop(key, None)
            _commits[key] = _commits.get(key, 0) + 1


@contextmanager
def _unordered_writes(cur: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let the statements inside write rows in whatever order DuckDB's threads produce them.

    With insertion order kept, a parallel bulk INSERT leaves partial row groups that the next
    checkpoint rewrites: ~0.6 s and twice the file size per 1M dossiers. Stored rows have no
    meaningful order, but a result without ORDER BY may come back in another order too, so the
    setting is the cursor's own (other threads' cursors keep the order) and ends with the block.
    It is opened outside the transaction: a SET inside an aborted one fails.
    """
    cur.execute("SET SESSION preserve_insertion_order = false")
    try:
        yield
    finally:
        cur.execute("RESET SESSION preserve_insertion_order")


def migration_files() -> list[tuple[int, Path]]:
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    return [(int(p.name[:3]), p) for p in files]


class Database:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        if str(path) != ":memory:":
            # A new folder is its owner's alone, from any tool (the app also sets a umask and
            # repairs an existing one: app._private_data_dir).
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._con = duckdb.connect(str(path))
        self._con.execute(f"SET TimeZone = '{LOCAL_TZ}'")
        # Checkpoint (fold the write-ahead log into the file) every 256 MB of log rather than
        # every 16 MB: a load batch commits without rewriting the rollups' row groups each time
        # (~1 s of a 1M-row batch here). The log is durable either way; close() checkpoints.
        self._con.execute("SET checkpoint_threshold = '256MB'")
        self._local = threading.local()
        self.write_lock = threading.RLock()
        self.key = None if str(path) == ":memory:" else str(self.path.resolve())
        _forget_answers(self.key)  # another process may have written the file since

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor (DuckDB connections must not be shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            cur.execute(f"SET TimeZone = '{LOCAL_TZ}'")
            self._local.cursor = cur
            _owners[cur] = self
        return cur

    def close(self) -> None:
        """Close the file, writing its checkpoint: after the write in progress, if any."""
        with self.write_lock:
            self._con.close()

    @contextmanager
    def transaction(self, unordered: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction: all of it commits or none of it does. `unordered` (bulk loads
        and rollups): rows are stored in the order DuckDB's threads produce them (see
        `_unordered_writes`; set before the transaction begins, reset after it ends)."""
        with _unordered_writes(self.cursor()) if unordered else nullcontext(), self.write_lock:
            cur = self.cursor()
            cur.begin()
            _writing.depth = getattr(_writing, "depth", 0) + 1
            try:
                yield cur
            except BaseException:
                cur.rollback()
                raise
            finally:
                _writing.depth -= 1
            cur.commit()
            _forget_answers(self.key)

    def schema_version(self) -> int:
        cur = self.cursor()
        exists = scalar(
            cur,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migration'",
        )
        if not exists:
            return 0
        return scalar(cur, "SELECT coalesce(max(version), 0) FROM schema_migration")

    def migrate(self, upto: int | None = None) -> list[int]:
        """Apply the numbered migrations not applied yet, in order, each in its own transaction.

        "Not applied" is looked up per version, not "above the newest": a migration numbered into
        a gap (written on another branch) still runs on a file that already has later ones.
        """
        applied: list[int] = []
        with self.write_lock:
            self.cursor().execute(
                "CREATE TABLE IF NOT EXISTS schema_migration"
                " (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)"
            )
            done = {
                r[0]
                for r in self.cursor().execute("SELECT version FROM schema_migration").fetchall()
            }
            for version, path in migration_files():
                if version in done or (upto is not None and version > upto):
                    continue
                with self.transaction() as cur:
                    cur.execute(path.read_text(encoding="utf-8"))
                    cur.execute(
                        "INSERT INTO schema_migration VALUES (?, ?, ?)",
                        [version, path.name, datetime.now(UTC)],
                    )
                applied.append(version)
        return applied

    def data_version(self) -> int:
        return data_version_of(self.cursor())

    def meta(self, key: str) -> str | None:
        return scalar(self.cursor(), "SELECT value FROM meta WHERE key = ?", [key])

    @staticmethod
    def set_meta(cur: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
        cur.execute("DELETE FROM meta WHERE key = ?", [key])
        cur.execute("INSERT INTO meta VALUES (?, ?)", [key, value])

    @staticmethod
    def bump_data_version(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute(
            "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR)"
            " WHERE key = 'data_version'"
        )
