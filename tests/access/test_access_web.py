"""Access control against the real app, with requests built by hand: what a crafted Dash callback,
export or action request gets back for a unit outside the asker's scope, a page outside their
role, a missing CSRF token, a wall token (valid, then revoked); sign-in rate limits; the audit
log; security headers; production without a secret; the trusted proxy header; the non-demo path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date

import pytest
import requests

from access.store import UserStore
from bench.dash_client import overdue_request, panel_request, router_request
from tests.conftest import (
    REPO_ROOT,
    cli_headers,
    create_user,
    free_port,
    http_session,
    start_app,
)

CB = "/_dash-update-component"
VIEW = {"metric": "on_time_rate", "grain": "month", "start": "2025-01-01", "end": "2026-10-31",
        "sector": None, "procedure": None, "lang": "en"}  # fmt: skip


def overdue_body(unit: str) -> dict:
    return overdue_request({"unit": unit, **VIEW})


def spec(unit: str | None) -> dict:
    return {"metrics": ["online_rate"], "grain": "month", "start": "2026-01-01",
            "end": "2026-06-30", "group": "unit", "unit": unit, "sectors": [], "channels": [],
            "chart": "line", "lang": "en"}  # fmt: skip


def explore_body(unit: str | None) -> dict:
    s = spec(unit)
    outs = ["explore-spec.data", "explore-graph.figure", "explore-grid.columnDefs",
            "explore-grid.rowData", "explore-count.children", "explore-error.children"]  # fmt: skip
    return {
        "output": ".." + "...".join(outs) + "..",
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in outs],
        "inputs": [{"id": "explore-metrics", "property": "value", "value": s["metrics"]},
                   {"id": "explore-grain", "property": "value", "value": s["grain"]},
                   {"id": "explore-range", "property": "start_date", "value": s["start"]},
                   {"id": "explore-range", "property": "end_date", "value": s["end"]},
                   {"id": "explore-group", "property": "value", "value": "unit"},
                   {"id": "explore-unit", "property": "value", "value": unit},
                   {"id": "explore-sectors", "property": "value", "value": []},
                   {"id": "explore-channels", "property": "value", "value": []},
                   {"id": "explore-chart", "property": "value", "value": "line"},
                   {"id": "explore-compare", "property": "value", "value": None},
                   {"id": "explore-procedures", "property": "value", "value": []}],
        "changedPropIds": ["explore-unit.value"],
        "state": [{"id": "_pages_location", "property": "search", "value": "?lang=en"}],
    }  # fmt: skip


def export_body(unit: str | None, fmt: str = "csv") -> dict:
    return {
        "output": "explore-download.data",
        "outputs": {"id": "explore-download", "property": "data"},
        "inputs": [{"id": "explore-csv", "property": "n_clicks", "value": 1 if fmt == "csv" else None},
                   {"id": "explore-xlsx", "property": "n_clicks", "value": 1 if fmt == "xlsx" else None}],
        "changedPropIds": [f"explore-{fmt}.n_clicks"],
        "state": [{"id": "explore-spec", "property": "data", "value": spec(unit)},
                  {"id": "explore-grid", "property": "virtualRowData", "value": None}],
    }  # fmt: skip


def ack_body(key: str = "online_rate_district/Q8") -> dict:
    outs = ["alerts-body.children", "alerts-action-msg.children", "alerts-action-key.options"]
    return {
        "output": ".." + "...".join(outs) + "..",
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in outs],
        "inputs": [{"id": "alerts-filter-severity", "property": "value", "value": None},
                   {"id": "alerts-filter-metric", "property": "value", "value": None},
                   {"id": "alerts-filter-unit", "property": "value", "value": None},
                   {"id": "alerts-ack", "property": "n_clicks", "value": 1},
                   {"id": "alerts-silence", "property": "n_clicks", "value": None}],
        "changedPropIds": ["alerts-ack.n_clicks"],
        "state": [{"id": "alerts-action-key", "property": "value", "value": key},
                  {"id": "alerts-action-who", "property": "value", "value": "someone else"},
                  {"id": "alerts-action-why", "property": "value", "value": "test"},
                  {"id": "alerts-action-hours", "property": "value", "value": 4},
                  {"id": "alerts-lang", "property": "data", "value": "en"}],
    }  # fmt: skip


def post(s: requests.Session, url: str, body: dict, **headers) -> requests.Response:
    return s.post(url + CB, json=body, timeout=60,
                  headers={"X-CSRFToken": getattr(s, "csrf", ""), **headers})  # fmt: skip


def audit(app, action: str) -> list[dict]:
    store = UserStore(f"sqlite:///{app.data_dir / 'users.sqlite'}")
    return store.audit_entries(500, action)


# --- who sees what ------------------------------------------------------------------------------


def test_anonymous_gets_the_sign_in_page_and_no_data(demo_app):
    r = requests.get(demo_app.url + "/units/Q1", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=%2Funits%2FQ1")
    s = requests.Session()
    s.get(demo_app.url + "/login", timeout=10)
    s.csrf = s.cookies["_csrf_token"]
    r = post(s, demo_app.url, overdue_body("Q1"))
    assert r.status_code == 401 and "rowData" not in r.text
    assert requests.get(demo_app.url + "/api/feeds", timeout=10).status_code == 401
    assert requests.get(demo_app.url + "/healthz", timeout=10).status_code == 200


def test_department_head_gets_nothing_of_a_unit_outside_their_subtree(demo_app):
    s = http_session(demo_app.url, "head.q8")
    inside = post(s, demo_app.url, overdue_body("Q8"))
    assert inside.status_code == 200 and inside.json()["response"]["units-overdue"]
    outside = post(s, demo_app.url, overdue_body("Q1"))
    assert outside.status_code == 403 and "rowData" not in outside.text
    assert "Q1-" not in outside.text
    city = post(s, demo_app.url, overdue_body("HCM"))
    assert city.status_code == 403 and "rowData" not in city.text
    # The drill-down's panels, filled after the page paints: the same rule.
    ok = post(s, demo_app.url, panel_request("programmes", {"unit": "Q8", **VIEW}))
    assert ok.status_code == 200 and "units-prog-qr-count" in ok.text
    ok = post(s, demo_app.url, panel_request("escalation", {"unit": "Q8", **VIEW}))
    assert ok.status_code == 200 and "units-sla-red" in ok.text
    for unit in ("Q1", "HCM"):
        r = post(s, demo_app.url, panel_request("programmes", {"unit": unit, **VIEW}))
        assert r.status_code == 403 and "units-prog" not in r.text
        r = post(s, demo_app.url, panel_request("escalation", {"unit": unit, **VIEW}))
        assert r.status_code == 403 and "units-sla" not in r.text
    # The explorer: the request is answered with a message and no rows, no figure data.
    r = post(s, demo_app.url, explore_body("Q1"))
    assert r.status_code == 200
    resp = r.json()["response"]
    assert resp["explore-grid"]["rowData"] == []
    assert "outside your access" in json.dumps(resp["explore-error"])
    assert "Q1-" not in r.text
    ok = post(s, demo_app.url, explore_body("Q8"))
    rows = ok.json()["response"]["explore-grid"]["rowData"]
    assert rows and all(row["group_code"].startswith("Q8") for row in rows)
    # The export of another unit: refused, no file.
    for fmt in ("csv", "xlsx"):
        r = post(s, demo_app.url, export_body("Q1", fmt))
        assert r.status_code == 403 and "content" not in r.text
    assert post(s, demo_app.url, export_body(None)).status_code == 403  # the city: not theirs
    r = post(s, demo_app.url, export_body("Q8-P04"))
    assert r.status_code == 200 and r.json()["response"]["explore-download"]["data"]["content"]
    # The drill-down page itself, asked for another unit: a message, no figures.
    r = post(s, demo_app.url, router_request("/units/Q1", "?lang=en"))
    assert r.status_code == 200 and "outside your access" in r.text and "units-trend" not in r.text
    r = post(s, demo_app.url, router_request("/units"))  # their default: their own unit
    assert r.status_code == 200 and "units-trend" in r.text


def test_department_head_sees_the_city_on_the_wall_but_not_the_sources_or_alerts(demo_app):
    s = http_session(demo_app.url, "head.q8")
    r = post(s, demo_app.url, router_request("/wall", "?board=online"))
    assert r.status_code == 200 and "wall-map" in r.text
    assert post(s, demo_app.url, router_request("/sources")).status_code == 403
    # Nor the alerts page, nor its projections panel (the city's and its children's).
    assert post(s, demo_app.url, router_request("/alerts")).status_code == 403
    r = post(s, demo_app.url, panel_request("alerts projections", "en"))
    assert r.status_code == 403 and "forecast-row" not in r.text
    assert s.get(demo_app.url + "/sources", timeout=10).status_code == 403
    assert s.get(demo_app.url + "/api/quarantine", timeout=10).status_code == 403


def _nav_paths(session: requests.Session, url: str) -> set[str]:
    layout = session.get(url + "/_dash-layout", timeout=10).json()
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props.get("id"), dict) and props["id"].get("type") == "app-link":
                found.add(props["id"]["path"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(layout)
    return found


def test_the_navbar_lists_only_the_pages_the_role_may_open(demo_app):
    """A department head is not shown links that would answer 403 (sources, alerts)."""
    head = _nav_paths(http_session(demo_app.url, "head.q8"), demo_app.url)
    assert {"/", "/wall", "/units", "/explore"} <= head
    assert not head & {"/sources", "/alerts"}
    assert {"/sources", "/alerts"} <= _nav_paths(
        http_session(demo_app.url, "analyst"), demo_app.url
    )


def test_exports_are_audited_with_who_and_what(demo_app):
    s = http_session(demo_app.url, "analyst")
    before = len(audit(demo_app, "export"))
    r = post(s, demo_app.url, export_body("Q1", "xlsx"))
    assert r.status_code == 200
    entries = audit(demo_app, "export")
    assert len(entries) == before + 1
    assert entries[0]["actor"] == "analyst" and '"Q1"' in entries[0]["detail"]


def test_actions_need_the_role_and_the_csrf_token_and_are_audited(demo_app):
    analyst = http_session(demo_app.url, "analyst")
    r = post(analyst, demo_app.url, ack_body())
    assert r.status_code == 403
    refused = audit(demo_app, "alert.acknowledge")
    assert refused[0]["actor"] == "analyst" and not refused[0]["ok"]
    admin = http_session(demo_app.url, "admin")
    no_token = admin.post(demo_app.url + CB, json=ack_body(), timeout=30)
    assert no_token.status_code == 403
    wrong = admin.post(demo_app.url + CB, json=ack_body(), timeout=30,
                       headers={"X-CSRFToken": "forged"})  # fmt: skip
    assert wrong.status_code == 403
    foreign = post(admin, demo_app.url, ack_body(), Origin="http://evil.example")
    assert foreign.status_code == 403
    assert audit(demo_app, "csrf_refused")
    # Run now from the sources page: admin only.
    run = {
        "output": "sources-message.children",
        "outputs": {"id": "sources-message", "property": "children"},
        "inputs": [[{"id": {"feed": "demo_justice_survey", "type": "sources-run"},
                     "property": "n_clicks", "value": 1}]],
        "changedPropIds": ['{"feed":"demo_justice_survey","type":"sources-run"}.n_clicks'],
        "state": [{"id": "_pages_location", "property": "search", "value": ""}],
    }  # fmt: skip
    assert post(analyst, demo_app.url, run).status_code == 403
    assert post(admin, demo_app.url, run).status_code == 200
    runs = audit(demo_app, "feed.run")
    assert (
        runs[0]["actor"] == "admin" and runs[0]["ok"] and "demo_justice_survey" in runs[0]["detail"]
    )
    # The HTTP API: the CLI's bearer token (no cookie, no CSRF) or an admin session with CSRF.
    assert requests.post(demo_app.url + "/api/feeds/nope/run", timeout=10).status_code == 403
    assert requests.post(demo_app.url + "/api/feeds/nope/run", headers=cli_headers(demo_app),
                         timeout=10).status_code == 404  # fmt: skip
    assert analyst.post(demo_app.url + "/api/feeds/nope/run", timeout=10,
                        headers={"X-CSRFToken": analyst.csrf}).status_code == 403  # fmt: skip


def test_wall_token_opens_the_wall_only_until_revoked(demo_app):
    store = UserStore(f"sqlite:///{demo_app.data_dir / 'users.sqlite'}")
    token, plain = store.issue_token("lobby test", "test")
    wall = requests.Session()
    r = wall.get(f"{demo_app.url}/wall?kiosk=1&token={plain}&rotate=0", allow_redirects=False,
                 timeout=10)  # fmt: skip
    # The session holds the wall: the token leaves the URL (address bar, history, access log).
    assert r.status_code == 302 and r.headers["Location"] == "/wall?kiosk=1&rotate=0"
    assert wall.get(demo_app.url + r.headers["Location"], allow_redirects=False,
                    timeout=10).status_code == 200  # fmt: skip
    wall.csrf = wall.cookies["_csrf_token"]
    assert post(wall, demo_app.url, router_request("/wall")).status_code == 200
    poll = {"output": "wall-version.data", "outputs": {"id": "wall-version", "property": "data"},
            "inputs": [{"id": "wall-poll", "property": "n_intervals", "value": 1}],
            "changedPropIds": ["wall-poll.n_intervals"],
            "state": [{"id": "wall-version", "property": "data", "value": "x"}]}  # fmt: skip
    assert post(wall, demo_app.url, poll).status_code == 200
    assert post(wall, demo_app.url, router_request("/explore")).status_code == 403
    assert post(wall, demo_app.url, explore_body(None)).status_code == 403
    assert post(wall, demo_app.url, overdue_body("HCM")).status_code == 403
    assert post(wall, demo_app.url, export_body(None)).status_code == 403
    assert wall.get(demo_app.url + "/explore", allow_redirects=False, timeout=10).status_code == 403
    assert wall.get(demo_app.url + "/api/feeds", timeout=10).status_code == 403
    bad = requests.get(f"{demo_app.url}/wall?token=wrong", allow_redirects=False, timeout=10)
    assert bad.status_code == 302
    store.revoke_token(token.id)
    time.sleep(5.5)  # the app caches a token's state for 5 s
    assert post(wall, demo_app.url, poll).status_code == 401
    r = wall.get(f"{demo_app.url}/wall?kiosk=1&token={plain}", allow_redirects=False, timeout=10)
    assert r.status_code == 302


def test_failed_sign_ins_are_limited_per_account(demo_app):
    s = requests.Session()
    s.get(demo_app.url + "/login", timeout=10)
    codes = []
    for _ in range(6):
        r = s.post(demo_app.url + "/login", timeout=10, allow_redirects=False,
                   data={"username": "leader", "password": "wrong-password",
                         "csrf_token": s.cookies["_csrf_token"]})  # fmt: skip
        codes.append(r.status_code)
    assert codes == [401] * 5 + [429]
    r = s.post(demo_app.url + "/login", timeout=10, allow_redirects=False,
               data={"username": "leader", "password": "ioc-demo-password",
                     "csrf_token": s.cookies["_csrf_token"]})  # fmt: skip
    assert r.status_code == 429 and "Retry-After" in r.headers  # even the right password waits
    assert audit(demo_app, "sign_in_blocked")
    assert audit(demo_app, "sign_in_failed")[0]["actor"] == "leader"
    # A login form post without the CSRF token is refused before the password is checked.
    r = requests.post(demo_app.url + "/login", data={"username": "admin",
                      "password": "ioc-demo-password"}, allow_redirects=False, timeout=10)  # fmt: skip
    assert r.status_code == 403


def test_cookies_and_security_headers(demo_app):
    s = requests.Session()
    s.get(demo_app.url + "/login", timeout=10)
    r = s.post(demo_app.url + "/login", allow_redirects=False, timeout=10,
               data={"username": "analyst", "password": "ioc-demo-password",
                     "csrf_token": s.cookies["_csrf_token"]})  # fmt: skip
    cookie = r.raw.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookie if c.startswith("ioc_session=")]
    assert session_cookie and "HttpOnly" in session_cookie[0]
    assert "SameSite=Lax" in session_cookie[0]
    page = s.get(demo_app.url + "/explore", timeout=10)
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert "script-src 'self' 'sha256-" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"


# --- start-up settings, the non-demo path, the proxy header, the CLI -----------------------------


def test_production_without_a_secret_refuses_to_start(tmp_path):
    run = subprocess.run(
        [sys.executable, "app.py", "--data-dir", str(tmp_path), "--no-demo", "--no-scheduler",
         "--port", str(free_port())],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "IOC_ENV": "production"}, check=False,
    )  # fmt: skip
    assert run.returncode == 2
    assert "IOC_ENV=production needs IOC_SECRET_KEY" in run.stderr
    assert not (tmp_path / "ioc.duckdb").exists()  # refused before touching any data


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory):
    """No demo (so no demo accounts), production-like settings, the SSO header trusted, behind
    one reverse proxy."""
    data = tmp_path_factory.mktemp("plain-app")
    create_user(data, "lan", "leader", "a-long-password-1")
    create_user(data, "head.q1", "department_head", "a-long-password-2", unit="Q1")
    app = start_app(data, "--no-demo", "--no-scheduler",
                    env={"IOC_TRUSTED_USER_HEADER": "X-Remote-User", "IOC_PROXY_HOPS": "1",
                         "IOC_SECRET_KEY": "k" * 40})  # fmt: skip
    yield app
    app.stop()


def test_without_demo_there_are_no_demo_accounts(plain_app):
    s = requests.Session()
    s.get(plain_app.url + "/login", timeout=10)
    r = s.post(plain_app.url + "/login", allow_redirects=False, timeout=10,
               data={"username": "admin", "password": "ioc-demo-password",
                     "csrf_token": s.cookies["_csrf_token"]})  # fmt: skip
    assert r.status_code == 401
    assert not (plain_app.data_dir / "secret.key").exists()  # the secret came from the env
    s = http_session(plain_app.url, "lan", "a-long-password-1")
    assert s.get(plain_app.url + "/account", timeout=10).status_code == 200


def test_trusted_proxy_header_signs_in_a_known_user_only(plain_app):
    r = requests.get(plain_app.url + "/api/feeds", headers={"X-Remote-User": "lan"}, timeout=10)
    assert r.status_code == 200
    r = requests.get(plain_app.url + "/api/feeds", headers={"X-Remote-User": "nobody"}, timeout=10)
    assert r.status_code == 401


def test_cli_manages_users_and_tokens_while_the_app_runs(plain_app):
    def cli(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "access", "--data-dir",
                               str(plain_app.data_dir), *args], input=stdin, text=True,
                              capture_output=True, cwd=REPO_ROOT, check=False)  # fmt: skip

    assert cli("create-user", "an", "--role", "analyst", "--password-stdin",
               stdin="short\n").returncode == 2  # fmt: skip
    assert cli("create-user", "an", "--role", "analyst", "--password-stdin",
               stdin="analyst-password\n").returncode == 0  # fmt: skip
    s = http_session(plain_app.url, "an", "analyst-password")
    assert (
        cli("reset-password", "an", "--password-stdin", stdin="another-password\n").returncode == 0
    )
    time.sleep(5.5)
    # The old session ended with the reset; the new password works.
    assert s.get(plain_app.url + "/explore", allow_redirects=False, timeout=10).status_code == 302
    http_session(plain_app.url, "an", "another-password")
    assert cli("disable", "an").returncode == 0
    r = requests.Session()
    r.get(plain_app.url + "/login", timeout=10)
    assert r.post(plain_app.url + "/login", allow_redirects=False, timeout=10,
                  data={"username": "an", "password": "another-password",
                        "csrf_token": r.cookies["_csrf_token"]}).status_code == 401  # fmt: skip
    out = cli("issue-token", "Lobby", "--base-url", plain_app.url)
    assert out.returncode == 0
    url = out.stdout.strip().splitlines()[-1]
    opened = requests.get(url, allow_redirects=False, timeout=10)  # to the wall, token dropped
    assert opened.status_code == 302 and opened.headers["Location"] == "/wall?kiosk=1"
    listed = cli("audit", "--limit", "20").stdout
    assert "user.create" in listed and "user.issue_token" in listed and "sign_in" in listed
    assert date.today().isoformat()[:4] in listed


def _fail_sign_in(url: str, client: str | None, username: str) -> int:
    s = requests.Session()
    headers = {"X-Forwarded-For": client} if client else {}
    s.get(url + "/login", headers=headers, timeout=10)
    return s.post(url + "/login", headers=headers, allow_redirects=False, timeout=10,
                  data={"username": username, "password": "wrong-password-0",
                        "csrf_token": s.cookies["_csrf_token"]}).status_code  # fmt: skip


def test_behind_a_proxy_each_client_has_its_own_sign_in_limit(plain_app):
    """With IOC_PROXY_HOPS=1 the address limit and the audit log use the address the proxy
    forwards: one client's failures do not lock out the others."""
    codes = [_fail_sign_in(plain_app.url, "10.9.0.1", f"nobody{i}") for i in range(31)]
    assert codes == [401] * 30 + [429]
    assert _fail_sign_in(plain_app.url, "10.9.0.2", "nobody-else") == 401
    assert audit(plain_app, "sign_in_failed")[0]["ip"] == "10.9.0.2"


def test_without_a_proxy_a_forwarded_address_is_ignored(demo_app):
    """A client cannot pick its address (and dodge the limit) by sending X-Forwarded-For."""
    assert _fail_sign_in(demo_app.url, "10.9.0.3", "nobody-at-all") == 401
    assert audit(demo_app, "sign_in_failed")[0]["ip"] == "127.0.0.1"


def test_a_bad_proxy_hops_value_is_refused_with_its_name():
    from config.settings import Settings

    with pytest.raises(ValueError, match="IOC_PROXY_HOPS must be a whole number"):
        Settings.from_env({"IOC_PROXY_HOPS": "two"})
    assert Settings.from_env({"IOC_PROXY_HOPS": "2"}).proxy_hops == 2


def test_the_account_page_writes_instants_in_local_time():
    from datetime import UTC, datetime

    from access.web import _local

    assert _local(datetime(2026, 12, 1, 11, 34, 5, tzinfo=UTC)) == "18:34:05 01/12/2026"
    assert _local(datetime(2026, 12, 1, 23, 0)) == "06:00:00 02/12/2026"  # naive: stored UTC
