"""The view of time (issue 25, item 3) as the `view` URL parameter of the drill-down and the
explorer: read with the pages' other parameters, left out of links at its default, carried by the
unit page's link to the explorer, named in the explorer's exports, and, on the running demo app
(no successions: both views count the same), the same figures in both views."""

from __future__ import annotations

import base64
import json
from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

from bench.dash_client import router_request
from config import load_config
from dashboards import _export
from dashboards._explore_link import controls_from_query, defaults, view_of
from dashboards._view import UnitView, view_from_query
from tests.access.test_access_web import explore_body, export_body, post, spec
from tests.conftest import http_session

TODAY = date(2026, 6, 15)


@pytest.fixture(scope="module")
def config():
    return load_config()


def _split(href: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(href)
    return parts.path, dict(parse_qsl(parts.query))


# --- the URL, parsed and built ------------------------------------------------------------------


def test_the_unit_pages_view_round_trips_through_its_url(config):
    v = view_from_query(config, "Q1", {"view": "as_was", "grain": "quarter", "lang": "en"}, TODAY)
    assert v.view == "as_was"
    path, q = _split(v.href())
    assert path == "/units/Q1" and q["view"] == "as_was"
    assert view_from_query(config, "Q1", q, TODAY) == v
    assert UnitView.from_json(v.to_json()) == v  # the view store keeps it
    # A breadcrumb or clicked bar (a replaced view) keeps it too.
    assert _split(v.replace(unit="Q8").href())[1]["view"] == "as_was"


def test_the_default_view_is_left_out_of_links(config):
    v = view_from_query(config, "Q1", {}, TODAY)
    assert v.view == "today"
    assert "view" not in _split(v.href())[1]
    assert "view" not in _split(v.explorer_href(config.root.code))[1]
    assert view_from_query(config, "Q1", {"view": "today"}, TODAY) == v
    # A store written before the parameter existed opens today's units.
    old = {k: x for k, x in v.to_json().items() if k != "view"}
    assert UnitView.from_json(old).view == "today"


def test_an_unknown_view_on_the_unit_page_is_an_error_it_names(config):
    with pytest.raises(ValueError, match="unknown view 'nonsense'"):
        view_from_query(config, "Q1", {"view": "nonsense"}, TODAY)


def test_the_unit_pages_explorer_link_keeps_the_view(config):
    v = view_from_query(config, "Q1", {"view": "as_was"}, TODAY)
    path, q = _split(v.explorer_href(config.root.code))
    assert path == "/explore" and q["view"] == "as_was"
    values, ignored = controls_from_query(config, q, defaults(TODAY, None), lambda code: True)
    assert ignored == [] and values["unit"] == "Q1"
    assert view_of(q) == "as_was"


def test_the_explorer_reads_the_view_and_names_an_unknown_one(config):
    base = defaults(TODAY, None)
    assert view_of({}) == "today" and view_of({"view": "today"}) == "today"
    assert controls_from_query(config, {"view": "as_was"}, base, lambda c: True)[1] == []
    values, ignored = controls_from_query(config, {"view": "nonsense"}, base, lambda c: True)
    assert values == base and ignored == ["view=nonsense"]
    assert view_of({"view": "nonsense"}) == "today"  # kept at its default, as other parts


def test_the_export_metadata_names_the_view():
    meta = [("title", "x"), _export.view_line("as_was")]
    text = _export.to_csv([("a", "A")], [{"a": 1}], meta).decode("utf-8-sig")
    assert "# view: as it was" in text
    assert _export.view_line("today")[1].startswith("today's units")


# --- the running demo app -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin(demo_app):
    return http_session(demo_app.url, "admin")


def _props_by_id(tree) -> dict[str, dict]:
    """Every component of a rendered page with an id: its props."""
    found: dict[str, dict] = {}

    def walk(node) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                found[props["id"]] = props
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return found


def _unit_page(admin, url: str, search: str) -> dict[str, dict]:
    r = post(admin, url, router_request("/units/Q1", search))
    assert r.status_code == 200, r.text[:500]
    assert "units-error" not in r.text
    return _props_by_id(r.json()["response"]["_pages_content"]["children"])


def test_the_unit_page_as_it_was_answers_with_the_same_figures(demo_app, admin):
    today = _unit_page(admin, demo_app.url, "?lang=en")
    as_was = _unit_page(admin, demo_app.url, "?lang=en&view=as_was")
    assert today["units-view-mode"]["value"] == "today"
    assert as_was["units-view-mode"]["value"] == "as_was"
    assert as_was["units-view"]["data"]["view"] == "as_was"
    assert "view=as_was" in as_was["units-explore"]["href"]
    assert "view=" not in today["units-explore"]["href"]
    graphs = [i for i, p in today.items() if "figure" in p]
    assert "units-trend" in graphs and "units-children" in graphs
    for graph in graphs:
        assert as_was[graph]["figure"] == today[graph]["figure"], graph
    assert as_was["units-value"] == today["units-value"]


def test_an_unknown_view_gives_the_pages_unknown_message(demo_app, admin):
    r = post(admin, demo_app.url, router_request("/units/Q1", "?view=nonsense&lang=en"))
    assert r.status_code == 200
    assert "units-error" in r.text and "unknown view 'nonsense'" in r.text
    assert "Traceback" not in r.text
    r = post(admin, demo_app.url, router_request("/explore", "?view=nonsense&lang=en"))
    assert r.status_code == 200
    page = _props_by_id(r.json()["response"]["_pages_content"]["children"])
    assert "view=nonsense" in json.dumps(page["explore-link-ignored"])
    assert page["explore-view-mode"]["value"] == "today"


def _explore(admin, url: str, search: str) -> dict:
    body = explore_body(None)
    body["state"][0]["value"] = search
    r = post(admin, url, body)
    assert r.status_code == 200, r.text[:500]
    return r.json()["response"]


def test_the_explorer_as_it_was_answers_with_the_same_figures(demo_app, admin):
    r = post(admin, demo_app.url, router_request("/explore", "?view=as_was&lang=en"))
    assert r.status_code == 200
    page = _props_by_id(r.json()["response"]["_pages_content"]["children"])
    assert page["explore-view-mode"]["value"] == "as_was" and "explore-link-ignored" not in page
    today = _explore(admin, demo_app.url, "?lang=en")
    as_was = _explore(admin, demo_app.url, "?lang=en&view=as_was")
    assert today["explore-spec"]["data"]["view"] == "today"
    assert as_was["explore-spec"]["data"]["view"] == "as_was"
    assert as_was["explore-error"]["children"] is None
    assert today["explore-grid"]["rowData"]
    assert as_was["explore-grid"]["rowData"] == today["explore-grid"]["rowData"]
    # An unknown view in the URL: today's figures (the page said it left the part out).
    nonsense = _explore(admin, demo_app.url, "?lang=en&view=nonsense")
    assert nonsense["explore-grid"]["rowData"] == today["explore-grid"]["rowData"]


@pytest.mark.parametrize(("view", "says"), [("as_was", "as it was"), (None, "today's units")])
def test_the_explorers_export_names_the_view(demo_app, admin, view, says):
    body = export_body(None)
    if view is not None:
        body["state"][0]["value"] = {**spec(None), "view": view}
    r = post(admin, demo_app.url, body)
    assert r.status_code == 200, r.text[:500]
    content = r.json()["response"]["explore-download"]["data"]["content"]
    text = base64.b64decode(content).decode("utf-8-sig")
    assert f"# view: {says}" in text


def test_the_unit_pages_switch_writes_the_view_into_the_url(server):
    from dashboards import units

    v = UnitView("Q1", "on_time_rate", "month", date(2025, 7, 1), TODAY, lang="en")
    controls = ("on_time_rate", "month", "2025-07-01", TODAY.isoformat())
    clicks = (None, None, None, None)
    # The callback as Dash runs it when the switch changes (`ctx.triggered_id` is the switch).
    token = context_value.set(
        AttributeDict(triggered_inputs=[{"prop_id": "units-view-mode.value"}])
    )
    try:
        with server.test_request_context("/_dash-update-component"):
            href = units.navigate(*controls, "as_was", *clicks, v.to_json())
            assert _split(href)[1]["view"] == "as_was"
            back = units.navigate(*controls, "today", *clicks, v.replace(view="as_was").to_json())
            assert "view" not in _split(back)[1]
            # A value the control cannot send keeps the view as it is.
            same = units.navigate(*controls, "nonsense", *clicks, v.replace(grain="week").to_json())
            assert "view" not in _split(same)[1] and _split(same)[1]["grain"] == "month"
    finally:
        context_value.reset(token)
