"""Bad URL and callback input on the running app: an unknown unit, metric, grain or date gives a
clear message on the page, never a traceback; text that looks like SQL is only ever a value."""

from __future__ import annotations

import pytest

from bench.dash_client import router_request
from tests.access.test_access_web import explore_body, overdue_body, post
from tests.conftest import http_session


@pytest.fixture(scope="module")
def admin(demo_app):
    return http_session(demo_app.url, "admin")


@pytest.mark.parametrize(
    ("path", "search", "says"),
    [
        ("/units/NOPE", "?lang=en", "NOPE"),
        ("/units/Q1' OR 1=1 --", "?lang=en", "OR 1=1"),
        ("/units/Q1", "?metric=nope&lang=en", "unknown metric 'nope'"),
        ("/units/Q1", "?grain=hour&lang=en", "unknown grain 'hour'"),
        ("/units/Q1", "?start=2026-99-01&lang=en", "month must be in 1..12"),
        ("/units/Q1", "?start=2026-05-01&end=2026-01-01&lang=en", "before the start"),
        ("/units/Q1", "?sector=%27;DROP%20TABLE%20dossier;--&lang=en", "unknown sector"),
    ],
)
def test_bad_drill_down_urls_say_what_is_wrong(demo_app, admin, path, search, says):
    r = post(admin, demo_app.url, router_request(path, search))
    assert r.status_code == 200
    assert "units-error" in r.text and says in r.text
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"explore-metrics": ["nope"]}, "unknown metric"),
        ({"explore-grain": "hour"}, "unknown grain"),
        ({"explore-unit": "Q1'; DROP TABLE dossier; --"}, "unknown unit"),
        ({"explore-range": "not-a-date"}, "Invalid isoformat"),
        ({"explore-group": "password"}, "cannot group by"),
    ],
)
def test_bad_explorer_inputs_say_what_is_wrong(demo_app, admin, change, says):
    body = explore_body(None)
    for item in body["inputs"]:
        if item["id"] in change:
            item["value"] = change[item["id"]]
    r = post(admin, demo_app.url, body)
    assert r.status_code == 200, r.text
    resp = r.json()["response"]
    assert resp["explore-grid"]["rowData"] == []
    assert says in str(resp["explore-error"])


def test_sort_columns_outside_the_whitelist_are_ignored(demo_app, admin):
    body = overdue_body("Q8")
    body["inputs"][0]["value"]["sortModel"] = [
        {"colId": "dossier_id; DROP TABLE dossier", "sort": "asc"},
        {"colId": "days_late", "sort": "desc; DROP TABLE dossier"},
    ]
    r = post(admin, demo_app.url, body)
    assert r.status_code == 200 and r.json()["response"]["units-overdue"]["getRowsResponse"]
    health = admin.get(demo_app.url + "/healthz", timeout=10).json()
    assert health["status"] == "ok"


def test_bad_wall_parameters_fall_back_to_the_defaults(demo_app, admin):
    r = post(admin, demo_app.url, router_request("/wall", "?board=nope&refresh=abc&rotate=%00"))
    assert r.status_code == 200 and "wall-map" in r.text
