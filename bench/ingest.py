"""Ingest speed per source kind: rows/s from source to committed warehouse batch.

    .venv/bin/python bench/ingest.py [--size small|medium|large|N] [--kinds csv,parquet,...]
                                     [--data city|uniform]

Each kind reads the same dossiers (CSV, XLSX, REST on loopback, SQLite, Parquet) through its
connector and the loader (validate → one transaction → rollup), into a fresh DuckDB file.
`--data city` (default): one month of the demo city at city scale (~1M dossiers, ~14 per day
fact row, as a department's monthly export); `uniform`: dossiers spread uniformly over 600 days,
units and procedures (almost one fact row per dossier: the rollup's worst case).
Prints rows/s per kind and writes JSON to bench/results/ (git-ignored). Not a test.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import load_config
from connectors.base import registry
from connectors.feeds import Feed, Schedule
from connectors.runner import run_feed
from warehouse import open_warehouse

SIZES = {"small": 50_000, "medium": 1_000_000, "large": 5_000_000}
XLSX_MAX = 100_000  # writing XLSX is slow (openpyxl): the XLSX run is capped
SLOW_MAX = 200_000  # REST (JSON pages) and SQL (SQLite) are capped too: minutes otherwise
KINDS = ("csv", "parquet", "xlsx", "rest", "sql")


def dossiers(n: int, units: list[str], procs: list[str]) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    minutes = rng.integers(0, 60 * 24 * 600, n)
    frame = pl.DataFrame({
        "dossier_id": [f"B{i:09d}" for i in range(n)],
        "unit_code": np.array(units)[rng.integers(0, len(units), n)],
        "procedure_code": np.array(procs)[rng.integers(0, len(procs), n)],
        "channel": np.array(["online", "direct", "postal"])[rng.integers(0, 3, n)],
        "offset": minutes,
        "record_digitized": rng.random(n) < 0.8,
        "paid_online": rng.random(n) < 0.5,
    })  # fmt: skip
    return (
        frame.with_columns(
            (pl.lit(t0) + pl.duration(minutes=pl.col("offset"))).alias("received_at"),
        )
        .with_columns(
            (pl.col("received_at") + pl.duration(days=3)).alias("due_at"),
            (pl.col("received_at") + pl.duration(days=1)).alias("completed_at"),
            (pl.col("received_at") + pl.duration(days=1)).alias("updated_at"),
        )
        .drop("offset")
    )


def city_month(config, n: int, scale: str = "city") -> pl.DataFrame:
    """Up to `n` dossiers of one month of the demo city (October 2026) at `scale`."""
    from datetime import date

    from connectors.demo_city import generate

    now = datetime(2026, 11, 23, 5, tzinfo=UTC)
    frame = next(generate(config, start=date(2026, 10, 1), end=date(2026, 10, 31), scale=scale,
                          now=now))  # fmt: skip
    return frame.head(n)


def measure(config, frame: pl.DataFrame, kinds: list[str], work: Path) -> list[dict]:
    """Rows/s of each kind's connector + loader into a fresh warehouse under `work`."""
    results = []
    for kind in kinds:
        cap = {"xlsx": XLSX_MAX, "rest": SLOW_MAX, "sql": SLOW_MAX}.get(kind, frame.height)
        rows = frame.head(cap)
        options, server = prepare(kind, rows, work)
        wh = open_warehouse(work / f"{kind}.duckdb", config)
        registry()  # connector modules load once per process, not once per batch
        started, cpu_started = time.perf_counter(), time.process_time()
        out = run_feed(wh, feed(kind, options))
        seconds = time.perf_counter() - started
        # All threads' CPU time (the loopback REST server's too): what the cores had to give.
        cpu = time.process_time() - cpu_started
        started = time.perf_counter()
        wh.close()  # the deferred checkpoint (warehouse/db.py): reported on its own
        checkpoint = time.perf_counter() - started
        if server is not None:
            server.shutdown()
        assert all(r.status == "ok" for r in out), [r.error for r in out]
        loaded = sum(r.rows_loaded for r in out)
        rollup = sum(r.rollup_seconds for r in out)
        # The checkpoint is the load's deferred work: "sustained" counts it.
        sustained = loaded / (seconds + checkpoint)
        size_mb = (work / f"{kind}.duckdb").stat().st_size / 1e6
        results.append({"kind": kind, "rows": loaded, "seconds": round(seconds, 3),
                        "rows_per_second": round(loaded / seconds),
                        "rollup_seconds": round(rollup, 3), "cpu_seconds": round(cpu, 3),
                        "checkpoint_seconds": round(checkpoint, 3),
                        "sustained_rows_per_second": round(sustained),
                        "file_mb": round(size_mb, 1)})  # fmt: skip
        print(f"{kind:<8} {loaded:>10,} rows  {seconds:7.2f} s  {loaded / seconds:>12,.0f} rows/s"
              f"  (CPU {cpu:.2f} core-s; rollup {rollup:.2f} s; checkpoint at close {checkpoint:.2f} s:"
              f" {sustained:,.0f} rows/s with it; file {size_mb:.0f} MB)")  # fmt: skip
    return results


def feed(kind: str, options: dict) -> Feed:
    return Feed(f"bench_{kind}", {"csv": "files", "parquet": "files", "xlsx": "files"}.get(kind, kind),
                "dossier", True, Schedule(every=timedelta(hours=1)), timedelta(hours=2),
                options=options | {"chunk_rows": 1_000_000, "page_size": 5000})  # fmt: skip


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        for c in ("received_at", "due_at", "completed_at", "updated_at")
    )


def serve(frame: pl.DataFrame) -> tuple[ThreadingHTTPServer, str]:
    records = as_text(frame)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            page, size = int(q["page"]), int(q["size"])
            part = records.slice((page - 1) * size, size)
            body = json.dumps({"items": part.to_dicts()}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def prepare(kind: str, frame: pl.DataFrame, work: Path) -> tuple[dict, object | None]:
    folder = work / kind
    folder.mkdir()
    if kind == "csv":
        as_text(frame).write_csv(folder / "d.csv")
        return {"path": str(folder)}, None
    if kind == "parquet":
        frame.write_parquet(folder / "d.parquet")
        return {"path": str(folder)}, None
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("d")
        text = as_text(frame)
        ws.append(text.columns)
        for row in text.iter_rows():
            ws.append(list(row))
        wb.save(folder / "d.xlsx")
        return {"path": str(folder)}, None
    if kind == "rest":
        server, url = serve(frame)
        return {"base_url": url, "path": "/d", "records_path": "items"}, server
    if kind == "sql":
        import sqlite3

        path = folder / "d.sqlite"
        text = as_text(frame)
        with sqlite3.connect(path) as con:
            con.execute(f"CREATE TABLE ho_so ({', '.join(text.columns)})")
            con.executemany(f"INSERT INTO ho_so VALUES ({', '.join('?' * text.width)})",
                            text.iter_rows())  # fmt: skip
            con.execute("CREATE INDEX ho_so_cursor ON ho_so (updated_at, dossier_id)")
        url = f"sqlite:///{path}"
        return {"url": url, "table": "ho_so", "cursor_column": "updated_at",
                "key_column": "dossier_id"}, None  # fmt: skip
    raise ValueError(kind)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", default="small", help="small (50k), medium (1M), large (5M) or N")
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--data", choices=("city", "uniform"), default="city")
    a = p.parse_args()
    n = SIZES.get(a.size) or int(a.size)
    config = load_config()
    if a.data == "city":
        frame = city_month(config, n)
    else:
        units = sorted(u.code for u in config.units if u.kind != "city")
        frame = dossiers(n, units, sorted(config.procedures))
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(config, frame, a.kinds.split(","), Path(tmp))
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"ingest-{stamp}.json"
    path.write_text(json.dumps({"size": n, "data": a.data, "machine": platform.machine(), "python": sys.version,
                                "results": results}, indent=1))  # fmt: skip
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
