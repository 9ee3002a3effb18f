"""Board timings: page layouts and callbacks as the browser POSTs them to /_dash-update-component
(p50/p95 over N calls), and the wall's time to rendered in headless Chromium.

    .venv/bin/python -m bench.boards [--url http://127.0.0.1:8050 [--data-dir DIR]] [-n 20]
                                     [--user admin --password …]

Without --url it starts `app.py` on a temporary data directory (demo city, ~10 s) and stops it.
The callbacks are POSTed as a signed-in browser does: one sign-in through /login (a demo
account by default: demo mode seeds `admin` etc. with the demo password), the session cookie,
and the `_csrf_token` cookie sent back as X-CSRFToken. The wall opens as a wall display does,
with a wall token URL (issued by `python -m access issue-token` in the app's data directory and
revoked afterwards); against --url without --data-dir the browser signs in with the account.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.dash_client import opening_view_data, overdue_request, panel_request, router_request

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CALLBACK = "/_dash-update-component"
DEMO_USER, DEMO_PASSWORD = "admin", "ioc-demo-password"  # access/web.py DEMO_USERS (demo mode)


def signed_in(url: str, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> requests.Session:
    """A session signed in through the /login form, sending the CSRF token back on every
    request as dash-renderer does (the `_csrf_token` cookie as X-CSRFToken)."""
    s = requests.Session()
    s.get(f"{url}/login", timeout=10).raise_for_status()
    r = s.post(f"{url}/login", allow_redirects=False, timeout=10,
               data={"username": user, "password": password, "next": "/",
                     "csrf_token": s.cookies.get("_csrf_token", "")})  # fmt: skip
    if r.status_code != 302:
        raise SystemExit(f"sign-in of {user!r} at {url}/login failed (HTTP {r.status_code}): "
                         "is the app in demo mode? else pass --user/--password")  # fmt: skip
    s.headers["X-CSRFToken"] = s.cookies["_csrf_token"]  # a new session after sign-in
    return s


def issue_wall_token(data_dir: Path, url: str) -> tuple[int, str]:
    """(token id, wall URL) from `python -m access issue-token`, as an admin would do."""
    out = subprocess.run([sys.executable, "-m", "access", "--data-dir", str(data_dir),
                          "issue-token", "bench/boards.py", "--base-url", url],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout  # fmt: skip
    tid = int(re.search(r"^token (\d+)", out, re.MULTILINE).group(1))
    return tid, re.search(r"^(http\S+/wall\?\S+)$", out, re.MULTILINE).group(1)


def revoke_wall_token(data_dir: Path, tid: int) -> None:
    subprocess.run([sys.executable, "-m", "access", "--data-dir", str(data_dir), "revoke-token",
                    str(tid)], cwd=ROOT, check=True, capture_output=True)  # fmt: skip


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
            ("explore-channels", "value", []), ("explore-chart", "value", "line"),
            ("explore-compare", "value", None), ("explore-procedures", "value", [])]  # fmt: skip
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


def _overdue(unit: str) -> dict:
    return overdue_request(opening_view_data(unit), [{"colId": "days_late", "sort": "desc"}])


CASES = {
    "page /wall": router_request("/wall", "?kiosk=1"),
    "page /units/HCM": router_request("/units/HCM"),
    "page /units/Q1-BENNGHE (ward)": router_request("/units/Q1-BENNGHE"),
    "units programmes section (HCM)": panel_request("programmes", opening_view_data("HCM")),
    "units programmes section (ward)": panel_request("programmes", opening_view_data("Q1-BENNGHE")),
    "units escalation (HCM)": panel_request("escalation", opening_view_data("HCM")),
    "units escalation (ward)": panel_request("escalation", opening_view_data("Q1-BENNGHE")),
    "page /explore": router_request("/explore"),
    "page /sources": router_request("/sources"),
    "page /alerts": router_request("/alerts"),
    "alerts projections panel (the city)": panel_request("alerts projections", "vi"),
    "wall poll (data version)": _wall_poll(),
    "wall refresh (board render)": _wall_refresh(0),
    "explore update (2 metrics, month)": _explore(None),
    "explore update (by unit)": _explore("unit"),
    "units overdue page (Q1, 20 rows)": _overdue("Q1"),
    "units overdue page (city, 20 rows)": _overdue("HCM"),
}


def measure(url: str, n: int, user: str = DEMO_USER, password: str = DEMO_PASSWORD) -> None:
    s = signed_in(url, user, password)
    print(f"{'callback':40s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for name, body in CASES.items():
        s.post(f"{url}{CALLBACK}", json=body).raise_for_status()  # warm up
        times = []
        for _ in range(n):
            t = time.perf_counter()
            r = s.post(f"{url}{CALLBACK}", json=body)
            times.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:40s} {statistics.median(times):8.1f} {p95:8.1f}")


# Every graph of the wall board drawn (plotly adds .main-svg when a figure is on screen).
ALL_GRAPHS_DRAWN = """() => {
    const graphs = document.querySelectorAll('#wall-body .dash-graph');
    return graphs.length > 0 && [...graphs].every(g => g.querySelector('.main-svg'));
}"""


def wall_time_to_rendered(
    url: str,
    runs: int = 3,
    wall_url: str | None = None,
    user: str = DEMO_USER,
    password: str = DEMO_PASSWORD,
) -> None:
    """With `wall_url` (a wall token URL) the screen opens as a wall display; without it the
    browser signs in through /login first (the sign-in is not timed)."""
    from playwright.sync_api import sync_playwright

    target = f"{wall_url}&rotate=0" if wall_url else f"{url}/wall?kiosk=1&rotate=0"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])  # fmt: skip
        for size in ((1920, 1080), (3840, 2160)):
            times = []
            for _ in range(runs):
                ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
                page = ctx.new_page()
                if wall_url is None:
                    _browser_sign_in(ctx, url, user, password)
                t = time.perf_counter()
                page.goto(target)
                page.wait_for_function(ALL_GRAPHS_DRAWN, timeout=60_000)
                times.append(time.perf_counter() - t)
                ctx.close()
            print(f"wall time to rendered {size[0]}x{size[1]}: "
                  f"first {times[0]:.2f} s, median {statistics.median(times):.2f} s")  # fmt: skip
        browser.close()


def _browser_sign_in(ctx, url: str, user: str, password: str) -> None:
    ctx.request.get(f"{url}/login")
    csrf = next(c["value"] for c in ctx.cookies(url) if c["name"] == "_csrf_token")
    r = ctx.request.post(f"{url}/login", max_redirects=0,
                         form={"username": user, "password": password, "csrf_token": csrf,
                               "next": "/"})  # fmt: skip
    if r.status != 302:
        raise SystemExit(f"browser sign-in of {user!r} failed (HTTP {r.status})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url")
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3, help="wall openings per screen size")
    ap.add_argument("--data-dir", type=Path,
                    help="the --url app's data directory (for a wall token)")  # fmt: skip
    ap.add_argument("--user", default=DEMO_USER, help="account for the callbacks (demo: admin)")
    ap.add_argument("--password", default=DEMO_PASSWORD)
    ap.add_argument("--no-browser", action="store_true", help="skip the wall in chromium")
    args = ap.parse_args()
    served = None
    if args.url is None:
        from tests.conftest import start_app

        args.data_dir = Path(tempfile.mkdtemp(prefix="ioc-bench-"))
        served = start_app(args.data_dir, "--no-scheduler")
        args.url = served.url
    args.url = args.url.rstrip("/")
    try:
        measure(args.url, args.n, args.user, args.password)
        if not args.no_browser:
            token = issue_wall_token(args.data_dir, args.url) if args.data_dir else None
            try:
                wall_time_to_rendered(args.url, args.runs, token and token[1], args.user,
                                      args.password)  # fmt: skip
            finally:
                if token:
                    revoke_wall_token(args.data_dir, token[0])
    finally:
        if served is not None:
            served.stop()


if __name__ == "__main__":
    main()
