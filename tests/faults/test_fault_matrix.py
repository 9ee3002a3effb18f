"""The fault matrix: a source that is down, slow, or answers garbage; duplicate and late data;
kill -9 in the middle of a scheduled run and a restart; readers served while a load runs.

For each: zero rows lost or doubled, and the last good data stays readable with its as-of time
(the newest load of each source) until a new batch commits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from config import load_config
from connectors.runner import run_feed
from metrics.query import query
from tests.connectors.conftest import Script, make_feed, serve  # noqa: F401 — fixture

REPO = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC)


def records(n: int, prefix: str = "R", days_ago: int = 2, unit: str = "Q8-P04") -> list[dict]:
    received = NOW - timedelta(days=days_ago)
    return [{"dossier_id": f"{prefix}{i:05d}", "unit_code": unit, "procedure_code": "2.000815",
             "channel": "online" if i % 2 else "direct",
             "received_at": received.isoformat(), "due_at": (received + timedelta(days=3)).isoformat(),
             "updated_at": (NOW - timedelta(minutes=n - i)).isoformat()} for i in range(n)]  # fmt: skip


def rest_feed(url: str, **options):
    return make_feed("matrix_rest", "rest", options={
        "base_url": url, "path": "/dossiers", "records_path": "items", "page_size": 1000,
        "retries": 0, "timeout_seconds": 1, **options})  # fmt: skip


def counts(wh) -> tuple[int, int, float]:
    cur = wh.cursor()
    n, distinct = cur.execute("SELECT count(*), count(DISTINCT dossier_id) FROM dossier").fetchone()
    received = cur.execute("SELECT coalesce(sum(received), 0) FROM fact").fetchone()[0]
    return n, distinct, float(received)


def good_then(serve, wh, second) -> tuple[tuple, dict, list]:  # noqa: F811
    """Load 40 good records, then run the feed again against `second` (status, body, delay)."""
    state = {"n": 0}

    def handler(req):
        state["n"] += 1
        if state["n"] == 1:
            return 200, {"items": records(40)}, 0
        return second(req)

    url = serve(Script(handler))
    feed = rest_feed(url)
    assert [r.status for r in run_feed(wh, feed)] == ["ok"]
    before, as_of = counts(wh), wh.newest_by_source()
    results = run_feed(wh, feed)
    return before, as_of, results


@pytest.mark.parametrize(
    ("fault", "answer"),
    [
        ("down", lambda req: (503, {"error": "maintenance"}, 0)),
        ("slow", lambda req: (200, {"items": records(5, "S")}, 3)),  # past the 1 s timeout
        ("garbage", lambda req: (200, b"<html>not json</html>", 0)),
        ("wrong shape", lambda req: (200, {"items": {"not": "a list"}}, 0)),
        ("wrong types", lambda req: (200, {"items": [{"dossier_id": {"x": 1}, "unit_code": 5,
                                                      "received_at": "yesterday"}]}, 0)),
    ],
)  # fmt: skip
def test_a_failing_source_keeps_the_last_good_data_and_its_as_of(serve, wh, fault, answer):  # noqa: F811
    before, as_of, results = good_then(serve, wh, answer)
    assert before[:2] == (40, 40)
    assert counts(wh) == before  # nothing lost, nothing added
    assert wh.newest_by_source() == as_of  # the as-of shown stays the last good load's
    if fault == "wrong types":  # a readable answer with bad rows: they are quarantined
        assert results[-1].status == "ok" and results[-1].rows_quarantined == 1
        assert results[-1].reasons
    else:
        assert results[-1].status == "failed" and results[-1].error


def test_a_source_that_is_not_there_at_all(wh):
    feed = rest_feed("http://127.0.0.1:9")  # discard port: connection refused
    (result,) = run_feed(wh, feed)
    assert result.status == "failed" and "127.0.0.1:9" in result.error
    assert counts(wh) == (0, 0, 0.0)


def test_duplicate_and_late_data_are_counted_once(serve, wh):  # noqa: F811
    pages = [records(30), records(30) + records(10, "L", days_ago=45)]  # a re-send plus late rows
    url = serve(Script(lambda req: (200, {"items": pages.pop(0) if pages else []}, 0)))
    feed = rest_feed(url)
    run_feed(wh, feed)
    assert counts(wh)[:2] == (30, 30)
    run_feed(wh, feed, window=None)
    feed2 = rest_feed(url, since_param="nope")  # ignore the cursor: everything is sent again
    run_feed(wh, feed2)
    n, distinct, received = counts(wh)
    assert n == distinct == 40 and received == 40.0
    late_day = (NOW - timedelta(days=45) + timedelta(hours=7)).date()
    frame = query(wh.cursor(), wh.config, ["received_count"], "day", late_day - timedelta(days=1),
                  late_day + timedelta(days=1), {"unit": "Q8"}, targets=False)  # fmt: skip
    assert frame["received_count"].sum() == 10  # the late rows land on their own (old) day


CHILD = textwrap.dedent("""
    import sys, time
    from datetime import timedelta
    import warehouse.loading as loading
    from config import load_config
    from connectors.feeds import Feed, Schedule
    from connectors.scheduler import start_scheduler
    from warehouse import open_warehouse

    original = loading.refresh_dossier_days

    def refresh_then_wait(*args, **kwargs):
        original(*args, **kwargs)  # the rows are in, inside the open transaction
        print("IN-TRANSACTION", flush=True)
        time.sleep(60)

    loading.refresh_dossier_days = refresh_then_wait
    wh = open_warehouse(sys.argv[1], load_config())
    feed = Feed("bulk", "files", "dossier", True, Schedule(every=timedelta(minutes=5)),
                timedelta(hours=1), options={"path": sys.argv[2]})
    start_scheduler(wh, {"bulk": feed})  # the scheduled run starts at once
    time.sleep(120)
""")


def test_kill_9_during_a_scheduled_run_then_restart_loads_exactly_once(tmp_path):
    from connectors.scheduler import start_scheduler
    from warehouse import open_warehouse

    src = tmp_path / "src"
    src.mkdir()
    n = 100_000
    pl.DataFrame({
        "dossier_id": [f"K{i:07d}" for i in range(n)], "unit_code": "Q1-BENNGHE",
        "procedure_code": "2.000815", "channel": "online",
        "received_at": "2026-09-01T08:00:00+07:00", "due_at": "2026-09-05T08:00:00+07:00",
    }).write_csv(src / "big.csv")  # fmt: skip
    db = tmp_path / "ioc.duckdb"
    config = load_config()
    open_warehouse(db, config).close()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(src)], cwd=REPO,
                             env=os.environ | {"PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = child.stdout.readline()
        assert line.strip() == "IN-TRANSACTION", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    wh = open_warehouse(db, config)  # the restart
    assert counts(wh) == (0, 0, 0.0)  # the killed batch left nothing half-done
    feed = make_feed("bulk", "files", options={"path": str(src)})
    done = threading.Event()
    scheduler = start_scheduler(wh, {"bulk": feed}, after_run=lambda f, r: done.set())
    try:
        assert done.wait(60)
    finally:
        scheduler.shutdown(wait=True)
    assert counts(wh) == (n, n, float(n))
    run_feed(wh, feed)  # the same file again: nothing more
    assert counts(wh) == (n, n, float(n))
    wh.close()


def test_readers_during_a_load_see_the_old_data_or_the_new_never_a_part(wh, tmp_path):
    from warehouse import Batch

    def frame(n: int, prefix: str) -> pl.DataFrame:
        f = pl.DataFrame(records(n, prefix)).drop("updated_at")
        return f.with_columns([pl.col(c).str.to_datetime(time_zone="UTC").cast(
            pl.Datetime("us", "UTC")) for c in ("received_at", "due_at")])  # fmt: skip

    first = frame(1000, "A")
    assert wh.load(Batch("matrix", dossiers=first)).status == "ok"
    day = (NOW - timedelta(days=2) + timedelta(hours=7)).date()
    as_of = wh.newest_by_source()

    def read() -> float:
        f = query(wh.cursor(), wh.config, ["received_count"], "total", day - timedelta(days=3),
                  day + timedelta(days=3), {"unit": "Q8"}, targets=False)  # fmt: skip
        return float(f["received_count"].sum())

    assert read() == 1000
    second = frame(30_000, "B")
    seen: list[float] = []
    as_ofs: list[dict] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            seen.append(read())
            as_ofs.append(wh.newest_by_source())

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        result = wh.load(Batch("matrix", dossiers=second))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert result.status == "ok"
    assert set(seen) <= {1000.0, 31_000.0}, sorted(set(seen))  # never a half-loaded batch
    assert seen and read() == 31_000
    assert all(a == as_of or a == wh.newest_by_source() for a in as_ofs)
