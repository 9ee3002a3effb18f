"""Issue #24, class 8: /healthz tells strangers nothing, and the data dir is its owner's alone.

One app (`python app.py --no-demo --no-scheduler`) is started on a data dir prepared as an
earlier version and the `python -m access` CLI would leave it: the folder 0755, a session secret
and the accounts database 0644, and the app started with the usual umask 022.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    DEMO_PASSWORD,
    REPO_ROOT,
    ServedApp,
    cli_headers,
    create_user,
    http_session,
    start_app,
)

DETAILS = {"status", "data_version", "schema_version", "newest_data", "warm_up"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def get_json(url: str, headers: dict[str, str] | None = None) -> dict:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wall_token(data_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "access", "--data-dir", str(data_dir), "issue-token", "Lobby"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return re.search(r"token=(\S+)", out.stdout).group(1)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, str]]:
    """(the served app, a wall token) on a data dir left readable to all before the start."""
    data = tmp_path_factory.mktemp("private") / "data"
    data.mkdir()
    data.chmod(0o755)
    (data / "secret.key").write_text(secrets.token_urlsafe(48) + "\n")
    create_user(data, "ops", "analyst")  # users.sqlite, as the CLI makes it
    token = wall_token(data)
    for name in ("secret.key", "users.sqlite"):
        (data / name).chmod(0o644)
    before = os.umask(0o022)  # what the app inherits (Popen): the usual umask, not ours
    try:
        served = start_app(data, "--no-demo", "--no-scheduler")
    finally:
        os.umask(before)
    yield served, token
    served.stop()


def test_anonymous_healthz_is_a_bare_status(app):
    served, _ = app
    assert get_json(f"{served.url}/healthz") == {"status": "ok"}  # no feed, time or version
    wrong = {"Authorization": "Bearer not-the-cli-token"}
    assert get_json(f"{served.url}/healthz", wrong) == {"status": "ok"}


def test_a_wall_token_gets_only_the_status(app):
    # A wall's token sits in the URL of a screen in a public place: no details for it.
    served, token = app
    assert get_json(f"{served.url}/healthz?token={token}") == {"status": "ok"}


def test_a_signed_in_user_and_the_cli_get_the_details(app):
    served, _ = app
    signed_in = http_session(served.url, "ops", DEMO_PASSWORD)
    health = signed_in.get(f"{served.url}/healthz", timeout=10).json()
    assert set(health) == DETAILS and health["status"] == "ok"
    assert health["schema_version"] >= 1 and health["newest_data"] == {}
    assert set(get_json(f"{served.url}/healthz", cli_headers(served))) == DETAILS


def test_the_data_dir_and_its_files_are_private(app):
    served, _ = app
    data = served.data_dir
    assert mode(data) == 0o700  # was 0755
    # Left readable by an earlier run or the CLI: repaired at the start.
    assert mode(data / "secret.key") == 0o600
    assert mode(data / "users.sqlite") == 0o600
    # Created by the app after it set its umask (the app itself ran under umask 022).
    for name in ("ioc.duckdb", "ioc.duckdb.wal", "cli.token"):
        assert mode(data / name) == 0o600, name


def test_a_folder_writable_by_everyone_is_left_alone(tmp_path: Path):
    # /tmp and the like are not the app's own folder: its modes and its files stay as they are.
    from app import _private_data_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    other = shared / "someone-else.txt"
    other.write_text("x")
    other.chmod(0o644)
    before = os.umask(0o022)
    try:
        _private_data_dir(shared)
    finally:
        os.umask(before)  # the app's umask is for the app's process, not pytest's
    assert (mode(shared), mode(other)) == (0o777, 0o644)
