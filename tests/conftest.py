"""Shared pytest configuration.

Sections:
  - Paths
  - A served app (a real `python app.py` process on a free loopback port)
  - Signing in (demo accounts, a browser page, an HTTP session, the CLI's bearer token)
  - Browser tests (pytest-playwright with the system Chromium)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """<repo>/screenshots (git-ignored), created if missing."""
    path = REPO_ROOT / "screenshots"
    path.mkdir(exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------
# A warehouse file of one's own
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def wh(tmp_path: Path, config):
    """A fresh DuckDB warehouse in the test's folder (uses the module's `config` fixture)."""
    from warehouse import open_warehouse

    w = open_warehouse(tmp_path / "w.duckdb", config)
    yield w
    w.close()


# ---------------------------------------------------------------------------------------------
# A served app
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def warmed(url: str, timeout: float = 120, headers: dict[str, str] | None = None) -> dict:
    """/healthz once the app's cache warm-up has computed the current data version. Its details
    are for the signed-in or the CLI: `headers` carry the CLI's token (see `cli_headers`)."""
    deadline = time.monotonic() + timeout
    while True:
        req = urllib.request.Request(f"{url}/healthz", headers=headers or {})
        with urllib.request.urlopen(req, timeout=10) as r:
            health = json.loads(r.read())
        warm = health["warm_up"]
        if not warm["running"] and warm["warmed_version"] == health["data_version"]:
            return health
        if time.monotonic() > deadline:
            raise RuntimeError(f"the warm-up did not finish within {timeout} s: {warm}")
        time.sleep(0.5)


@dataclass
class ServedApp:
    url: str
    data_dir: Path
    process: subprocess.Popen

    def warmed(self, timeout: float = 120) -> dict:
        return warmed(self.url, timeout, cli_headers(self))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_app(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> ServedApp:
    """Start `python app.py` on a free port and wait until /healthz answers."""
    port = free_port()
    log = open(data_dir / "app.log", "ab")  # noqa: SIM115 — the process keeps writing to it
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO_ROOT / "app.py"),
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *args,
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}: see {data_dir / 'app.log'}")
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
            return ServedApp(url, data_dir, process)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"app did not answer /healthz within {timeout} s")


@pytest.fixture(scope="session")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app with the demo city loaded, scheduler off, shared by the whole session."""
    app = start_app(tmp_path_factory.mktemp("demo-app"), "--no-scheduler")
    yield app
    app.stop()


# ---------------------------------------------------------------------------------------------
# Signing in: the demo app seeds one account per role (access/web.py DEMO_USERS), all with
# DEMO_PASSWORD; an app without demo data gets accounts from `python -m access create-user`.
# ---------------------------------------------------------------------------------------------

DEMO_PASSWORD = "ioc-demo-password"


def sign_in(page, url: str, user: str = "admin", password: str = DEMO_PASSWORD) -> None:
    """Sign `page`'s browser context in through the real /login form post (CSRF included)."""
    req = page.context.request
    req.get(f"{url}/login")
    csrf = next(c["value"] for c in page.context.cookies(url) if c["name"] == "_csrf_token")
    resp = req.post(f"{url}/login", form={"username": user, "password": password,
                                          "csrf_token": csrf, "next": "/"}, max_redirects=0)  # fmt: skip
    assert resp.status == 302, f"sign-in of {user} failed: {resp.status}"


def http_session(url: str, user: str = "admin", password: str = DEMO_PASSWORD):
    """A `requests.Session` signed in as `user`; its `csrf` attribute is the X-CSRFToken value."""
    import requests

    s = requests.Session()
    s.get(f"{url}/login", timeout=10)
    s.csrf = s.cookies["_csrf_token"]
    r = s.post(f"{url}/login", data={"username": user, "password": password,
               "csrf_token": s.csrf, "next": "/"}, allow_redirects=False, timeout=10)  # fmt: skip
    assert r.status_code == 302, f"sign-in of {user} failed: {r.status_code}"
    s.csrf = s.cookies["_csrf_token"]  # a new session after sign-in: a new token
    return s


def cli_headers(app: ServedApp) -> dict[str, str]:
    """The bearer token the app wrote for the local CLI (`<data dir>/cli.token`)."""
    return {"Authorization": f"Bearer {(app.data_dir / 'cli.token').read_text().strip()}"}


def create_user(data_dir: Path, user: str, role: str, password: str = DEMO_PASSWORD,
                unit: str | None = None) -> None:  # fmt: skip
    """`python -m access create-user` against `data_dir`'s users database."""
    args = [sys.executable, "-m", "access", "--data-dir", str(data_dir), "create-user", user,
            "--role", role, "--password-stdin", *(["--unit", unit] if unit else [])]  # fmt: skip
    subprocess.run(args, input=password + "\n", text=True, check=True, cwd=REPO_ROOT,
                   capture_output=True)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Browser tests
#
# `playwright install` cannot download a browser here, and pytest-playwright ignores
# PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH, so its launch-args fixture is overridden to use the
# system Chromium. Tests marked `browser` (or using pytest-playwright's page/context/browser
# fixtures) are skipped when /usr/bin/chromium is missing.
# ---------------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_PLAYWRIGHT_FIXTURES = {"page", "context", "browser", "new_context"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    args = list(CHROMIUM_ARGS)
    if browser_type_launch_args.get("headless") is False:  # pytest --headed
        args.remove("--headless")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": args}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found (run scripts/setup.sh as root)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)
