"""Fixtures for the alert tests: a real DuckDB file with small hand-made dossiers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from config import load_config
from metrics.alerts.rules import parse_alerts
from warehouse import Batch, open_warehouse
from warehouse.shapes import DOSSIER_SCHEMA

PROC = "2.000815"  # commune-level certification: exists in config/procedures.csv


@pytest.fixture(scope="session")
def config():
    return load_config()


def make_dossiers(unit: str, n: int, online: int, received: datetime, prefix: str = "") -> list:
    """`n` dossiers of `unit` received at `received`, the first `online` of them online."""
    return [
        {
            "dossier_id": f"{prefix}{unit}-{i}",
            "unit_code": unit,
            "procedure_code": PROC,
            "channel": "online" if i < online else "direct",
            "received_at": received,
            "due_at": received + timedelta(days=3),
            "completed_at": None,
        }
        for i in range(n)
    ]


def frame(rows: list[dict]) -> pl.DataFrame:
    schema = {k: v for k, v in DOSSIER_SCHEMA.items() if k in rows[0]}
    return pl.DataFrame(rows, schema=schema)


RULES = {
    "defaults": {"min_denominator": 20, "for_evaluations": 2, "clear_margin": 2.0},
    "rules": {
        "online_district": {
            "metric": "online_rate",
            "scope": {"each": "district"},
            "window": "last_7_days",
            "warning": 80,
            "critical": 70,
            "channels": ["hook"],
        },
    },
    "feeds": {"desk": {"expected_every": "1d", "grace": "6h"}},
    "channels": {"hook": {"kind": "webhook", "url_env": "TEST_ALERT_HOOK", "attempts": 3,
                          "backoff_seconds": 0.05, "timeout_seconds": 2}},
}  # fmt: skip


@pytest.fixture
def alerts(config):
    return parse_alerts(RULES, config)


@pytest.fixture
def wh(tmp_path, config):
    """A warehouse with District 8 (Q8-P04) at 50% online, District 1 at 95%, Can Gio with 3
    dossiers, all received yesterday through feed "desk"."""
    w = open_warehouse(tmp_path / "w.duckdb", config)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    rows = (
        make_dossiers("Q8-P04", 40, 20, yesterday)
        + make_dossiers("Q1-BENNGHE", 40, 38, yesterday)
        + make_dossiers("CGIO-LYNHON", 3, 0, yesterday)
    )
    result = w.load(Batch("desk", dossiers=frame(rows)))
    assert result.status == "ok", result.error
    yield w
    w.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
