"""In the real browser (system Chromium) under the app's Content-Security-Policy: sign-in through
the form, every page of each role without a console error (no CSP violation: no inline script
without its hash, no eval), a department head kept to their unit, a wall token without a prompt."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from access.store import UserStore
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PAGES = {"/": "#home-tiles", "/wall?kiosk=1&rotate=0": "#wall-map .main-svg",
         "/units": "#units-trend .main-svg", "/explore": "#explore-grid .ag-row",
         "/sources": "#sources-table", "/alerts": "#alerts-body"}  # fmt: skip


def _errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") and (
        "Content Security Policy" in m.text or m.type == "error") else None)  # fmt: skip
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _form_sign_in(page: Page, url: str, user: str, next_path: str = "/") -> None:
    page.goto(f"{url}{next_path}")
    expect(page.locator("#login-form")).to_be_visible()  # sent to the sign-in form
    page.fill("#username", user)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-submit")


def test_admin_signs_in_and_every_page_runs_under_the_csp(demo_app, page: Page):
    errors = _errors(page)
    _form_sign_in(page, demo_app.url, "admin", "/explore")
    page.wait_for_selector(PAGES["/explore"], timeout=30_000)  # back where they were going
    for path, ready in PAGES.items():
        page.goto(demo_app.url + path)
        page.wait_for_selector(ready, timeout=30_000)
    page.goto(demo_app.url + "/account")
    expect(page.locator("#account-users")).to_contain_text("head.q8")
    # Bilingual like its headings: the tables and the form's choices too.
    expect(page.locator("#account-users th").first).to_have_text("Tài khoản · user")
    expect(page.locator("#account-audit th").first).to_have_text("Lúc · at")
    page.select_option("select[name=action]", label="Khóa · disable")
    assert page.locator("select[name=action]").input_value() == "disable"  # what the server reads
    assert errors == []


def test_department_head_sees_their_unit_and_is_told_about_others(demo_app, page: Page):
    errors = _errors(page)
    _form_sign_in(page, demo_app.url, "head.q8")
    page.wait_for_selector("#home-tiles .kpi-tile", timeout=30_000)
    page.goto(demo_app.url + "/units?lang=en")
    expect(page.locator("#units-title")).to_contain_text("District 8", timeout=30_000)
    page.goto(demo_app.url + "/units/Q1?lang=en")
    expect(page.locator("#units-error")).to_contain_text("outside your access")
    page.goto(demo_app.url + "/explore?lang=en")
    page.wait_for_selector(PAGES["/explore"], timeout=30_000)
    page.goto(demo_app.url + "/wall?kiosk=1&rotate=0")
    page.wait_for_selector(PAGES["/wall?kiosk=1&rotate=0"], timeout=30_000)
    page.goto(demo_app.url + "/sources")
    expect(page.locator("body")).to_contain_text("not open to your role")
    assert [e for e in errors if "403" not in e] == []  # the refused page itself is a 403


def test_a_wall_token_opens_the_wall_without_a_prompt(demo_app, page: Page):
    store = UserStore(f"sqlite:///{demo_app.data_dir / 'users.sqlite'}")
    token, plain = store.issue_token("browser test", "test")
    errors = _errors(page)
    page.goto(f"{demo_app.url}/wall?kiosk=1&rotate=0&token={plain}")
    page.wait_for_selector("#wall-map .main-svg", timeout=30_000)
    expect(page.locator("#login-form")).to_have_count(0)
    assert "token" not in page.url and "rotate=0" in page.url  # not on screen, not in history
    assert errors == []
    page.reload()  # a reload (the kiosk's daily restart) keeps the wall open
    page.wait_for_selector("#wall-map .main-svg", timeout=30_000)
    page.goto(demo_app.url + "/explore")
    expect(page.locator("body")).to_contain_text("not open to your role")
    store.revoke_token(token.id)


def test_sign_out_from_the_navbar_ends_the_session(demo_app, page: Page):
    _form_sign_in(page, demo_app.url, "analyst")
    page.wait_for_selector("#home-tiles .kpi-tile", timeout=30_000)
    page.click("#app-logout")
    expect(page.locator("#login-form")).to_be_visible()
    page.goto(demo_app.url + "/explore")
    expect(page.locator("#login-form")).to_be_visible()
