"""Load: 50 wall screens and 10 analysts against the app under gunicorn on 127.0.0.1.

    .venv/bin/python bench/load.py [--seconds 120] [--walls 50] [--analysts 10]
                                   [--data-dir DIR] [--url http://127.0.0.1:8050 --data-dir DIR]

Without --url it starts `gunicorn --workers 1 --threads 16 --keep-alive 75 app:server` (a keep-alive
longer than the walls' 30 s poll, as behind a proxy) on `--data-dir` (default: a
temporary directory, so the demo city loads first, ~40 s; pass a directory to reuse it) and stops
it afterwards. The clients start once the app's cache warm-up is done (`/healthz`). Accounts
come from the users database in the data directory: a wall token for the screens and an analyst
account made for the run (`python -m access` would do the same).

A wall screen does what `dashboards/wall.py` makes the browser do: open `/wall?kiosk=1&token=…`,
render the board, then poll the data version every `--wall-every` seconds and render the next
board every `--board-every` seconds (both from config/wall.toml by default: 30 s and 40 s). An analyst signs in, then loops over the
explorer (a random metric, grain, unit and grouping), a drill-down page and its overdue list,
thinking 1-3 s between actions. Bounded: it stops after `--seconds`.

Prints p50/p95/p99 latency and errors per request kind and overall, and writes the same as JSON
to bench/results/load-<time>.json (git-ignored). Goal: p95 ≤ 200 ms, 0 errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

from base.tz import local_today
from bench.dash_client import (
    UNIT_PANELS,
    opening_view_data,
    overdue_request,
    panel_request,
    router_request,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CB = "/_dash-update-component"
METRICS = ["online_rate", "on_time_rate", "record_digitization_rate", "e_result_rate",
           "data_reuse_rate", "online_payment_rate", "full_process_rate"]  # fmt: skip
UNITS = [None, "Q1", "Q8", "SO-TP", "BTHANH", "Q1-BENNGHE", "CGIO"]
GRAINS = ["month", "week", "quarter"]


def _poll(version: str) -> dict:
    return {"output": "wall-version.data", "outputs": {"id": "wall-version", "property": "data"},
            "inputs": [{"id": "wall-poll", "property": "n_intervals", "value": 1}],
            "changedPropIds": ["wall-poll.n_intervals"],
            "state": [{"id": "wall-version", "property": "data", "value": version}]}  # fmt: skip


def _wall_body(index: int) -> dict:
    return {"output": "wall-body.children", "outputs": {"id": "wall-body", "property": "children"},
            "inputs": [{"id": "wall-version", "property": "data", "value": "x"},
                       {"id": "wall-board", "property": "data", "value": index},
                       {"id": "wall-scale", "property": "data", "value": 1.0}],
            "changedPropIds": ["wall-board.data"],
            "state": [{"id": "wall-params", "property": "data",
                       "value": {"lang": "vi", "pinned": False}}]}  # fmt: skip


def _explore(rng: random.Random, today: date) -> dict:
    metrics = rng.sample(METRICS, rng.choice([1, 1, 2]))
    start = (today.replace(day=1) - timedelta(days=rng.choice([90, 365, 700]))).replace(day=1)
    inputs = {"explore-metrics": metrics, "explore-grain": rng.choice(GRAINS),
              "explore-group": rng.choice([None, "unit", "sector", "channel"]),
              "explore-unit": rng.choice(UNITS), "explore-sectors": [], "explore-channels": [],
              "explore-chart": "line", "explore-compare": None,
              "explore-procedures": []}  # fmt: skip
    outs = ["explore-spec.data", "explore-graph.figure", "explore-grid.columnDefs",
            "explore-grid.rowData", "explore-count.children", "explore-error.children"]  # fmt: skip
    return {
        "output": ".." + "...".join(outs) + "..",
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in outs],
        "inputs": [{"id": k, "property": "value", "value": v} for k, v in inputs.items()][:2]
        + [{"id": "explore-range", "property": "start_date", "value": start.isoformat()},
           {"id": "explore-range", "property": "end_date", "value": today.isoformat()}]
        + [{"id": k, "property": "value", "value": v} for k, v in inputs.items()][2:],
        "changedPropIds": ["explore-metrics.value"],
        "state": [{"id": "_pages_location", "property": "search", "value": ""}],
    }  # fmt: skip


class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.lock = threading.Lock()

    def call(self, kind: str, fn) -> requests.Response | None:
        t0 = time.perf_counter()
        try:
            resp = fn()
            ok = resp.status_code in (200, 204) or (kind == "sign_in" and resp.status_code == 302)
            err = None if ok else f"HTTP {resp.status_code}: {resp.text[:120]}"
        except requests.RequestException as e:
            resp, err = None, f"{type(e).__name__}: {e}"
        ms = (time.perf_counter() - t0) * 1000
        with self.lock:
            self.times[kind].append(ms)
            if err:
                self.errors[kind].append(err)
        return resp


def _post(s: requests.Session, url: str, body: dict) -> requests.Response:
    return s.post(url + CB, json=body, headers={"X-CSRFToken": s.cookies.get("_csrf_token", "")},
                  timeout=30)  # fmt: skip


def wall_screen(url: str, token: str, rec: Recorder, until: float, every: float, board_every: float,
                seed: int) -> None:  # fmt: skip
    rng = random.Random(seed)
    s = requests.Session()
    time.sleep(rng.uniform(0, min(10.0, every)))  # screens were switched on at different moments
    rec.call("wall_open", lambda: s.get(f"{url}/wall?kiosk=1&token={token}", timeout=30))
    rec.call("wall_render", lambda: _post(s, url, router_request("/wall", "?kiosk=1")))
    version, board = "none", 0
    now = time.monotonic()
    next_poll, next_board = (
        now + every * rng.uniform(0.5, 1),
        now + board_every * rng.uniform(0.5, 1),
    )
    while True:
        wake = min(next_poll, next_board)
        if wake >= until:
            return
        time.sleep(max(0.0, wake - time.monotonic()))
        if next_poll <= next_board:
            resp = rec.call("wall_poll", lambda v=version: _post(s, url, _poll(v)))
            if resp is not None and resp.status_code == 200:
                version = resp.json()["response"]["wall-version"]["data"]
            next_poll += every
        else:
            board += 1
            rec.call("wall_board", lambda b=board: _post(s, url, _wall_body(b)))
            next_board += board_every


def analyst(url: str, user: str, password: str, rec: Recorder, until: float, seed: int) -> None:
    rng = random.Random(seed)
    s = requests.Session()
    s.get(url + "/login", timeout=30)
    r = rec.call("sign_in", lambda: s.post(url + "/login", timeout=30, allow_redirects=False,
                 data={"username": user, "password": password,
                       "csrf_token": s.cookies.get("_csrf_token", "")}))  # fmt: skip
    if r is None or r.status_code != 302:
        return
    today = local_today()
    while time.monotonic() < until:
        action = rng.random()
        if action < 0.5:
            rec.call("explore", lambda: _post(s, url, _explore(rng, today)))
        elif action < 0.8:
            unit = rng.choice(UNITS[1:])
            view = opening_view_data(unit, today)  # what the drawn page sends next
            rec.call("units_page", lambda u=unit: _post(s, url, router_request(f"/units/{u}")))
            for panel in UNIT_PANELS:
                rec.call(
                    f"units_{panel}", lambda p=panel, v=view: _post(s, url, panel_request(p, v))
                )
            rec.call("units_overdue", lambda v=view: _post(s, url, overdue_request(v)))
        else:
            rec.call("home_page", lambda: _post(s, url, router_request("/")))
        time.sleep(rng.uniform(1, 3))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(data_dir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = os.environ | {"IOC_DATA_DIR": str(data_dir), "IOC_SCHEDULER": "0"}
    log = open(data_dir / "gunicorn.log", "ab")  # noqa: SIM115 — the process writes to it
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "1",
                             "--threads", "16", "--bind", f"127.0.0.1:{port}", "--timeout", "300",
                             "--keep-alive", "75",
                             "app:server"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited: see {data_dir / 'gunicorn.log'}")
        try:
            requests.get(url + "/healthz", timeout=2).raise_for_status()
            return proc, url
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("gunicorn did not answer /healthz in 300 s")


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"n": len(values), "p50_ms": round(q[49], 1), "p95_ms": round(q[94], 1),
            "p99_ms": round(q[98], 1), "max_ms": round(max(values), 1)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--walls", type=int, default=50)
    p.add_argument("--analysts", type=int, default=10)
    p.add_argument("--wall-every", type=float, help="seconds between wall polls (wall.toml: 30)")
    p.add_argument("--board-every", type=float, help="seconds per board (wall.toml: 40)")
    p.add_argument("--url", help="an app already running (its --data-dir is needed too)")
    p.add_argument("--data-dir", type=Path)
    a = p.parse_args(argv)

    from access.store import UserStore
    from config import CONFIG_DIR, load_config
    from dashboards._wall_config import load_wall
    from tests.conftest import warmed

    try:
        wc = load_wall(CONFIG_DIR / "wall.toml", set(load_config().metrics))
        a.wall_every = a.wall_every or float(wc.refresh_seconds)
        a.board_every = a.board_every or float(wc.boards[0].seconds)
    except Exception:  # noqa: BLE001 — the defaults of config/wall.toml
        a.wall_every, a.board_every = a.wall_every or 30.0, a.board_every or 40.0

    tmp = None
    if a.data_dir is None:
        if a.url:
            raise SystemExit("--url needs the app's --data-dir (for a wall token and an account)")
        tmp = tempfile.TemporaryDirectory(prefix="ioc-load-")
        a.data_dir = Path(tmp.name)
    a.data_dir.mkdir(parents=True, exist_ok=True)
    store = UserStore(
        os.environ.get("IOC_USERS_URL") or f"sqlite:///{(a.data_dir / 'users.sqlite').resolve()}"
    )
    password = secrets.token_urlsafe(16)
    user = "bench.analyst"
    if store.get(user) is None:
        store.create_user(user, password, "analyst")
    else:
        store.set_password(user, password)
    wall_token, token = store.issue_token("bench/load.py", "bench")

    proc = None
    if a.url:
        url = a.url.rstrip("/")
    else:
        t0 = time.perf_counter()
        proc, url = start_gunicorn(a.data_dir)
        print(f"gunicorn up in {time.perf_counter() - t0:.1f} s at {url}")
    rec = Recorder()
    try:
        # Steady state: the app warms every board and unit page after it starts (and after
        # each load); requests during that warm-up share the cores with it (bench/RESULTS.md).
        # /healthz tells its details to the CLI's token (anonymous callers get a bare status).
        cli = {"Authorization": f"Bearer {(a.data_dir / 'cli.token').read_text().strip()}"}
        warm = warmed(url, timeout=600, headers=cli)["warm_up"]
        print(f"cache warm-up done: {warm['pages']} pages in {warm['seconds']} s")
        until = time.monotonic() + a.seconds
        threads = [threading.Thread(target=wall_screen,
                                    args=(url, token, rec, until, a.wall_every, a.board_every, i))
                   for i in range(a.walls)]  # fmt: skip
        threads += [threading.Thread(target=analyst,
                                     args=(url, user, password, rec, until, 1000 + i))
                    for i in range(a.analysts)]  # fmt: skip
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        store.revoke_token(wall_token.id)
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            tmp.cleanup()
    elapsed = time.perf_counter() - started
    all_times = [v for vs in rec.times.values() for v in vs]
    errors = sum(len(v) for v in rec.errors.values())
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "walls": a.walls, "analysts": a.analysts, "seconds": round(elapsed, 1),
        "wall_every_s": a.wall_every, "board_every_s": a.board_every, "requests": len(all_times),
        "requests_per_s": round(len(all_times) / elapsed, 1), "errors": errors,
        "overall": _stats(all_times),
        "by_kind": {k: _stats(v) | {"errors": len(rec.errors.get(k, []))}
                    for k, v in sorted(rec.times.items())},
        "error_samples": {k: v[:3] for k, v in rec.errors.items()},
        "goal": {"p95_ms": 200, "errors": 0},
    }  # fmt: skip
    result["goal_met"] = result["overall"].get("p95_ms", 1e9) <= 200 and errors == 0
    print(f"{'kind':<15}{'n':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}{'errors':>8}")
    for k, s in result["by_kind"].items():
        print(f"{k:<15}{s['n']:>7}{s.get('p50_ms', 0):>9}{s.get('p95_ms', 0):>9}"
              f"{s.get('p99_ms', 0):>9}{s.get('max_ms', 0):>9}{s['errors']:>8}")  # fmt: skip
    o = result["overall"]
    print(f"{'overall':<15}{o.get('n', 0):>7}{o.get('p50_ms', 0):>9}{o.get('p95_ms', 0):>9}"
          f"{o.get('p99_ms', 0):>9}{o.get('max_ms', 0):>9}{errors:>8}")  # fmt: skip
    print(
        f"{result['requests_per_s']} req/s; goal p95 ≤ 200 ms and 0 errors: "
        f"{'met' if result['goal_met'] else 'NOT met'}"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"load-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path.relative_to(ROOT)}")
    return 0 if result["goal_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
