"""The demo city is deterministic and looks like the city's real trajectory."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from config import load_config
from connectors.demo_city import LAGGARDS, generate

NOW = datetime(2026, 11, 23, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def config():
    return load_config()


def month(config, first: date, last: date, seed: int = 7) -> pl.DataFrame:
    return pl.concat(list(generate(config, first, last, seed=seed, now=NOW)))


def online_share(frame: pl.DataFrame) -> float:
    return frame.select((pl.col("channel") == "online").mean()).item()


def test_same_seed_same_dossiers(config):
    a = month(config, date(2024, 5, 1), date(2024, 5, 31))
    b = month(config, date(2024, 5, 1), date(2024, 5, 31))
    assert a.equals(b)
    assert not a.equals(month(config, date(2024, 5, 1), date(2024, 5, 31), seed=8))
    assert a["dossier_id"].n_unique() == a.height


def test_online_share_rises_from_about_40_to_about_90_percent(config):
    start = online_share(month(config, date(2023, 1, 1), date(2023, 1, 31)))
    recent = online_share(month(config, date(2026, 10, 1), date(2026, 10, 31)))
    assert 0.35 < start < 0.50
    assert 0.82 < recent < 0.95


def test_tet_and_weekends_are_quiet(config):
    frame = month(config, date(2024, 2, 1), date(2024, 3, 31)).with_columns(
        pl.col("received_at").dt.convert_time_zone("Asia/Ho_Chi_Minh").dt.date().alias("day")
    )
    per_day = dict(frame.group_by("day").len().iter_rows())
    tet = per_day.get(date(2024, 2, 10), 0)  # Tết 2024
    tuesday, sunday = per_day[date(2024, 3, 5)], per_day.get(date(2024, 3, 10), 0)
    assert tet < 0.15 * tuesday
    assert sunday < 0.15 * tuesday


def test_laggards_lag(config):
    frame = month(config, date(2025, 6, 1), date(2025, 8, 31))
    lag = frame.filter(pl.col("unit_code").is_in(sorted(LAGGARDS)))
    rest = frame.filter(~pl.col("unit_code").is_in(sorted(LAGGARDS)))
    assert online_share(lag) < online_share(rest) - 0.1


def test_nothing_is_received_after_now(config):
    frame = month(config, date(2026, 11, 1), date(2026, 11, 23))
    assert frame["received_at"].max() <= NOW
    assert frame.filter(pl.col("completed_at") > NOW).height == 0
    assert frame.filter(pl.col("completed_at").is_null()).height > 0  # some still open
