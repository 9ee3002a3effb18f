"""The runnable app: start-up, /healthz, the first page in a real browser, gunicorn."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from config import CONFIG_DIR, load_config
from config.settings import Settings
from tests.conftest import REPO_ROOT, cli_headers, free_port, sign_in, start_app


def get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=headers or {}), timeout=10
    ) as r:
        return json.loads(r.read())


def test_settings_come_from_ioc_variables():
    s = Settings.from_env({"IOC_HOST": "0.0.0.0", "IOC_PORT": "9000", "IOC_DATA_DIR": "/srv/x",
                           "IOC_DEMO": "0"})  # fmt: skip
    assert (s.host, s.port, s.warehouse_path, s.demo) == ("0.0.0.0", 9000,
                                                          Path("/srv/x/ioc.duckdb"), False)  # fmt: skip


def test_healthz_reports_data_version_and_newest_data(demo_app):
    assert get_json(f"{demo_app.url}/healthz") == {"status": "ok"}  # anonymous: nothing more
    health = get_json(f"{demo_app.url}/healthz", cli_headers(demo_app))
    assert health["status"] == "ok"
    assert health["data_version"] >= 1
    assert set(health["newest_data"]) >= {"demo"}
    warm = demo_app.warmed()["warm_up"]  # every unit's page, as it first opens, is warm
    assert warm["pages"] > len(load_config().units) and warm["seconds"] > 0


def test_first_page_shows_the_city_tiles_with_numbers(demo_app, page, screenshot_dir):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, demo_app.url, "leader")
    page.goto(f"{demo_app.url}/?lang=vi")
    tiles = page.locator("#home-tiles .kpi-tile")
    tiles.first.wait_for()
    assert tiles.count() == 8
    values = page.locator(".kpi-value").all_inner_texts()
    assert all(re.fullmatch(r"\d{1,3},\d%", v) for v in values), values  # Vietnamese: 89,7%
    assert "Tỷ lệ hồ sơ trực tuyến" in page.inner_text("#home-tiles")
    assert re.search(r"\d\d:\d\d \d\d/\d\d/\d{4}", page.inner_text("#home-as-of"))
    page.screenshot(path=str(screenshot_dir / "home-vi.png"), full_page=True)
    page.goto(f"{demo_app.url}/?lang=en")
    page.locator("#home-tiles .kpi-tile").first.wait_for()
    assert "Online dossier rate" in page.inner_text("#home-tiles")
    assert all(
        re.fullmatch(r"\d{1,3}\.\d%", v) for v in page.locator(".kpi-value").all_inner_texts()
    )
    page.screenshot(path=str(screenshot_dir / "home-en.png"), full_page=True)
    assert errors == []


def test_a_configuration_error_stops_the_app_with_the_reason(tmp_path: Path):
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (config / "units.csv").open("a", encoding="utf-8") as f:
        f.write("X-NEW,NOWHERE,ward,Phường Mới,New Ward,2020-01-01,,\n")
    run = subprocess.run(
        [sys.executable, "app.py", "--config-dir", str(config), "--data-dir", str(tmp_path),
         "--no-demo", "--no-scheduler", "--port", str(free_port())],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert "configuration error: units.csv: line" in run.stderr
    assert "unknown parent unit NOWHERE" in run.stderr


def test_importing_the_module_builds_no_app(tmp_path: Path):
    # Scripts import create_app from it; only `app:server` (gunicorn) or `app.app` builds one.
    code = "import app; from app import create_app; print(app._built is None)"
    env = {"PATH": "/usr/bin:/bin", "IOC_DATA_DIR": str(tmp_path), "IOC_DEMO": "0"}
    out = subprocess.run([sys.executable, "-c", code], check=False, cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
    assert list(tmp_path.iterdir()) == []  # no warehouse opened


def test_gunicorn_serves_the_app(tmp_path: Path):
    port = free_port()
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {"IOC_DATA_DIR": str(tmp_path), "IOC_DEMO": "0", "IOC_SCHEDULER": "0",
           "PATH": str(Path(sys.executable).parent)}  # fmt: skip
    process = subprocess.Popen(
        [str(gunicorn), "--workers", "1", "--threads", "16", "--bind", f"127.0.0.1:{port}",
         "app:server"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = get_json(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("gunicorn did not serve /healthz")
                time.sleep(0.3)
        assert health == {"status": "ok"}  # anonymous: a bare status
        token = (tmp_path / "cli.token").read_text().strip()
        health = get_json(f"http://127.0.0.1:{port}/healthz", {"Authorization": f"Bearer {token}"})
        assert health["status"] == "ok" and health["newest_data"] == {}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200
    finally:
        process.terminate()
        process.wait(10)
    # gunicorn's worker stops through the exit hooks too: the warehouse was closed.
    assert not (tmp_path / "ioc.duckdb.wal").exists()


def test_the_default_start_serves_and_runs_every_demo_feed(tmp_path: Path):
    """What `bash scripts/run.sh` does: demo city, demo feeds, scheduler on."""
    app = start_app(tmp_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            feeds = [f for f in get_json(f"{app.url}/api/feeds", cli_headers(app)) if f["enabled"]]
            if feeds and all(f["last_status"] == "ok" for f in feeds):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"demo feeds did not all load: {feeds}")
            time.sleep(1)
        assert len(feeds) >= 4
        health = get_json(f"{app.url}/healthz", cli_headers(app))
        assert {"demo", *(f["name"] for f in feeds)} <= set(health["newest_data"])
    finally:
        app.stop()
    assert b"Traceback" not in (tmp_path / "app.log").read_bytes()


def test_stopping_the_app_closes_the_warehouse_and_leaves_no_log_to_replay(tmp_path: Path):
    # SIGTERM (docker stop, systemd) goes through the exit hooks as Ctrl-C does: the warm-up
    # and feeds stop, the warehouse closes and folds its write-ahead log into the file.
    app = start_app(tmp_path, "--no-demo", "--no-scheduler")
    wal = tmp_path / "ioc.duckdb.wal"
    assert wal.exists()  # the migrations' writes, not checkpointed yet
    app.process.terminate()
    assert app.process.wait(60) == 0
    assert not wal.exists()
    assert "leaked" not in (tmp_path / "app.log").read_text()  # DuckDB torn down unclosed
