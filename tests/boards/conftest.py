"""Fixtures for the boards' browser tests: the session's demo app (tests/conftest.py), and a way
to restart it on the same port and data directory (the warehouse is already filled, so a restart
takes a couple of seconds)."""

from __future__ import annotations

import subprocess
import time
import urllib.request

import pytest

from config import load_config
from config.settings import Settings
from metrics.query import CACHE
from tests.conftest import REPO_ROOT, ServedApp, sign_in


def restart(app: ServedApp, down_seconds: float = 0.0, timeout: float = 60) -> None:
    """Stop the app process and start the same command again (same port, same data)."""
    args = list(app.process.args)
    app.stop()
    time.sleep(down_seconds)
    log = open(app.data_dir / "app.log", "ab")  # noqa: SIM115 — the process keeps writing
    app.process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{app.url}/healthz", timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the restarted app did not answer /healthz")


@pytest.fixture
def page(page, demo_app):
    """pytest-playwright's page, signed in to the demo app as an admin (every page open)."""
    sign_in(page, demo_app.url, "admin")
    return page


@pytest.fixture
def console_errors(page) -> list[str]:
    """Console errors and uncaught page errors seen by `page` during the test."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture
def server(wh, config, monkeypatch, tmp_path):
    """A Dash app's server over the warehouse `wh`, the query cache on: the page modules' layouts
    and callbacks can be called in its request contexts."""
    import dash

    from dashboards import _runtime

    monkeypatch.setattr(_runtime, "_current", _runtime.Runtime(Settings(), config, wh))
    monkeypatch.setattr(CACHE, "enabled", True)
    # The page modules register themselves with the Dash app (none are loaded from here).
    return dash.Dash(__name__, use_pages=True, pages_folder=str(tmp_path)).server
