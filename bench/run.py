"""Speed at city scale, in one command: generate, ingest, query, serve, render, print, save.

    .venv/bin/python -m bench.run                        # 1 and 3 years of the city (~25 min)
    .venv/bin/python -m bench.run --years 3 --reuse      # keep warehouses made by an earlier run
    .venv/bin/python -m bench.run --scale tiny --years 1 --ingest-rows 5000 --runs 3   # smoke

For each span (1 and 3 years to today) it fills a warehouse with the demo city
(`connectors.demo_city --scale city --years N`, month by month), then measures on it:
the rollup refresh after a one-day batch (new dossiers, and a re-sent day that takes the
natural-key anti-join), p50/p95 of each board's metrics call (cold: cache off; warm: cached)
and of the bare SQL it runs, end-to-end callback latency over HTTP on a served app (cold and
warm, against the bare SQL of the metrics statements each callback ran, traced in the app), the
wall screen's time to all graphs rendered in headless chromium, the app's peak RSS and the size
of the warehouse on disk. Ingest rows/s per source kind (CSV, XLSX, REST, SQL, Parquet) into a
fresh warehouse comes once. Prints a table; writes bench/results/run-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.account import BENCH_PASSWORD, BENCH_USER, add_user
from bench.after_load import print_report
from config import load_config
from metrics.query import CACHE, Filters, Request, plan, query
from warehouse import Batch, open_warehouse
from warehouse.db import scalar


def pct(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def timings(fn, runs: int) -> tuple[float, float]:
    fn()  # warm-up: first touch of the file's blocks
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return pct(samples)


# ---------------------------------------------------------------- data
def fill(data_dir: Path, years: int, scale: str) -> dict:
    """Fill `data_dir` with `years` of the demo city (a subprocess, as a user would)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "connectors.demo_city", "--scale", scale, "--years",
                    str(years), "--data-dir", str(data_dir)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return {"fill_seconds": round(time.perf_counter() - t, 1)}


def one_day_batches(wh, today: date, scale: str) -> dict:
    """Rollup refresh after an incremental batch of one day: new dossiers (keys above every
    earlier batch's range), then the same day re-sent (the upsert's anti-join runs)."""
    from connectors.demo_city import generate

    now = datetime.now(UTC)
    day = today - timedelta(days=1)
    while day.weekday() >= 5:  # a working day: a weekend day holds a few percent of one
        day -= timedelta(days=1)
    frame = next(generate(wh.config, start=day, end=day, scale=scale, seed=99, now=now))
    frame = frame.with_columns(("~bench-" + pl.col("dossier_id")).alias("dossier_id"))
    # The big source re-sending a day it sent before (status updates): a real upsert over it.
    resent = (
        wh.cursor()
        .sql(
            "SELECT * EXCLUDE (source, received_day, batch_id) FROM dossier"
            " WHERE source = 'demo' AND received_day = $day",
            params={"day": day},
        )
        .pl()
    )
    out = {}
    for name, source, rows in (("new", "bench_day", frame), ("resent", "bench_day", frame),
                               ("demo day resent", "demo", resent)):  # fmt: skip
        r = wh.load(Batch(source, dossiers=rows), now)
        assert r.status == "ok", r.error
        out[name] = {"rows": r.rows_loaded, "batch_seconds": round(r.seconds, 3),
                     "rollup_seconds": round(r.rollup_seconds, 3)}  # fmt: skip
    return out


# ---------------------------------------------------------------- queries
def board_requests(today: date) -> dict[str, dict]:
    mtd = (today.replace(day=1), today)
    headline = ["online_rate", "on_time_rate", "record_digitization_rate", "e_result_rate",
                "data_reuse_rate", "online_payment_rate"]  # fmt: skip
    return {
        "wall tiles (6 rates, MTD, compare)": {
            "metrics": headline, "grain": "total", "start": mtd[0], "end": mtd[1], "compare": True},
        "wall sparklines (6 rates, 12 months)": {
            "metrics": headline, "grain": "month", "start": date(today.year - 1, today.month, 1),
            "end": today, "targets": False},
        "tile map (districts, MTD)": {
            "metrics": ["online_rate"], "grain": "total", "start": mtd[0], "end": mtd[1],
            "filters": {"unit_kind": "district"}, "by": ["unit"]},
        "drill-down trend (Q1, 3 years by month, compare)": {
            "metrics": ["online_rate"], "grain": "month", "start": date(today.year - 3, 1, 1), "end": today,
            "filters": {"unit": "Q1"}, "compare": True},
        "drill-down breakdown (Q1, year, by sector)": {
            "metrics": ["online_rate", "on_time_rate"], "grain": "total",
            "start": date(today.year, 1, 1), "end": today, "filters": {"unit": "Q1"}, "by": ["sector"]},
        "explorer (year by month, unit × sector × channel)": {
            "metrics": ["online_rate"], "grain": "month", "start": date(today.year, 1, 1), "end": today,
            "by": ["unit", "sector", "channel"]},
    }  # fmt: skip


def measure_queries(wh, today: date, runs: int) -> list[dict]:
    cur, config = wh.cursor(), wh.config
    rows = []
    for name, kw in board_requests(today).items():
        req = Request(tuple(kw["metrics"]), kw["grain"], kw["start"], kw["end"],
                      Filters.of(kw.get("filters")), tuple(kw.get("by", ())))  # fmt: skip
        statements = plan(config, req, kw.get("compare", False))

        def bare(statements=statements):
            for sql, params in statements:
                cur.execute(sql, params).fetchall()

        CACHE.enabled = False
        cold = timings(lambda kw=kw: query(cur, config, **kw), runs)
        CACHE.enabled = True
        warm = timings(lambda kw=kw: query(cur, config, **kw), runs)
        sql = timings(bare, runs)
        rows.append({"query": name, "statements": len(statements),
                     "layer_p50_ms": cold[0], "layer_p95_ms": cold[1],
                     "cached_p50_ms": warm[0], "cached_p95_ms": warm[1],
                     "sql_p50_ms": sql[0], "sql_p95_ms": sql[1],
                     "ratio_p95": cold[1] / sql[1] if sql[1] else None})  # fmt: skip
    return rows


# ---------------------------------------------------------------- web
def start_app(data_dir: Path, env: dict[str, str]):
    from tests.conftest import start_app as start

    return start(data_dir, "--no-demo", "--no-scheduler", env=env, timeout=600)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def signed_in(url: str) -> tuple[requests.Session, dict[str, str]]:
    """A session as the browser has it: signed in, sending the CSRF token back."""
    if requests.get(f"{url}/login", timeout=10).status_code != 200:
        return requests.Session(), {}
    from tests.conftest import http_session

    s = http_session(url, BENCH_USER, BENCH_PASSWORD)
    return s, {"X-CSRFToken": s.csrf}


def measure_callbacks(url: str, n: int, trace: Path | None) -> dict[str, dict]:
    """p50/p95 of each board callback POSTed as the browser does; with `trace`, the metrics
    statements the callback ran (recorded by the app) for the bare-SQL comparison."""
    from bench.boards import CASES

    s, headers = signed_in(url)
    out = {}
    for name, body in CASES.items():
        if trace is not None:
            trace.write_bytes(b"")
        s.post(f"{url}/_dash-update-component", json=body, headers=headers).raise_for_status()
        statements = []
        if trace is not None and trace.exists():
            with trace.open("rb") as f:
                while True:
                    try:
                        statements.append(pickle.load(f))
                    except EOFError:
                        break
        times = []
        for _ in range(n):
            t = time.perf_counter()
            s.post(f"{url}/_dash-update-component", json=body, headers=headers).raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
        p50, p95 = pct(times)
        out[name] = {"p50_ms": p50, "p95_ms": p95, "statements": statements}
    return out


def wall_rendered(url: str, runs: int) -> dict:
    """Seconds from navigation to every graph of the wall drawn (1080p and 4K)."""
    from playwright.sync_api import sync_playwright

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
    drawn = """() => {
        const graphs = [...document.querySelectorAll('.js-plotly-plot')];
        return document.querySelector('#wall-map .main-svg') !== null && graphs.length > 0
            && graphs.every(g => g.querySelector('.main-svg'));
    }"""
    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        for w, h in ((1920, 1080), (3840, 2160)):
            times = []
            for _ in range(runs):
                ctx = browser.new_context(viewport={"width": w, "height": h})
                page = ctx.new_page()
                if requests.get(f"{url}/login", timeout=10).status_code == 200:
                    from tests.conftest import sign_in

                    sign_in(page, url, BENCH_USER, BENCH_PASSWORD)
                t = time.perf_counter()
                page.goto(f"{url}/wall?kiosk=1&rotate=0")
                page.wait_for_function(drawn, timeout=60_000, polling=20)
                times.append(time.perf_counter() - t)
                ctx.close()
            out[f"{w}x{h}"] = {"first_s": times[0], "median_s": statistics.median(times)}
        browser.close()
    return out


def bare_of(statements: list, wh, runs: int) -> float | None:
    if not statements:
        return None
    cur = wh.cursor()

    def go():
        for sql, params in statements:
            cur.execute(sql, params).fetchall()

    return timings(go, runs)[1]


def measure_web(data_dir: Path, n: int, browser: bool, config) -> dict:
    trace = data_dir / "trace.pickle"
    add_user(data_dir)
    cold_app = start_app(data_dir, {"IOC_QUERY_CACHE": "off", "IOC_TRACE_SQL": str(trace)})
    try:
        cold = measure_callbacks(cold_app.url, n, trace)
        rss_cold = peak_rss_mb(cold_app.process.pid)
    finally:
        cold_app.stop()
    warm_app = start_app(data_dir, {})
    try:
        warm_app.warmed(timeout=600)  # as a served app is ~10 s after its start
        warm = measure_callbacks(warm_app.url, n, None)
        wall = wall_rendered(warm_app.url, 5) if browser else {}
        rss = peak_rss_mb(warm_app.process.pid)
    finally:
        warm_app.stop()
    wh = open_warehouse(data_dir / "ioc.duckdb", config)
    rows = []
    for name, c in cold.items():
        bare = bare_of(c["statements"], wh, n)
        rows.append({"callback": name, "cold_p50_ms": c["p50_ms"], "cold_p95_ms": c["p95_ms"],
                     "warm_p50_ms": warm[name]["p50_ms"], "warm_p95_ms": warm[name]["p95_ms"],
                     "metric_statements": len(c["statements"]), "sql_p95_ms": bare,
                     "ratio_cold_p95": c["p95_ms"] / bare if bare else None})  # fmt: skip
    wh.close()
    trace.unlink(missing_ok=True)
    return {"callbacks": rows, "wall": wall, "peak_rss_mb": max(x or 0 for x in (rss, rss_cold))}


def after_load(data_dir: Path) -> dict:
    """bench/after_load.py in its own process (it runs the app in process, once)."""
    run = subprocess.run([sys.executable, "-m", "bench.after_load", "--data-dir", str(data_dir)],
                         cwd=ROOT, check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(run.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report
def print_span(years: int, r: dict) -> None:
    print(f"\n== {years} year(s): {r['dossiers']:,} dossiers, {r['fact_rows']:,} day facts, "
          f"{r['fact_month_rows']:,} month facts, {r['size_mb']:.0f} MB on disk, "
          f"filled in {r['fill_seconds']} s")  # fmt: skip
    for k, v in r["one_day"].items():
        print(f"one-day batch ({k}): {v['rows']:,} rows, batch {v['batch_seconds']:.2f} s, "
              f"rollup refresh {v['rollup_seconds']:.3f} s")  # fmt: skip
    print(f"{'metrics call':52} {'p50':>6} {'p95':>6} {'cached':>7} {'sql p50':>8} {'p95':>6} "
          f"{'ratio':>6}")  # fmt: skip
    for q in r["queries"]:
        print(f"{q['query']:52} {q['layer_p50_ms']:6.1f} {q['layer_p95_ms']:6.1f} "
              f"{q['cached_p95_ms']:7.2f} {q['sql_p50_ms']:8.1f} {q['sql_p95_ms']:6.1f} "
              f"{q['ratio_p95']:6.2f}")  # fmt: skip
    web = r.get("web")
    if not web:
        return
    print(f"{'callback (HTTP)':36} {'cold p50':>8} {'p95':>6} {'warm p50':>8} {'p95':>6} "
          f"{'sql p95':>7} {'ratio':>6}")  # fmt: skip
    for c in web["callbacks"]:
        sql = "" if c["sql_p95_ms"] is None else f"{c['sql_p95_ms']:7.1f}"
        ratio = "" if c["ratio_cold_p95"] is None else f"{c['ratio_cold_p95']:6.2f}"
        print(f"{c['callback']:36} {c['cold_p50_ms']:8.1f} {c['cold_p95_ms']:6.1f} "
              f"{c['warm_p50_ms']:8.1f} {c['warm_p95_ms']:6.1f} {sql:>7} {ratio:>6}")  # fmt: skip
    for size, w in web["wall"].items():
        print(f"wall rendered {size}: first {w['first_s']:.2f} s, median {w['median_s']:.2f} s")
    print(f"app peak RSS: {web['peak_rss_mb']:.0f} MB")
    if "after_load" in r:
        print_report(r["after_load"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", default="1,3", help="spans to measure, e.g. 1,3")
    ap.add_argument("--scale", default="city", choices=("tiny", "default", "city"))
    ap.add_argument("--data-root", type=Path, default=Path(tempfile.gettempdir()) / "ioc-bench")
    ap.add_argument("--reuse", action="store_true", help="keep a span's warehouse if present")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--ingest-rows", type=int, default=1_000_000)
    ap.add_argument("--kinds", default="csv,parquet,xlsx,rest,sql")
    ap.add_argument("--no-web", action="store_true", help="skip the served app and browser")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--out", type=Path, help="the JSON file (default bench/results/run-<time>)")
    a = ap.parse_args()
    config = load_config()
    report: dict = {"measured_at": datetime.now().isoformat(timespec="seconds"),
                    "machine": {"cpus": os.cpu_count(), "processor": platform.machine(),
                                "python": platform.python_version(),
                                "load_avg_at_start": os.getloadavg()},
                    "scale": a.scale, "spans": {}}  # fmt: skip

    from bench.ingest import city_month, measure

    print("== ingest into a fresh warehouse (one month of the demo city)")
    frame = city_month(config, a.ingest_rows, a.scale)
    with tempfile.TemporaryDirectory() as tmp:
        report["ingest"] = measure(config, frame, a.kinds.split(","), Path(tmp))
    del frame

    for years in [int(y) for y in a.years.split(",")]:
        data_dir = a.data_root / f"{a.scale}-{years}y"
        path = data_dir / "ioc.duckdb"
        span = {"fill_seconds": None}
        if not (a.reuse and path.exists()):
            path.unlink(missing_ok=True)
            span |= fill(data_dir, years, a.scale)
        wh = open_warehouse(path, config)
        cur = wh.cursor()
        today = scalar(cur, "SELECT max(received_day) FROM dossier WHERE source = 'demo'")
        span["one_day"] = one_day_batches(wh, today, a.scale)
        span |= {
            "dossiers": scalar(cur, "SELECT count(*) FROM dossier"),
            "fact_rows": scalar(cur, "SELECT count(*) FROM fact"),
            "fact_month_rows": scalar(cur, "SELECT count(*) FROM fact_month"),
            "queries": measure_queries(wh, today, a.runs),
        }
        wh.close()
        span["size_mb"] = path.stat().st_size / 2**20
        if not a.no_web:
            span["web"] = measure_web(data_dir, a.runs, not a.no_browser, config)
            span["after_load"] = after_load(data_dir)
        report["spans"][years] = span
        print_span(years, span)
        print(f"\nload average now: {os.getloadavg()}")

    out = a.out or RESULTS / f"run-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
