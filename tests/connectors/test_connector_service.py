"""The feeds in the app: HTTP endpoints, the scheduler's jobs, the CLI, the demo sources."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from config.settings import Settings
from connectors import __main__ as cli
from connectors.demo_sources import owned_units
from connectors.feeds import load_feeds
from connectors.runner import run_feed
from connectors.scheduler import next_run_times, start_scheduler
from connectors.service import start_feeds

NOW = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)


@pytest.fixture
def demo_service(tmp_path, wh):
    """Demo sources for the last two months and the shipped feeds, without the scheduler."""
    from connectors import demo_sources, service

    original = demo_sources.start_demo_sources

    def short(config, data_dir, port=0, **kw):
        return original(config, data_dir, port=port, refresh_seconds=0, start=date(2026, 9, 1),
                        now=NOW)  # fmt: skip

    service.start_demo_sources = short
    try:
        settings = Settings(data_dir=tmp_path, demo=True, scheduler=False)
        app = Flask("t")
        svc = start_feeds(app, wh, settings)
    finally:
        service.start_demo_sources = original
    server = make_server("127.0.0.1", 0, app, threaded=True)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield svc, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    svc.stop()


def test_demo_feeds_exercise_every_kind_and_the_http_api(demo_service, wh):
    _svc, url = demo_service
    status = requests.get(url + "/api/feeds", timeout=10).json()
    assert {s["name"] for s in status} >= {"demo_justice_desk", "demo_district4_api",
                                           "demo_cuchi_db", "national_portal"}  # fmt: skip
    assert all(s["stale"] for s in status if s["enabled"])  # nothing has run yet
    for name in ("demo_justice_desk", "demo_justice_survey", "demo_district4_api", "demo_cuchi_db"):
        body = requests.post(f"{url}/api/feeds/{name}/run", timeout=60).json()
        assert body["ok"], body
        assert sum(b["rows_loaded"] for b in body["batches"]) > 0, name
    by_source = dict(
        wh.cursor().execute("SELECT source, count(*) FROM dossier GROUP BY 1").fetchall()
    )
    units = owned_units(wh.config)
    for source, kind in (("demo_justice_desk", "files"), ("demo_district4_api", "rest"),
                         ("demo_cuchi_db", "sql")):  # fmt: skip
        assert by_source[source] > 0
        seen = {
            r[0]
            for r in wh.cursor()
            .execute("SELECT DISTINCT unit_code FROM dossier WHERE source = ?", [source])
            .fetchall()
        }
        assert seen <= units[kind]
    assert wh.cursor().execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    after = {s["name"]: s for s in requests.get(url + "/api/feeds", timeout=10).json()}
    assert not after["demo_cuchi_db"]["stale"] and after["demo_cuchi_db"]["last_status"] == "ok"
    # a second run over unchanged sources changes nothing
    before = wh.cursor().execute("SELECT count(*) FROM dossier").fetchone()[0]
    for name in ("demo_justice_desk", "demo_district4_api", "demo_cuchi_db"):
        assert requests.post(f"{url}/api/feeds/{name}/run", timeout=60).json()["ok"]
    assert wh.cursor().execute("SELECT count(*) FROM dossier").fetchone()[0] == before
    assert requests.post(f"{url}/api/feeds/nope/run", timeout=10).status_code == 404
    bad = requests.post(f"{url}/api/feeds/demo_cuchi_db/run", json={"start": "x"}, timeout=10)
    assert bad.status_code == 400


def test_cli_talks_to_the_running_app(demo_service, capsys):
    _svc, url = demo_service
    assert cli.main(["--url", url, "run", "demo_cuchi_db"]) == 0
    assert "demo_cuchi_db:" in capsys.readouterr().out
    assert cli.main(["--url", url, "backfill", "demo_cuchi_db", "--start", "2026-09-01",
                     "--end", "2026-10-31"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "2026-09:" in out and "2026-10:" in out
    assert cli.main(["--url", url, "list"]) == 0
    assert "demo_cuchi_db" in capsys.readouterr().out
    assert cli.main(["--url", url, "quarantine"]) == 0


def test_cli_opens_the_file_when_no_app_runs(tmp_path, capsys):
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    assert cli.main(["--url", dead, "--data-dir", str(tmp_path), "list"]) == 0
    assert "national_portal" in capsys.readouterr().out
    assert (tmp_path / "ioc.duckdb").exists()


def test_scheduler_has_one_coalesced_job_per_enabled_feed(wh, tmp_path):
    feeds = load_feeds(data_dir=tmp_path)
    scheduler = start_scheduler(wh, feeds, run_at_start=False, start=False)
    scheduler.start(paused=True)
    try:
        jobs = {j.name: j for j in scheduler.get_jobs()}
        assert set(jobs) == {n for n, f in feeds.items() if f.enabled}
        for job in jobs.values():
            assert job.max_instances == 1 and job.coalesce
        nxt = next_run_times(scheduler)
        assert set(nxt) == set(jobs)
    finally:
        scheduler.shutdown(wait=False)


def test_scheduled_run_calls_the_after_run_hook(wh, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    from conftest import make_feed

    feed = make_feed("drop_files", "files", options={"path": str(folder)})
    feed = type(feed)(
        **{**feed.__dict__, "schedule": type(feed.schedule)(every=timedelta(seconds=1))}
    )
    seen = []
    scheduler = start_scheduler(wh, {feed.name: feed}, after_run=lambda f, r: seen.append(r))
    try:
        deadline = time.time() + 10
        while not seen and time.time() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert seen and seen[0][0].status == "ok"


def test_run_now_while_running_is_refused(wh, tmp_path):
    from conftest import make_feed

    from connectors.runner import FeedBusy, _lock

    feed = make_feed("busy_files", "files", options={"path": str(tmp_path)})
    with _lock(feed.name), pytest.raises(FeedBusy):
        run_feed(wh, feed)
