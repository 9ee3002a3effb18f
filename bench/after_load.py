"""The first requests after a load, with and without the cache warm-up (dashboards/_warm.py).

    python -m bench.after_load --data-dir DIR [--loads 3]

Every load that changes a figure empties the query cache, so whoever asks first pays for the
cold queries. After each load, the app computes the wall boards, the unit pages viewed lately
and every unit's page as it first opens in the background. This bench runs the app in process on DIR (the warehouse of
`python -m bench.run`). It loads a small batch, then times the first requests straight away, as
if no warm-up ran. It loads again, runs the warm-up, and times the same requests once more. A
view no warm-up covers (a district by quarter) is timed cold both times: alone, and while the
warm-up runs, which is what sharing the two cores with it costs. Called by `bench.run` too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.account import BENCH_PASSWORD, BENCH_USER, add_user
from bench.boards import CASES
from bench.dash_client import router_request

UNVIEWED = "page /units/Q8-P04 (a ward no one viewed)"
# The ward pages are viewed in each cold round; the warm-up covers them either way.
FIRST = {**{name: CASES[name] for name in ("page /wall", "wall refresh (board render)",
                                           "page /units/HCM", "page /units/Q1-BENNGHE (ward)")},
         UNVIEWED: router_request("/units/Q8-P04")}  # fmt: skip
UNWARMED = "page /units/Q8?grain=quarter (no warm-up covers it)"
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


def _timed(client, headers, name: str, body: dict) -> float:
    t = time.perf_counter()
    r = client.post("/_dash-update-component", json=body, headers=headers)
    if r.status_code != 200:
        raise SystemExit(f"{name}: HTTP {r.status_code}")
    return round((time.perf_counter() - t) * 1000, 1)


def _first_requests(client, headers) -> dict[str, float]:
    return {name: _timed(client, headers, name, body) for name, body in FIRST.items()}


def _unwarmed(client, headers) -> float:
    """A district by quarter: a new data version, so always cold."""
    return _timed(client, headers, UNWARMED, router_request("/units/Q8", "?grain=quarter"))


def _run_warm_up(server) -> float:
    from dashboards._warm import warm

    t = time.perf_counter()
    warm(server)
    return round(time.perf_counter() - t, 2)


def measure(data_dir: Path, loads: int = 3) -> dict:
    add_user(data_dir)
    # `app.app` is the app gunicorn serves (`app:server`), built from IOC_* variables on first
    # use: that one app is measured.
    os.environ.update(IOC_DATA_DIR=str(data_dir), IOC_DEMO="0", IOC_SCHEDULER="0")
    from app import app
    from dashboards._runtime import runtime
    from warehouse import Batch

    wh = runtime().warehouse
    _run_warm_up(app.server)  # whatever the start-up warm-up has not finished yet
    client, headers = _client(app)
    rows = (
        wh.cursor()
        .sql(
            "SELECT * EXCLUDE (source, received_day, batch_id) FROM dossier"
            " WHERE source = 'demo' ORDER BY received_at DESC LIMIT 1000"
        )
        .pl()
    )
    runs = []
    for _ in range(loads):
        wh.load(Batch(SOURCE, dossiers=rows))
        cold = _first_requests(client, headers)
        alone = _unwarmed(client, headers)
        wh.load(Batch(SOURCE, dossiers=rows))
        with ThreadPoolExecutor(1) as pool:
            warming = pool.submit(_run_warm_up, app.server)
            during = _unwarmed(client, headers)
        runs.append({"no_warmup_ms": cold, "warmup_seconds": warming.result(),
                     "after_warmup_ms": _first_requests(client, headers),
                     "unwarmed_ms": {"alone": alone, "during_warmup": during}})  # fmt: skip
    runtime().feeds.stop()
    wh.close()
    return {"runs": runs}


def print_report(report: dict) -> None:
    print(f"{'first request after a load':44} {'no warm-up':>12} {'after warm-up':>14}")
    for name in FIRST:
        cold = "/".join(f"{r['no_warmup_ms'][name]:.0f}" for r in report["runs"])
        warm = "/".join(f"{r['after_warmup_ms'][name]:.0f}" for r in report["runs"])
        print(f"{name:44} {cold:>12} {warm:>14}  ms")
    alone = "/".join(f"{r['unwarmed_ms']['alone']:.0f}" for r in report["runs"])
    during = "/".join(f"{r['unwarmed_ms']['during_warmup']:.0f}" for r in report["runs"])
    print(f"{UNWARMED}: alone {alone} ms, during the warm-up {during} ms")
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
