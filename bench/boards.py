"""Board timings: page layouts and callbacks as the browser POSTs them to /_dash-update-component
(p50/p95 over N calls), and the wall's time to rendered in headless Chromium.

    .venv/bin/python bench/boards.py [--url http://127.0.0.1:8050] [-n 20]

Without --url it starts `app.py` on a temporary data directory (demo city, ~10 s) and stops it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _router(path: str, search: str = "") -> dict:
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [{"id": "_pages_content", "property": "children"},
                    {"id": "_pages_store", "property": "data"}],
        "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                   {"id": "_pages_location", "property": "search", "value": search}],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }  # fmt: skip


def _wall_refresh(index: int) -> dict:
    return {
        "output": "wall-body.children",
        "outputs": {"id": "wall-body", "property": "children"},
        "inputs": [{"id": "wall-version", "property": "data", "value": "x"},
                   {"id": "wall-board", "property": "data", "value": index},
                   {"id": "wall-scale", "property": "data", "value": 1.0}],
        "changedPropIds": ["wall-version.data"],
        "state": [{"id": "wall-params", "property": "data", "value": {"lang": "vi"}}],
    }  # fmt: skip


def _wall_poll() -> dict:
    return {
        "output": "wall-version.data",
        "outputs": {"id": "wall-version", "property": "data"},
        "inputs": [{"id": "wall-poll", "property": "n_intervals", "value": 1}],
        "changedPropIds": ["wall-poll.n_intervals"],
        "state": [{"id": "wall-version", "property": "data", "value": "stale-token"}],
    }  # fmt: skip


def _explore(group: str | None) -> dict:
    vals = [("explore-metrics", "value", ["online_rate", "on_time_rate"]),
            ("explore-grain", "value", "month"), ("explore-range", "start_date", "2025-12-01"),
            ("explore-range", "end_date", "2026-11-23"), ("explore-group", "value", group),
            ("explore-unit", "value", None), ("explore-sectors", "value", []),
            ("explore-channels", "value", []), ("explore-chart", "value", "line")]  # fmt: skip
    outs = [("explore-spec", "data"), ("explore-graph", "figure"), ("explore-grid", "columnDefs"),
            ("explore-grid", "rowData"), ("explore-count", "children"),
            ("explore-error", "children")]  # fmt: skip
    return {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outs],
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in vals],
        "changedPropIds": ["explore-metrics.value"],
        "state": [{"id": "_pages_location", "property": "search", "value": ""}],
    }


def _overdue() -> dict:
    view = {"unit": "Q1", "metric": "on_time_rate", "grain": "month", "start": "2025-12-01",
            "end": "2026-11-23", "sector": None, "procedure": None, "lang": "vi"}  # fmt: skip
    return {
        "output": "..units-overdue.getRowsResponse...units-overdue-total.children..",
        "outputs": [{"id": "units-overdue", "property": "getRowsResponse"},
                    {"id": "units-overdue-total", "property": "children"}],
        "inputs": [{"id": "units-overdue", "property": "getRowsRequest",
                    "value": {"startRow": 0, "endRow": 20, "sortModel": [
                        {"colId": "days_late", "sort": "desc"}]}}],
        "state": [{"id": "units-view", "property": "data", "value": view},
                  {"id": "_pages_location", "property": "search", "value": ""}],
        "changedPropIds": ["units-overdue.getRowsRequest"],
    }  # fmt: skip


CASES = {
    "page /wall": _router("/wall", "?kiosk=1"),
    "page /units/HCM": _router("/units/HCM"),
    "page /units/Q1-BENNGHE (ward)": _router("/units/Q1-BENNGHE"),
    "page /explore": _router("/explore"),
    "page /sources": _router("/sources"),
    "wall poll (data version)": _wall_poll(),
    "wall refresh (board render)": _wall_refresh(0),
    "explore update (2 metrics, month)": _explore(None),
    "explore update (by unit)": _explore("unit"),
    "units overdue page (Q1, 20 rows)": _overdue(),
}


def measure(url: str, n: int) -> None:
    s = requests.Session()
    print(f"{'callback':40s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for name, body in CASES.items():
        s.post(f"{url}/_dash-update-component", json=body).raise_for_status()  # warm up
        times = []
        for _ in range(n):
            t = time.perf_counter()
            r = s.post(f"{url}/_dash-update-component", json=body)
            times.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:40s} {statistics.median(times):8.1f} {p95:8.1f}")


def wall_time_to_rendered(url: str, runs: int = 3) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        for size in ((1920, 1080), (3840, 2160)):
            times = []
            for _ in range(runs):
                ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
                page = ctx.new_page()
                t = time.perf_counter()
                page.goto(f"{url}/wall?kiosk=1&rotate=0")
                page.wait_for_selector("#wall-map .main-svg", timeout=60_000)
                times.append(time.perf_counter() - t)
                ctx.close()
            print(f"wall time to rendered {size[0]}x{size[1]}: "
                  f"first {times[0]:.2f} s, median {statistics.median(times):.2f} s")  # fmt: skip
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url")
    ap.add_argument("-n", type=int, default=20)
    args = ap.parse_args()
    served = None
    if args.url is None:
        from tests.conftest import start_app

        served = start_app(Path(tempfile.mkdtemp(prefix="ioc-bench-")), "--no-scheduler")
        args.url = served.url
    try:
        measure(args.url, args.n)
        wall_time_to_rendered(args.url)
    finally:
        if served is not None:
            served.stop()


if __name__ == "__main__":
    main()
