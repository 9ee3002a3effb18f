"""A unit page paints its top sections first; the programmes section below them comes in a
second callback (dashboards/units.py: programmes), like a dashboard panel."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers import dossier, load


def _load_a_day(wh) -> None:
    day = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    load(wh, [dossier(f"d{i}", "Q1-BENNGHE", day, channel="online") for i in range(10)])


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
