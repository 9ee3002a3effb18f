"""Browser test: a department head opens their unit's page and sees the year-end projection
(said in the summary, drawn on the trend) and the open dossiers to escalate, counted per ward
and listed, in Vietnamese and English (issue 5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from base.calendar import add_months
from base.tz import local_today
from config import load_config
from metrics.targets import target_for
from tests.alerts.conftest import PROC, frame
from tests.conftest import create_user, sign_in, start_app
from warehouse import Batch, open_warehouse


def _dossier(did: str, unit: str, received: datetime, due: datetime, done: bool, online: bool):
    return {"dossier_id": did, "unit_code": unit, "procedure_code": PROC,
            "channel": "online" if online else "direct", "received_at": received,
            "due_at": due, "completed_at": received + timedelta(days=1) if done else None}  # fmt: skip


@pytest.fixture
def district_8(tmp_path):
    """District 8: in Ward 5, twelve closed months at exactly 50% online (20 dossiers each,
    done); in Wards 4 and 16, open dossiers at each escalation level, as of now."""
    now = datetime.now(UTC)
    this_month = local_today().replace(day=1)
    rows = []
    for k in range(1, 13):
        month = add_months(this_month, -k)
        received = datetime(month.year, month.month, 10, 3, tzinfo=UTC)
        rows += [_dossier(f"M{k}-{i}", "Q8-P05", received, received + timedelta(days=3), True,
                          i < 10) for i in range(20)]  # fmt: skip
    opened = now - timedelta(days=6)
    levels = {"green-1": ("Q8-P04", 5), "yellow-1": ("Q8-P04", -2), "yellow-2": ("Q8-P16", -30),
              "red-1": ("Q8-P16", -72), "red-2": ("Q8-P04", -100), "red-3": ("Q8-P16", -49),
              "later": ("Q8-P04", 30)}  # fmt: skip
    rows += [_dossier(did, unit, opened, now + timedelta(hours=h), False, False)
             for did, (unit, h) in levels.items()]  # fmt: skip
    config = load_config()
    wh = open_warehouse(tmp_path / "ioc.duckdb", config)
    assert wh.load(Batch("desk", dossiers=frame(rows))).status == "ok"
    wh.close()  # DuckDB: one process per file
    create_user(tmp_path, "hung", "department_head", unit="Q8")
    app = start_app(tmp_path, "--no-demo", "--no-scheduler")
    yield app, target_for(config, "online_rate", local_today().year, "Q8-P05")
    app.stop()


def test_a_unit_page_projects_the_year_end_and_lists_dossiers_to_escalate(
    page: Page, district_8, screenshot_dir
):
    app, target = district_8
    sign_in(page, app.url, "hung")
    page.goto(f"{app.url}/units/Q8-P05?metric=online_rate&grain=month&lang=en")
    expect(page.locator("#units-sla-none")).to_have_text("No open dossier to escalate")
    outlook = page.locator("#units-forecast")
    expect(outlook).to_contain_text("Year-end projection")
    expect(outlook).to_contain_text("50.0%")  # a flat 50% stays 50%
    expect(outlook).to_contain_text("Linear trend over 12 months")
    if target is None:
        expect(page.locator("#units-forecast-status")).to_have_text("·No target this year")
    else:
        expect(page.locator("#units-forecast-status")).to_contain_text("Off track for the target")
    legend = page.locator("#units-trend .legendtext")
    expect(legend.filter(has_text="Projection (trend)")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "units-forecast-en.png"))

    page.goto(f"{app.url}/units/Q8?metric=online_rate&grain=month&lang=en")
    # Counted by level: overdue 48 h or more is red, under 48 h yellow, due within 24 h green;
    # due in 30 h is not escalated yet.
    expect(page.locator("#units-sla-red .sla-count")).to_have_text("✖3")
    expect(page.locator("#units-sla-yellow .sla-count")).to_have_text("▲2")
    expect(page.locator("#units-sla-green .sla-count")).to_have_text("✔1")
    by_ward = page.locator("#units-sla-by-child tbody tr")
    expect(by_ward).to_have_count(2)
    expect(by_ward.nth(0)).to_contain_text("Ward 16")  # 2 red before Ward 4's 1
    listed = page.locator("#units-sla-list .ag-center-cols-container .ag-row")
    expect(listed).to_have_count(6)
    first = page.locator("#units-sla-list .ag-row[row-index='0']")
    expect(first).to_contain_text("red-2")  # the most overdue first
    expect(first).to_contain_text("4.2 days")
    expect(first).to_contain_text("Escalate to the agency head")
    # The level, the due time and how late are whole on a laptop's screen; names give way.
    for column in ("level_text", "due_at", "hours"):
        cell = first.locator(f".ag-cell[col-id='{column}']")
        assert cell.evaluate("c => c.scrollWidth <= c.clientWidth"), f"{column} is cut"
    with page.expect_download() as download:  # every escalated dossier, as CSV
        page.click("#units-sla-export")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    meta, table = text.split("\n\n", 1)
    assert "# unit: Q8" in meta and "# rows: 6" in meta
    lines = table.strip().splitlines()
    assert lines[0].startswith("Level,Dossier,unit_code,Unit")
    assert [line.split(",")[1] for line in lines[1:]] == [
        "red-2", "red-1", "red-3", "yellow-2", "yellow-1", "green-1"
    ]  # fmt: skip
    page.screenshot(path=str(screenshot_dir / "units-outlook-en.png"), full_page=True)

    page.goto(f"{app.url}/units/Q8?metric=online_rate&grain=month")
    expect(page.locator("#units-sla-red")).to_contain_text("Báo thủ trưởng cơ quan")
    page.goto(f"{app.url}/units/Q8-P05?metric=online_rate&grain=month")
    expect(page.locator("#units-forecast")).to_contain_text("Xu hướng tuyến tính 12 tháng")
    expect(page.locator("#units-forecast")).to_contain_text("50,0%")
    # A past year has no year-end left to project.
    page.goto(f"{app.url}/units/Q8-P05?metric=online_rate&grain=month"
              f"&start={local_today().year - 1}-01-01&end={local_today().year - 1}-12-31")  # fmt: skip
    expect(page.locator("#units-value")).to_be_visible()
    expect(page.locator("#units-forecast")).to_have_count(0)


def test_the_alerts_page_lists_the_units_projected_to_miss_a_target(page: Page, district_8):
    app, _ = district_8
    create_user(app.data_dir, "lan", "leader")
    sign_in(page, app.url, "lan")
    page.goto(f"{app.url}/alerts?lang=en")
    online = page.locator("#alerts-forecast tr.forecast-row[data-metric='online_rate']")
    expect(online).to_contain_text("Online dossier rate")
    expect(online).to_contain_text("1 of 1")  # no other district has data
    online.get_by_role("link", name=re.compile(r"^District 8 \d")).click()
    expect(page).to_have_url(re.compile(r"/units/Q8\?metric=online_rate&grain=month"))
    expect(page.locator("#units-forecast")).to_contain_text("Year-end projection")
    page.goto(f"{app.url}/alerts")
    online = page.locator("#alerts-forecast tr.forecast-row[data-metric='online_rate']")
    expect(online).to_contain_text("Tỷ lệ hồ sơ trực tuyến")
    expect(online).to_contain_text("1/1")
