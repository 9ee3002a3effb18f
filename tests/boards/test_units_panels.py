"""A unit page paints its top sections first; its programmes section and its escalation come in
callbacks of their own (dashboards/units.py: programmes, escalation_panel), like dashboard
panels."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers import dossier, load


def _load_a_day(wh) -> None:
    """Ten open dossiers of yesterday (due in two days) and one a day overdue by three (red)."""
    day = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    late = (datetime.now() - timedelta(days=4)).strftime("%Y-%m-%d 09:00")
    load(wh, [dossier(f"d{i}", "Q1-BENNGHE", day, channel="online") for i in range(10)]
         + [dossier("late", "Q1-BENNGHE", late, due_days=1)])  # fmt: skip


def _page_and_view(server, code: str):
    from dashboards import units

    with server.test_request_context(f"/units/{code}"):
        page = units.layout(code, lang="en")
    return page, page["units-view"].data


def test_the_page_holds_a_placeholder_that_its_second_callback_fills(wh, server):
    from dashboards import units

    _load_a_day(wh)
    page, view = _page_and_view(server, "Q1-BENNGHE")
    assert "units-programmes-loading" in str(page) and "units-prog-" not in str(page)
    with server.test_request_context("/_dash-update-component"):
        section = str(units.programmes(view))
    assert "units-prog-qr-count" in section and "Digital-government programmes" in section


def test_a_section_that_cannot_be_read_says_so_and_the_page_stands(wh, server, caplog):
    from dashboards import units

    _load_a_day(wh)
    page, view = _page_and_view(server, "Q1-BENNGHE")
    wh.cursor().execute("DROP TABLE fact_hour")  # the heat map's rollup: a real DuckDB error
    with server.test_request_context("/_dash-update-component"):
        section = str(units.programmes(view))
    assert "units-programmes-failed" in section and "could not be read" in section
    assert "units-prog-" not in section
    assert "the programmes section of Q1-BENNGHE failed" in caplog.text
    assert "units-trend" in str(page)  # the figures above were drawn before, and stay


def test_the_escalation_comes_in_its_own_panel_its_counts_in_the_summary(wh, server):
    from dashboards import units

    _load_a_day(wh)
    page, view = _page_and_view(server, "Q1-BENNGHE")
    drawn = str(page)
    assert "units-sla-loading" in drawn and "units-escalation-loading" in drawn
    assert "units-sla-red" not in drawn and "units-sla-list" not in drawn
    with server.test_request_context("/_dash-update-component"):
        strip, card = units.escalation_panel(view)
    assert "units-sla-loading" not in str(strip)
    assert strip["units-sla-red"].children[0].children[1] == "1"  # the one red dossier
    assert strip["units-sla-yellow"].children[0].children[1] == "0"
    assert card["units-sla-list"].rowData[0]["dossier_id"] == "late"


def test_an_escalation_that_cannot_be_read_says_so_and_the_page_stands(wh, server, caplog):
    from dashboards import units

    _load_a_day(wh)
    page, view = _page_and_view(server, "Q1-BENNGHE")
    wh.cursor().execute("DROP TABLE late_or_open")  # what the escalation reads: a real error
    with server.test_request_context("/_dash-update-component"):
        strip, card = units.escalation_panel(view)
    assert "units-sla-failed" in str(strip) and "units-escalation-failed" in str(card)
    assert "could not be read" in str(card) and "units-sla-red" not in str(strip)
    assert "the escalation of Q1-BENNGHE failed" in caplog.text
    assert "units-trend" in str(page)


def test_the_summary_gives_the_period_before_that_its_change_is_from(wh, server):
    """March 2026: 3 online of 4 (75%); the period before (February): 1 of 4 (25%)."""
    from dashboards import units

    def month(prefix: str, day: str, online: int) -> list[dict]:
        return [dossier(f"{prefix}{i}", "Q1-BENNGHE", f"{day} 09:00",
                        channel="online" if i < online else "direct") for i in range(4)]  # fmt: skip

    load(wh, month("M", "2026-03-10", 3) + month("F", "2026-02-10", 1))
    args = {"metric": "online_rate", "start": "2026-03-01", "end": "2026-03-31", "lang": "en"}
    with server.test_request_context("/units/Q1-BENNGHE"):
        page = units.layout("Q1-BENNGHE", **args)
        empty = units.layout("Q1-BENNGHE", **{**args, "start": "2026-02-01", "end": "2026-02-28"})
    change = page["units-change"]
    assert change.children == "+50.0 pts vs previous period (25.0%)"
    assert change.title == "1 of 4"
    # February against January, which has nothing: no change and no data, not 0.
    assert empty["units-change"].children == "– vs previous period (no data)"
    assert empty["units-change"].title is None
