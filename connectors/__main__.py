"""Feeds from the command line: `python -m connectors {list,run,backfill,quarantine}`.

DuckDB lets one process open the file, so while the app runs this CLI talks to it over HTTP
(`--url`, default http://IOC_HOST:IOC_PORT); when no app answers, it opens the warehouse in
`--data-dir` itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from connectors.runner import month_windows


class Backend:
    def feeds(self) -> list[dict[str, Any]]: ...
    def run(self, name: str, start: date | None = None, end: date | None = None) -> dict: ...
    def quarantine(self, source: str | None, limit: int) -> list[dict[str, Any]]: ...


class HttpBackend(Backend):
    def __init__(self, url: str, data_dir: Path | None = None):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        # The app writes a bearer token into its data directory (access/web.py): whoever may
        # open the warehouse file may also drive the running app.
        token = (data_dir / "cli.token") if data_dir else None
        if token is not None and token.exists():
            self.http.headers["Authorization"] = f"Bearer {token.read_text().strip()}"

    def alive(self) -> bool:
        try:
            status = self.http.get(self.url + "/api/feeds", timeout=3).status_code
        except requests.RequestException:
            return False
        if status in (401, 403):
            raise SystemExit(f"{self.url} refused the CLI: run it with the app's --data-dir "
                             "(it reads <data dir>/cli.token)")  # fmt: skip
        return status == 200

    def feeds(self):
        return self.http.get(self.url + "/api/feeds", timeout=30).json()

    def run(self, name, start=None, end=None):
        body = {"start": start.isoformat(), "end": end.isoformat()} if start else {}
        resp = self.http.post(f"{self.url}/api/feeds/{name}/run", json=body, timeout=3600)
        if resp.status_code >= 400:
            raise SystemExit(f"{name}: {resp.json().get('error', resp.text)}")
        return resp.json()

    def quarantine(self, source, limit):
        params = {"limit": limit, **({"source": source} if source else {})}
        return self.http.get(self.url + "/api/quarantine", params=params, timeout=30).json()


class LocalBackend(Backend):
    def __init__(self, data_dir: Path, config_dir: Path | None):
        from dataclasses import asdict

        from config import CONFIG_DIR, load_config
        from connectors.feeds import FEEDS_FILE, load_feeds
        from warehouse import open_warehouse

        config = load_config(config_dir or CONFIG_DIR)
        self.wh = open_warehouse(data_dir / "ioc.duckdb", config)
        self.all_feeds = load_feeds((config_dir or CONFIG_DIR) / FEEDS_FILE, data_dir=data_dir,
                                    demo_api=os.environ.get("IOC_DEMO_API", "http://127.0.0.1:0"))  # fmt: skip
        self._asdict = asdict

    def feeds(self):
        from connectors.runner import feed_status

        return feed_status(self.wh, self.all_feeds)

    def run(self, name, start=None, end=None):
        from connectors.base import Window
        from connectors.runner import run_feed

        if name not in self.all_feeds:
            raise SystemExit(f"no feed named {name!r}")
        window = Window(start, end) if start else None
        results = run_feed(self.wh, self.all_feeds[name], window, wait=True)
        return {"feed": name, "ok": all(r.status == "ok" for r in results),
                "batches": [self._asdict(r) for r in results]}  # fmt: skip

    def quarantine(self, source, limit):
        from warehouse.feeds import quarantine_rows

        rows = quarantine_rows(self.wh.cursor(), source, limit)
        return [r | {"quarantined_at": r["quarantined_at"].isoformat()} for r in rows]


def _summary(result: dict) -> str:
    b = result["batches"]
    loaded = sum(x["rows_loaded"] for x in b)
    bad = sum(x["rows_quarantined"] for x in b)
    errors = [x["error"] for x in b if x.get("error")]
    return f"{result['feed']}: {len(b)} batch(es), {loaded} loaded, {bad} quarantined" + (
        f", FAILED: {errors[-1]}" if errors else ""
    )


def main(argv: list[str] | None = None) -> int:
    host, port = os.environ.get("IOC_HOST", "127.0.0.1"), os.environ.get("IOC_PORT", "8050")
    p = argparse.ArgumentParser(prog="python -m connectors", description=__doc__.split("\n")[0])
    p.add_argument("--url", default=f"http://{host}:{port}", help="the running app")
    p.add_argument("--data-dir", type=Path, default=Path(os.environ.get("IOC_DATA_DIR", "data")))
    p.add_argument("--config-dir", type=Path, default=None)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="feeds and their status")
    r = sub.add_parser("run", help="run one feed now")
    r.add_argument("name")
    b = sub.add_parser("backfill", help="re-pull a date range, month by month")
    b.add_argument("name")
    b.add_argument("--start", type=date.fromisoformat, required=True)
    b.add_argument("--end", type=date.fromisoformat, required=True)
    q = sub.add_parser("quarantine", help="the newest quarantined rows")
    q.add_argument("--source")
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

    http = HttpBackend(a.url, a.data_dir)
    backend: Backend = http if http.alive() else LocalBackend(a.data_dir, a.config_dir)
    if a.command == "list":
        for f in backend.feeds():
            flag = "stale" if f["stale"] else ("off" if not f["enabled"] else "ok")
            print(f"{f['name']:<24} {f['kind']:<16} {flag:<6} last ok {f['last_success_at'] or '-'}"
                  f"  next {f['next_run_at'] or '-'}  loaded {f['total_rows_loaded']}"
                  f"  quarantined {f['total_rows_quarantined']}")  # fmt: skip
    elif a.command == "run":
        result = backend.run(a.name)
        print(_summary(result))
        return 0 if result["ok"] else 1
    elif a.command == "backfill":
        if a.end < a.start:
            raise SystemExit("--end is before --start")
        ok = True
        for w in tqdm(month_windows(a.start, a.end), desc=a.name, unit="month"):
            result = backend.run(a.name, w.start, w.end)
            ok = ok and result["ok"]
            tqdm.write(f"{w.start:%Y-%m}: " + _summary(result))
        return 0 if ok else 1
    elif a.command == "quarantine":
        rows = backend.quarantine(a.source, a.limit)
        if a.json:
            print(json.dumps(rows, ensure_ascii=False, indent=1))
        for row in [] if a.json else rows:
            print(
                f"{row['quarantined_at']}  {row['source']:<22} {row['reason']}\n    {row['raw'][:160]}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
