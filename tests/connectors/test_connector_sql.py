"""The SQL connector on real databases: a SQLite file always, PostgreSQL 15 when its server
binaries are on the machine (a throwaway server on a loopback port, started and stopped here)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import make_feed

from connectors.base import Window, make_connector
from connectors.runner import run_feed
from connectors.sql import statement_deadline

PG_BIN = Path("/usr/lib/postgresql/15/bin")
T0 = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)


def rows(n: int, start: int = 0) -> list[dict]:
    out = []
    for i in range(start, start + n):
        t = T0 + timedelta(minutes=i // 3)  # three rows share each update time: ties at chunk edges
        out.append({"ma": f"S{i:05d}", "don_vi": "Q1-BENNGHE", "thu_tuc": "2.000815",
                    "kenh": "online", "nhan": t, "han": t + timedelta(days=2), "cap_nhat": t})  # fmt: skip
    return out


def create(engine: sa.Engine, tz: bool) -> sa.Table:
    md = sa.MetaData()
    table = sa.Table(
        "ho_so", md, sa.Column("ma", sa.String, primary_key=True), sa.Column("don_vi", sa.String),
        sa.Column("thu_tuc", sa.String), sa.Column("kenh", sa.String),
        sa.Column("nhan", sa.DateTime(timezone=tz)), sa.Column("han", sa.DateTime(timezone=tz)),
        sa.Column("cap_nhat", sa.DateTime(timezone=tz)),
    )  # fmt: skip
    md.create_all(engine)
    return table


def insert(engine: sa.Engine, table: sa.Table, data: list[dict], tz: bool) -> None:
    if not tz:  # a naive column holds local wall time, as department systems do
        data = [{k: (v + timedelta(hours=7)).replace(tzinfo=None) if isinstance(v, datetime)
                 else v for k, v in r.items()} for r in data]  # fmt: skip
    with engine.begin() as con:
        con.execute(table.insert(), data)


def feed(url: str, chunk: int = 4):
    return make_feed("dept_db", "sql", options={"url": url, "table": "ho_so",
                                                "cursor_column": "cap_nhat", "key_column": "ma",
                                                "chunk_rows": chunk},
                     columns={"ma": "dossier_id", "don_vi": "unit_code",
                              "thu_tuc": "procedure_code", "kenh": "channel",
                              "nhan": "received_at", "han": "due_at",
                              "cap_nhat": "updated_at"})  # fmt: skip


def check_incremental(wh, url: str, tz: bool) -> None:
    engine = sa.create_engine(url)
    table = create(engine, tz)
    insert(engine, table, rows(10), tz)
    f = feed(url)
    first = run_feed(wh, f)
    assert [r.rows_read for r in first] == [4, 4, 2]  # chunked: never the whole table at once
    insert(engine, table, rows(5, start=10), tz)
    second = run_feed(wh, f)
    assert sum(r.rows_read for r in second) == 5  # keyset cursor: ties are neither lost nor re-read
    cur = wh.cursor()
    counts = cur.execute("SELECT count(*), count(DISTINCT dossier_id) FROM dossier").fetchone()
    assert counts == (15, 15)
    got = cur.execute("SELECT received_at FROM dossier WHERE dossier_id = 'S00000'").fetchone()[0]
    assert got == T0
    # a backfill re-reads a range without moving the cursor
    state_before = cur.execute("SELECT state FROM feed_state").fetchone()
    pulls = list(make_connector(f, wh.config).pulls({}, Window(T0.date(), T0.date())))
    assert sum(p.rows_read for p in pulls) == 15 and all(p.state is None for p in pulls)
    assert cur.execute("SELECT state FROM feed_state").fetchone() == state_before
    engine.dispose()


def test_sqlite_file_incremental_in_chunks(tmp_path, wh):
    check_incremental(wh, f"sqlite:///{tmp_path / 'dept.sqlite'}", tz=False)


def test_an_unreachable_database_fails_the_run(wh, tmp_path):
    result = run_feed(wh, feed(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite'}"))[-1]
    assert result.status == "failed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres() -> Iterator[str]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries are not installed")
    pytest.importorskip("psycopg")
    # Not under pytest's tmp_path: the postgres user cannot enter root's private folders.
    data = Path(tempfile.mkdtemp(prefix="ioc-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(data, "postgres")

    def run(*args: str) -> None:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if as_postgres:  # initdb refuses to run as root
            cmd = ["su", "postgres", "-c", " ".join(f"'{c}'" for c in cmd)]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    port = _free_port()
    run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust")
    # -l: the server's output goes to a file, so it does not hold our pipes open
    run("pg_ctl", "-D", str(data), "-l", str(data / "server.log"),
        "-o", f"-p {port} -c listen_addresses=127.0.0.1 -k {data}", "-w", "start")  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)


def test_postgresql_incremental_in_chunks(postgres, wh):
    check_incremental(wh, postgres, tz=True)


# ---- A statement deadline (issue #24, class 6): a slow source fails the run, never holds it ---

DEADLINE = 1  # the feed's timeout_seconds
WITHIN = 15.0  # seconds the failed run may take on a busy machine


def slow_feed(url: str):
    f = feed(url)
    return replace(f, options=f.options | {"timeout_seconds": DEADLINE})


def assert_failed_at_the_deadline(wh, f) -> None:
    started = time.monotonic()
    result = run_feed(wh, f)[-1]
    assert time.monotonic() - started < WITHIN
    assert result.status == "failed"
    assert f"the database did not answer within {DEADLINE} s (timeout_seconds)" in result.error


def test_a_slow_sqlite_statement_stops_at_the_deadline(tmp_path, wh):
    # A view that counts to 2·10^8 and keeps no row: about a minute of work per read here, then
    # an empty chunk that ends the run (the bound if the deadline failed). Stopped after 1 s.
    url = f"sqlite:///{tmp_path / 'slow.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as con:
        con.exec_driver_sql(
            "CREATE VIEW ho_so AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
            " WHERE i < 200000000) SELECT printf('S%012d', i) AS ma, 'Q1-BENNGHE' AS don_vi,"
            " '2.000815' AS thu_tuc, 'online' AS kenh, '2026-09-01 08:00:00' AS nhan,"
            " '2026-09-03 08:00:00' AS han, '2026-09-01 08:00:00' AS cap_nhat FROM n"
            " WHERE i > 200000000"
        )
    assert_failed_at_the_deadline(wh, slow_feed(url))
    engine.dispose()


def test_the_sqlite_deadline_ends_with_its_block(tmp_path):
    # The connection goes back to the pool without it: its next statements run to the end.
    count = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)"
             " SELECT count(*) FROM n")  # fmt: skip
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.connect() as con:
        late = pytest.raises(sa.exc.OperationalError, match="interrupted")
        with late, statement_deadline(con, 0.0):
            con.exec_driver_sql(count).fetchall()
        assert con.exec_driver_sql(count).scalar() == 100000
    engine.dispose()


def test_a_slow_postgresql_statement_stops_at_the_deadline(postgres, wh):
    engine = sa.create_engine(postgres)
    with engine.begin() as con:  # 30 s of sleep per read (the bound if the deadline failed)
        con.exec_driver_sql(
            "CREATE VIEW ho_so AS SELECT 'S1'::text AS ma, 'Q1-BENNGHE'::text AS don_vi,"
            " '2.000815'::text AS thu_tuc, 'online'::text AS kenh, now() AS nhan, now() AS han,"
            " now() AS cap_nhat FROM pg_sleep(30)"
        )
    assert_failed_at_the_deadline(wh, slow_feed(postgres))
    engine.dispose()
