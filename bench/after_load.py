"""The first requests after a load, with and without the cache warm-up (dashboards/_warm.py).

    python -m bench.after_load --data-dir DIR [--loads 3]

Every load empties the query cache, so whoever asks first pays for the cold queries. After each
load, the app computes the wall boards, the city page and the unit pages viewed lately in the
background. This bench runs the
app in process on DIR (the warehouse of `python -m bench.run`). It loads a small batch, then
times the first requests straight away, as if no warm-up ran. It loads again, runs the warm-up,
and times the same requests once more. Called by `bench.run` too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from bench.boards import CASES
from bench.run import BENCH_PASSWORD, BENCH_USER, add_user

# The ward page is viewed in each cold round, so the warm-up covers it as a recent view.
FIRST = ("page /wall", "wall refresh (board render)", "page /units/HCM",
         "page /units/Q1-BENNGHE (ward)")  # fmt: skip
SOURCE = "bench_after_load"


def _client(app):
    c = app.server.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if token is not None:  # sign-in installed: as the browser does
        c.post("/login", data={"username": BENCH_USER, "password": BENCH_PASSWORD,
                               "csrf_token": token.group(1), "next": "/"})  # fmt: skip
    csrf = c.get_cookie("_csrf_token")
    return c, ({"X-CSRFToken": csrf.value} if csrf else {})


def _first_requests(client, headers) -> dict[str, float]:
    out = {}
    for name in FIRST:
        t = time.perf_counter()
        r = client.post("/_dash-update-component", json=CASES[name], headers=headers)
        out[name] = round((time.perf_counter() - t) * 1000, 1)
        if r.status_code != 200:
            raise SystemExit(f"{name}: HTTP {r.status_code}")
    return out


def measure(data_dir: Path, loads: int = 3) -> dict:
    add_user(data_dir)
    # `app.app` is the app gunicorn serves (`app:server`), built from IOC_* variables on first
    # use: that one app is measured.
    os.environ.update(IOC_DATA_DIR=str(data_dir), IOC_DEMO="0", IOC_SCHEDULER="0")
    from app import app
    from dashboards._runtime import runtime
    from dashboards._warm import warm
    from warehouse import Batch

    wh = runtime().warehouse
    warm(app.server)  # whatever the start-up warm-up has not finished yet
    client, headers = _client(app)
    rows = wh.cursor().sql(
        "SELECT * EXCLUDE (source, received_day, batch_id) FROM dossier"
        " WHERE source = 'demo' ORDER BY received_at DESC LIMIT 1000"
    ).pl()
    runs = []
    for _ in range(loads):
        wh.load(Batch(SOURCE, dossiers=rows))
        cold = _first_requests(client, headers)
        wh.load(Batch(SOURCE, dossiers=rows))
        t = time.perf_counter()
        warm(app.server)
        seconds = round(time.perf_counter() - t, 2)
        runs.append({"no_warmup_ms": cold, "warmup_seconds": seconds,
                     "after_warmup_ms": _first_requests(client, headers)})  # fmt: skip
    runtime().feeds.stop()
    wh.close()
    return {"runs": runs}


def print_report(report: dict) -> None:
    print(f"{'first request after a load':32} {'no warm-up':>12} {'after warm-up':>14}")
    for name in FIRST:
        cold = "/".join(f"{r['no_warmup_ms'][name]:.0f}" for r in report["runs"])
        warm = "/".join(f"{r['after_warmup_ms'][name]:.0f}" for r in report["runs"])
        print(f"{name:32} {cold:>12} {warm:>14}  ms")
    print("warm-up (in the background): "
          + ", ".join(f"{r['warmup_seconds']:.2f} s" for r in report["runs"]))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--loads", type=int, default=3)
    a = ap.parse_args()
    report = measure(a.data_dir, a.loads)
    print_report(report)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
