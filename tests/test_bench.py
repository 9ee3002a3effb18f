"""The speed bench keeps working: `python -m bench.run` at a tiny scale, end to end (fill,
ingest per source kind, one-day batches, metrics calls, served app over HTTP, the wall in
chromium when present). No timing is asserted: timings belong to the bench, not the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_bench_runs_at_a_tiny_scale(tmp_path: Path):
    out = tmp_path / "run.json"
    browser = [] if Path("/usr/bin/chromium").exists() else ["--no-browser"]
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--scale", "tiny", "--years", "1", "--runs", "2",
         "--ingest-rows", "3000", "--data-root", str(tmp_path), "--out", str(out), *browser],
        check=False, cwd=REPO, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    report = json.loads(out.read_text())
    assert {r["kind"] for r in report["ingest"]} == {"csv", "parquet", "xlsx", "rest", "sql"}
    assert all(r["rows"] > 0 for r in report["ingest"])
    span = report["spans"]["1"]
    assert span["dossiers"] > 0 and span["fact_month_rows"] > 0 and span["size_mb"] > 0
    assert span["one_day"]["new"]["rollup_seconds"] > 0
    assert len(span["queries"]) == 6 and all(q["sql_p95_ms"] > 0 for q in span["queries"])
    callbacks = {c["callback"]: c for c in span["web"]["callbacks"]}
    assert callbacks["wall refresh (board render)"]["metric_statements"] > 0
    assert span["web"]["peak_rss_mb"] > 0
    assert all(r["after_warmup_ms"]["page /units/HCM"] > 0 for r in span["after_load"]["runs"])
    if not browser:
        assert span["web"]["wall"]["1920x1080"]["median_s"] > 0
