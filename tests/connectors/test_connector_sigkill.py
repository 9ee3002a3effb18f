"""A loading process killed with SIGKILL mid-batch leaves the warehouse unchanged, and the
next run loads the batch exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
from conftest import make_feed

from config import load_config
from connectors.feeds import Parse
from connectors.runner import run_feed
from warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]
ROWS = 200_000

CHILD = textwrap.dedent("""
    import sys, time
    import warehouse.loading as loading
    from config import load_config
    from connectors.runner import run_feed
    from tests_feed import feed
    from warehouse import open_warehouse

    original = loading.refresh_dossier_days

    def refresh_then_wait(*args, **kwargs):
        original(*args, **kwargs)  # the rows are in, inside the open transaction
        print("IN-TRANSACTION", flush=True)
        time.sleep(60)

    loading.refresh_dossier_days = refresh_then_wait
    wh = open_warehouse(sys.argv[1], load_config())
    run_feed(wh, feed(sys.argv[2]))
""")


def write_export(folder: Path) -> None:
    n = ROWS
    frame = pl.DataFrame({
        "dossier_id": [f"K{i:07d}" for i in range(n)],
        "unit_code": ["Q1-BENNGHE", "Q3-P01", "CCHI-NHUANDUC", "SO-TP"] * (n // 4),
        "procedure_code": "2.000815", "channel": "online",
        "received_at": "2026-09-01T08:00:00+07:00", "due_at": "2026-09-05T08:00:00+07:00",
    })  # fmt: skip
    frame.write_csv(folder / "big.csv")


def test_sigkill_mid_batch_then_exactly_once(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    write_export(src)
    (tmp_path / "tests_feed.py").write_text(
        textwrap.dedent("""
        from datetime import timedelta
        from connectors.feeds import Feed, Schedule
        def feed(path):
            return Feed("bulk", "files", "dossier", True, Schedule(every=timedelta(minutes=5)),
                        timedelta(hours=1), options={"path": path})
    """)
    )
    db = tmp_path / "ioc.duckdb"
    config = load_config()
    open_warehouse(db, config).close()  # migrated, empty
    env = os.environ | {"PYTHONPATH": f"{REPO}{os.pathsep}{tmp_path}"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(src)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = child.stdout.readline()
        assert line.strip() == "IN-TRANSACTION", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    wh = open_warehouse(db, config)
    cur = wh.cursor()
    assert cur.execute("SELECT count(*) FROM dossier").fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM fact").fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM load_batch").fetchone()[0] == 0
    feed = make_feed("bulk", "files", options={"path": str(src)}, parse=Parse())
    assert [r.status for r in run_feed(wh, feed)] == ["ok"]
    assert cur.execute("SELECT count(*), count(DISTINCT dossier_id) FROM dossier").fetchone() == (
        ROWS,
        ROWS,
    )
    run_feed(wh, feed)  # the file is known now: nothing more
    assert cur.execute("SELECT count(*) FROM dossier").fetchone()[0] == ROWS
    assert (
        cur.execute(
            "SELECT count(*) FROM load_batch WHERE rows_loaded > 0 AND status = 'ok'"
        ).fetchone()[0]
        == 1
    )
    wh.close()
