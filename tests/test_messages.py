"""Quarantine reasons: the validators write them in English from one list of messages, and the
sources page words each one back in Vietnamese with its values."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from string import Formatter

import polars as pl

from config import load_config
from tests.test_warehouse import dossier, dossiers, reports
from warehouse import Batch, open_warehouse
from warehouse.messages import MESSAGES, say, words


def test_each_message_has_both_languages_with_the_same_number_of_values():
    def slots(template: str) -> int:
        return sum(1 for _, name, _, _ in Formatter().parse(template) if name is not None)

    for key, text in MESSAGES.items():
        assert set(text) == {"en", "vi"}, key
        assert slots(text["en"]) == slots(text["vi"]), key


def test_every_reason_the_loader_writes_reads_in_vietnamese(tmp_path: Path):
    wh = open_warehouse(tmp_path / "w.duckdb", load_config())
    bad = [
        dossier("ghost", "Q99", "2024-03-04 09:00"),
        dossier("weird", "Q1-BENNGHE", "2024-03-04 09:00", procedure="0.000000"),
        dossier("late", "Q1-BENNGHE", "2024-03-04 09:00", completed="2024-03-01 09:00"),
        dossier("pigeon", "Q1-BENNGHE", "2024-03-04 09:00", channel="pigeon"),
        dossier("ancient", "Q1-BENNGHE", "1999-03-04 09:00"),
    ]
    wh.load(Batch("desk", dossiers=dossiers(bad)))
    month = {"unit_code": "Q1", "period_start": date(2024, 3, 1), "grain": "month"}
    wh.load(Batch("sheet", reports=reports([
        {**month, "measure_code": "received", "value": 10.0},
        {**month, "measure_code": "received_online", "value": 12.0},
        {**month, "period_start": date(2024, 3, 5), "measure_code": "received", "value": 1.0},
        {**month, "measure_code": "bananas", "value": 1.0},
        {**month, "grain": "fortnight", "measure_code": "received", "value": 1.0},
    ])))  # fmt: skip
    stored = [r[0] for r in wh.cursor().execute("SELECT reason FROM quarantine").fetchall()]
    assert len(stored) == 9
    vi = {reason: words(reason, "vi") for reason in stored}
    assert all(vi[r] != r for r in stored), vi  # every one of them is a message of the list
    assert vi["unknown unit Q99"] == "đơn vị Q99 không có trong danh mục"
    assert vi["completed_at is before received_at"] == "completed_at sớm hơn received_at"
    assert vi["period_start 2024-03-05 does not start a month"] == (
        "period_start 2024-03-05 không phải ngày đầu của một month"
    )
    assert all(words(r, "en") == r for r in stored)


def test_a_reason_of_no_message_reads_as_stored():
    assert words("a reason written before messages were kept", "vi") == (
        "a reason written before messages were kept"
    )
    assert say("unreadable", "received_at") == "received_at: cannot read {}"
    frame = pl.DataFrame({"v": ["12a"]}).select(pl.format(say("unreadable", "due_at"), "v"))
    assert words(frame.item(), "vi") == "due_at: không đọc được 12a"


def test_the_sources_page_shows_quarantine_reasons_in_the_viewers_language(tmp_path, monkeypatch):
    import dash

    from config.settings import Settings
    from dashboards import _runtime

    config = load_config()
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    wh.load(Batch("desk", dossiers=dossiers([dossier("ghost", "Q99", "2024-03-04 09:00")])))
    monkeypatch.setattr(_runtime, "_current", _runtime.Runtime(Settings(), config, wh))
    dash.Dash(__name__, use_pages=True, pages_folder=str(tmp_path))  # a page module needs an app
    from dashboards.sources import quarantine_grid

    def shown(lang: str) -> tuple[str, str]:
        summary, grid = quarantine_grid(lang).children
        return grid.rowData[0]["reason"], summary.children[0].children

    assert shown("vi") == ("đơn vị Q99 không có trong danh mục",
                           "desk · đơn vị Q99 không có trong danh mục: 1")  # fmt: skip
    assert shown("en")[0] == "unknown unit Q99"


def test_the_national_portals_reasons_read_in_vietnamese():
    """The connector writes its rejects from the list too (its answers are JSON, not rows)."""
    from connectors.national_portal import PortalUnits, parse_response

    units = PortalUnits({"1": "Q1"}, {"T79.01": "Q1"})
    body = {"data": {"evaluation": [
        "not a department",
        {"departmentCode": "T79.99", "departmentName": "Ban quản lý chợ (lạ)"},
        {"departmentCode": "T79.01", "metrics": "many"},
        {"departmentCode": "T79.01", "totalScore": "12a", "metrics": [{"numerator": 3}]},
    ]}}  # fmt: skip
    _, rejects = parse_response("transparency", body, units, date(2026, 11, 1), "month")
    vi = [words(r.reason, "vi") for r in rejects]
    assert all(v != r.reason for v, r in zip(vi, rejects, strict=True)), vi
    assert "đơn vị T79.99 (Ban quản lý chợ (lạ)) của cổng quốc gia chưa gắn" in vi[1]
