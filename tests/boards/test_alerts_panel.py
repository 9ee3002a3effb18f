"""The alerts page draws its alert tables first; the year-end projections come in a callback of
their own (dashboards/alerts.py: forecast_panel), like the unit pages' panels."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers import dossier, load


def _load_a_day(wh) -> None:
    day = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    load(wh, [dossier(f"d{i}", "Q1-BENNGHE", day, channel="online") for i in range(10)])


def _page(server) -> str:
    from dashboards import alerts

    with server.test_request_context("/alerts"):
        return str(alerts.layout(lang="en"))


def _panel(server) -> str:
    from dashboards import alerts

    with server.test_request_context("/_dash-update-component"):
        return str(alerts.forecast_panel("en"))


def test_the_page_holds_a_placeholder_that_the_projections_fill(wh, server):
    _load_a_day(wh)
    page = _page(server)
    assert "alerts-forecast-loading" in page and "forecast-row" not in page
    assert "alerts-body" in page
    filled = _panel(server)
    assert "forecast-row" in filled and "Online dossier rate" in filled


def test_projections_that_cannot_be_read_say_so_and_the_page_stands(wh, server, caplog):
    _load_a_day(wh)
    wh.cursor().execute("DROP TABLE fact_month")  # the month rollup: a real DuckDB error
    filled = _panel(server)
    assert "alerts-forecast-failed" in filled and "could not be read" in filled
    assert "forecast-row" not in filled
    assert "the year-end projections of HCM failed" in caplog.text
    page = _page(server)  # the alert tables do not read it: they stand
    assert "alerts-active" in page and "alerts-history" in page
