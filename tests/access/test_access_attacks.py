"""Requests an insider would craft against the running app (issue 24, classes 2-5 and 8): two
readings of one callback request, an action fired through another property, a cookie kept
after signing out, concurrent and distributed password guesses, oversized grid pages, open
redirects and values of the wrong shape. Each is built by hand, as an attacker sends it.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench.dash_client import overdue_request, router_request
from tests.access.test_access_web import CB, VIEW, ack_body, audit, post
from tests.conftest import create_user, http_session, start_app

# --- class 2: the guard checks exactly what Dash runs -----------------------------------------


def _two_paths(first: str, second: str) -> dict:
    body = router_request(first)
    body["inputs"].insert(1, {"id": "_pages_location", "property": "pathname", "value": second})
    return body


def _variants_of_a_steered_router(checked: str, rendered: str) -> list[dict]:
    """Router requests that one reader would take for `checked` and another for `rendered`."""
    dup_first = _two_paths(rendered, checked)  # the same id twice, in both orders
    dup_last = _two_paths(checked, rendered)
    in_state = router_request(rendered)  # the path once more in the state
    in_state["state"] = [{"id": "_pages_location", "property": "pathname", "value": checked}]
    renamed = router_request(rendered)  # Dash reads inputs by position, whatever their ids say
    renamed["inputs"][0]["id"] = "wall-poll"
    renamed["state"] = [{"id": "_pages_location", "property": "pathname", "value": checked}]
    outs = router_request(rendered)  # `outputs` of the wall, the router's key
    outs["outputs"] = [{"id": "wall-body", "property": "children"}]
    key = router_request(rendered)  # the wall's outputs, another callback's key
    key["output"] = "wall-body.children"
    wild = router_request(rendered)
    wild["changedPropIds"] = ["_pages_location.hash"]
    return [dup_first, dup_last, in_state, renamed, outs, key, wild]


def test_a_department_head_cannot_steer_the_router_to_another_units_page(demo_app):
    s = http_session(demo_app.url, "head.q8")
    for body in _variants_of_a_steered_router("/wall", "/units/Q1"):
        r = post(s, demo_app.url, body)
        assert r.status_code in (400, 403), (body, r.status_code)
        assert "units-trend" not in r.text and "Q1-" not in r.text
    assert audit(demo_app, "callback_refused")[0]["actor"] == "head.q8"
    # The honest requests still work: their own unit, and the city's wall.
    assert "units-trend" in post(s, demo_app.url, router_request("/units/Q8")).text
    assert "wall-map" in post(s, demo_app.url, router_request("/wall")).text


def test_a_wall_token_cannot_steer_the_router_to_the_other_pages(demo_app):
    from access.store import UserStore

    store = UserStore(f"sqlite:///{demo_app.data_dir / 'users.sqlite'}")
    _, plain = store.issue_token("attack test", "test")
    wall = requests.Session()
    wall.get(f"{demo_app.url}/wall?token={plain}", timeout=10)
    wall.csrf = wall.cookies["_csrf_token"]
    for page in ("/explore", "/sources", "/alerts", "/units/Q1"):
        for body in _variants_of_a_steered_router("/wall", page):
            r = post(wall, demo_app.url, body)
            assert r.status_code in (400, 403), (page, body, r.status_code)
            assert "explore-grid" not in r.text and "sources-feeds" not in r.text
            assert "alerts-body" not in r.text and "units-trend" not in r.text
    assert "wall-map" in post(wall, demo_app.url, router_request("/wall")).text


def test_the_wall_lifts_a_heads_scope_only_in_its_own_code(demo_app):
    """A department head's scope is on in every callback; only the wall's board reads the
    city, by its own choice, so a request the guard took for the wall still reads no unit."""
    from metrics import scope

    calls = []

    @scope.city_wide
    def board() -> str | None:
        calls.append(scope.current_unit())
        return scope.current_unit()

    with scope.restricted("Q8"):
        assert board() is None and scope.current_unit() == "Q8"
    assert calls == [None]


# --- class 3: actions decided by the component, every try audited -----------------------------


def _with_changed(body: dict, changed: list[str], **values) -> dict:
    body = copy.deepcopy(body)
    body["changedPropIds"] = changed
    for e in body["inputs"]:
        if e["id"] in values:
            e["value"] = values[e["id"]]
    return body


def test_an_action_cannot_be_fired_through_another_property(demo_app):
    analyst = http_session(demo_app.url, "analyst")

    def tries() -> dict[int, dict]:
        return {a["id"]: a for k in ("alert.silence", "alert.acknowledge", "callback_refused")
                for a in audit(demo_app, k)}  # fmt: skip

    before = tries()
    variants = [
        _with_changed(ack_body(), ["alerts-ack.n_clicks_timestamp"]),
        _with_changed(ack_body(), ["alerts-silence.n_clicks_timestamp"]),
        _with_changed(ack_body(), ["alerts-silence.n_clicks"], **{"alerts-silence": 1}),
        _with_changed(ack_body(), ["alerts-ack.n_clicks", "alerts-filter-unit.value"]),
        _with_changed(ack_body(), ['{"type":"alerts-ack"}.n_clicks']),
    ]
    for body in variants:
        r = post(analyst, demo_app.url, body)
        assert r.status_code in (400, 403), (body["changedPropIds"], r.status_code)
        assert "alerts-action-ok" not in r.text
    new = [a for i, a in tries().items() if i not in before]
    assert len(new) == len(variants) and not any(a["ok"] for a in new)
    assert all(a["actor"] == "analyst" for a in new)
    # A leader may acknowledge but not silence, by whichever property the request names.
    leader = http_session(demo_app.url, "leader")
    silence = _with_changed(ack_body(), ["alerts-silence.n_clicks"], **{"alerts-silence": 1})
    assert post(leader, demo_app.url, silence).status_code == 403
    run = {
        "output": "sources-message.children",
        "outputs": {"id": "sources-message", "property": "children"},
        "inputs": [[{"id": {"feed": "demo_justice_survey", "type": "sources-run"},
                     "property": "disabled", "value": False}]],
        "changedPropIds": ['{"feed":"demo_justice_survey","type":"sources-run"}.disabled'],
        "state": [{"id": "_pages_location", "property": "search", "value": ""}],
    }  # fmt: skip
    assert post(analyst, demo_app.url, run).status_code in (400, 403)


def test_allowed_actions_are_audited_as_done(demo_app):
    admin = http_session(demo_app.url, "admin")
    r = post(admin, demo_app.url, ack_body("no-such-alert"))
    assert r.status_code == 200
    entry = audit(demo_app, "alert.acknowledge")[0]
    assert entry["actor"] == "admin" and entry["ok"] and "no-such-alert" in entry["detail"]


def test_the_callbacks_check_the_role_again():
    from access.policy import Principal, may_act

    analyst, leader = Principal("a", "analyst"), Principal("l", "leader")
    assert not may_act(analyst, "alerts-ack") and may_act(leader, "alerts-ack")
    assert not may_act(leader, "alerts-silence") and not may_act(None, "sources-run")
    assert may_act(analyst, "alerts-filter-unit")


# --- class 8: pages, redirects, shapes --------------------------------------------------------


def test_a_grid_page_is_capped_on_the_server(demo_app):
    s = http_session(demo_app.url, "admin")
    body = overdue_request({"unit": "HCM", **VIEW})
    body["inputs"][0]["value"] = {"startRow": 0, "endRow": 999_999, "sortModel": []}
    r = post(s, demo_app.url, body)
    assert r.status_code == 200
    page = r.json()["response"]["units-overdue"]["getRowsResponse"]
    assert page["rowCount"] > 500 and len(page["rowData"]) == 500
    body["inputs"][0]["value"] = {"startRow": -50, "endRow": "abc"}
    assert post(s, demo_app.url, body).status_code == 400


@pytest.mark.parametrize("target", ["//evil.example/x", "/\t/evil.example", "/\\evil.example",
                                    "https://evil.example", "/%0d%0aSet-Cookie:x=1",
                                    "/\nLocation: //evil.example", " //evil.example"])  # fmt: skip
def test_sign_in_never_redirects_off_the_site(demo_app, target):
    s = requests.Session()
    s.get(demo_app.url + "/login", timeout=10)
    r = s.post(demo_app.url + "/login", allow_redirects=False, timeout=10,
               data={"username": "admin", "password": "ioc-demo-password", "next": target,
                     "csrf_token": s.cookies["_csrf_token"]})  # fmt: skip
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location == "/" or location == target == "/%0d%0aSet-Cookie:x=1"


def _dependencies(s: requests.Session, url: str) -> list[dict]:
    return s.get(url + "/_dash-dependencies", timeout=10).json()


def _fuzzed(dep: dict, value) -> dict | None:
    """A body for callback `dep` with every input and state set to `value` (None when a
    pattern-matching dependency would need a list of components)."""

    def entry(d: dict) -> dict | None:
        if d["id"].startswith("{"):
            return None
        return {"id": d["id"], "property": d["property"], "value": value}

    inputs = [entry(d) for d in dep["inputs"]]
    state = [entry(d) for d in dep["state"]]
    if None in inputs or None in state or dep["output"].count("{"):
        return None
    key = dep["output"]
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    outs = [{"id": p.rpartition(".")[0], "property": p.rpartition(".")[2]} for p in parts]
    return {
        "output": key,
        "outputs": outs if key.startswith("..") else outs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"] if inputs else [],
    }


def test_values_of_the_wrong_shape_are_a_bad_request_not_a_crash(demo_app):
    s = http_session(demo_app.url, "admin")
    deps = [d for d in _dependencies(s, demo_app.url) if not d.get("clientside_function")]
    sent = 0
    for value in ({"code": {"$ne": 1}}, "abc", [1, [2]], -1):
        for dep in deps:
            body = _fuzzed(dep, value)
            if body is None:
                continue
            r = post(s, demo_app.url, body)
            sent += 1
            assert r.status_code in (200, 204, 400, 403), (dep["output"], value, r.text[:300])
    assert sent > 40
    assert requests.get(demo_app.url + "/healthz", timeout=10).status_code == 200


# --- classes 4 and 5: sessions and sign-in limits ---------------------------------------------


@pytest.fixture(scope="module")
def proxied_app(tmp_path_factory):
    """No demo data; behind one proxy, so each test client can speak from its own address."""
    data = tmp_path_factory.mktemp("attack-app")
    create_user(data, "lan", "leader", "a-long-password-1")
    create_user(data, "minh", "analyst", "a-long-password-2")
    create_user(data, "tuan", "analyst", "a-long-password-4")
    app = start_app(data, "--no-demo", "--no-scheduler",
                    env={"IOC_PROXY_HOPS": "1", "IOC_SECRET_KEY": "k" * 40})  # fmt: skip
    yield app
    app.stop()


def _sign_in(url: str, user: str, password: str, address: str) -> requests.Response:
    s = requests.Session()
    s.headers["X-Forwarded-For"] = address
    s.get(url + "/login", timeout=10)
    r = s.post(url + "/login", allow_redirects=False, timeout=30,
               data={"username": user, "password": password,
                     "csrf_token": s.cookies["_csrf_token"]})  # fmt: skip
    r.session = s  # type: ignore[attr-defined]
    return r


def _signed_in(s: requests.Session, url: str) -> bool:
    return s.get(url + "/explore", allow_redirects=False, timeout=10).status_code == 200


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(proxied_app):
    url = proxied_app.url
    r = _sign_in(url, "minh", "a-long-password-2", "10.7.0.1")
    assert r.status_code == 302
    s = r.session
    copied = requests.Session()
    copied.headers["X-Forwarded-For"] = "10.7.0.99"
    copied.cookies.update(s.cookies.get_dict())
    assert _signed_in(s, url) and _signed_in(copied, url)
    s.get(url + "/logout", timeout=10)
    assert not _signed_in(copied, url)
    body = router_request("/explore")
    r = copied.post(url + CB, json=body, timeout=10,
                    headers={"X-CSRFToken": copied.cookies.get("_csrf_token", "")})  # fmt: skip
    assert r.status_code == 401


def test_a_new_password_or_role_ends_the_other_sessions(proxied_app):
    url = proxied_app.url
    a = _sign_in(url, "minh", "a-long-password-2", "10.7.0.2").session
    b = _sign_in(url, "minh", "a-long-password-2", "10.7.0.3").session
    assert _signed_in(a, url) and _signed_in(b, url)
    r = a.post(url + "/account/password", timeout=30,
               data={"current": "a-long-password-2", "new": "a-new-long-password-3",
                     "csrf_token": a.cookies["_csrf_token"]})  # fmt: skip
    assert r.status_code == 200 and "account-message" in r.text
    assert _signed_in(a, url) and not _signed_in(b, url)  # this one goes on, the other ends
    from access.store import UserStore

    UserStore(f"sqlite:///{proxied_app.data_dir / 'users.sqlite'}").set_role("minh", "leader")
    time.sleep(5.5)  # another process changed it: the app re-reads within 5 s
    assert not _signed_in(a, url)


def test_concurrent_guesses_cannot_pass_the_limit_together(proxied_app):
    def guess(_):
        return _sign_in(proxied_app.url, "tuan", "wrong-password-x", "10.8.0.1").status_code

    with ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(guess, range(12)))
    assert codes.count(401) == 5 and codes.count(429) == 7, codes


def test_strangers_cannot_lock_the_owner_out(proxied_app):
    url = proxied_app.url
    assert _sign_in(url, "lan", "a-long-password-1", "10.9.9.9").status_code == 302  # known
    for n in range(4):  # 20 wrong guesses from four addresses: the account-wide limit
        for _ in range(5):
            assert _sign_in(url, "lan", "wrong-password-y", f"10.6.0.{n}").status_code == 401
    assert _sign_in(url, "lan", "wrong-password-y", "10.6.0.0").status_code == 429
    assert _sign_in(url, "lan", "a-long-password-1", "10.6.1.1").status_code == 429  # a stranger
    assert _sign_in(url, "lan", "a-long-password-1", "10.9.9.9").status_code == 302  # the owner
    blocked = audit(proxied_app, "sign_in_blocked")
    assert blocked and blocked[0]["ip"] == "10.6.1.1"
    assert audit(proxied_app, "sign_in")[0]["ip"] == "10.9.9.9"


@pytest.mark.parametrize("query", ["limit=abc", "limit=-5&source=%00", "limit=1e9",
                                   "source[]=x&limit=", "limit=99999999999999999999"])  # fmt: skip
def test_malformed_api_parameters_are_a_bad_request(demo_app, query):
    s = http_session(demo_app.url, "admin")
    r = s.get(f"{demo_app.url}/api/quarantine?{query}", timeout=30)
    assert r.status_code in (200, 400), r.text[:300]
    if r.status_code == 200:
        assert len(r.json()) <= 5000


@pytest.mark.parametrize("path", ["/public/dti?period=abc&grain=%7B%7D", "/public/dti.csv?grain=x",
                                  "/wall?refresh=abc&board=%00", "/login?next=%0a//evil",
                                  "/units/%7B%22a%22%3A1%7D", "/explore?metrics=%00&grain=zz"])  # fmt: skip
def test_malformed_page_parameters_never_crash(demo_app, path):
    s = http_session(demo_app.url, "admin")
    r = s.get(demo_app.url + path, timeout=30, allow_redirects=False)
    assert r.status_code in (200, 302, 400, 404), (path, r.status_code)
    page = path.split("?")[0]
    if page.startswith(("/wall", "/units", "/explore")):  # the Dash page renders by callback
        r = post(s, demo_app.url, router_request(page, "?" + path.partition("?")[2]))
        assert r.status_code in (200, 400), (path, r.status_code, r.text[:300])
