"""The explorer's view read from its URL: what a shared link asks for, and what it cannot have."""

from __future__ import annotations

from datetime import date

import pytest

from config import load_config
from dashboards._explore_link import controls_from_query, defaults

TODAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def config():
    return load_config()


def _read(config, query: dict, allowed=lambda code: True, unit=None):
    return controls_from_query(config, query, defaults(TODAY, unit), allowed)


def test_no_query_opens_the_default_view(config):
    values, ignored = _read(config, {})
    assert values == defaults(TODAY, None)
    assert values["start"] == "2026-01-01" and values["end"] == "2026-12-01"
    assert ignored == []


def test_a_link_opens_every_control_it_names(config):
    sector = next(iter(config.sectors))
    procedure = next(p.code for p in config.procedures.values() if p.sector_code == sector)
    query = {"metrics": "on_time_rate,online_rate", "grain": "quarter", "start": "2025-01-01",
             "end": "2025-12-31", "group": "unit", "unit": "Q1", "sectors": sector,
             "procedures": procedure,
             "channels": "online,postal", "chart": "bar", "compare": "yoy"}  # fmt: skip
    values, ignored = _read(config, query)
    assert values == {"metrics": ["on_time_rate", "online_rate"], "grain": "quarter",
                      "start": "2025-01-01", "end": "2025-12-31", "group": "unit", "unit": "Q1",
                      "sectors": [sector], "procedures": [procedure],
                      "channels": ["online", "postal"], "chart": "bar",
                      "compare": "yoy"}  # fmt: skip
    assert ignored == []


def test_parts_that_do_not_exist_keep_their_default_and_are_named(config):
    query = {"metrics": "online_rate,renamed_rate", "grain": "fortnight", "group": "colour",
             "sectors": "no_such_sector", "procedures": "9.999999", "channels": "fax", "chart": "pie", "compare": "lastweek",
             "start": "yesterday"}  # fmt: skip
    values, ignored = _read(config, query)
    base = defaults(TODAY, None)
    assert values["metrics"] == ["online_rate"]
    assert (values["grain"], values["group"], values["chart"]) == ("month", None, "line")
    assert values["compare"] is None
    assert values["sectors"] == [] and values["channels"] == []
    assert values["start"] == base["start"]
    assert ignored == ["metrics=renamed_rate", "grain=fortnight", "group=colour", "chart=pie",
                       "compare=lastweek", "sectors=no_such_sector", "procedures=9.999999",
                       "channels=fax",
                       "start=yesterday"]  # fmt: skip


def test_a_unit_outside_the_viewers_scope_falls_back_to_their_own(config):
    values, ignored = _read(config, {"unit": "Q3"}, allowed=lambda code: code == "Q1", unit="Q1")
    assert values["unit"] == "Q1"
    assert ignored == ["unit=Q3"]


def test_a_start_after_the_end_is_not_kept(config):
    values, ignored = _read(config, {"start": "2026-06-01", "end": "2026-03-31"})
    assert values["end"] == "2026-03-31"
    assert values["start"] <= values["end"]
    assert ignored == ["start=2026-06-01"]
