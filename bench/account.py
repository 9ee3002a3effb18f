"""The bench's sign-in account: shared by bench.run (served app, browser) and bench.after_load
(in-process app), so neither has to import the other for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-1234"


def add_user(data_dir: Path) -> None:
    """An admin account for the bench (apps with sign-in; nothing to do without)."""
    if not (ROOT / "access").is_dir():
        return
    from tests.conftest import create_user  # the CLI the tests drive; only when there is access/

    try:
        create_user(data_dir, BENCH_USER, "admin", BENCH_PASSWORD)
    except subprocess.CalledProcessError as e:
        if "exists" not in (e.stderr or "") + (e.stdout or ""):
            raise
