"""The programmes' boards in a real browser (system Chromium): the wall board of the playlist,
the drill-down section, and the public DTI page with its open data.

Screenshots go to <repo>/screenshots/programmes-*.png (git-ignored).
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


@pytest.fixture
def page(page, demo_app):
    """Signed in as an admin when access control is installed (it guards every board)."""
    try:
        from tests.conftest import sign_in
    except ImportError:
        return page
    sign_in(page, demo_app.url, "admin")
    return page


@pytest.mark.parametrize(
    ("lang", "size"), [("vi", (1920, 1080)), ("en", (1920, 1080)), ("vi", (3840, 2160))]
)
def test_programmes_wall_board_shows_six_tiles_and_the_heat_map(demo_app, page: Page, lang, size,
                                                                screenshot_dir):  # fmt: skip
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{demo_app.url}/wall?kiosk=1&board=programmes&lang={lang}")
    page.wait_for_selector("#wall-prog-heatmap .main-svg", timeout=30_000)
    page.wait_for_timeout(1500)  # the 4K wall re-renders once with scaled figure fonts
    page.screenshot(path=screenshot_dir / f"programmes-wall-{size[0]}-{lang}.png")
    assert page.locator(".wall-prog-tiles .wall-tile").count() == 6
    for key in ("qr", "dti", "forms", "registry", "cases", "no_paper"):
        text = page.locator(f"#wall-prog-value-{key}").inner_text().strip()
        assert text and "no data" not in text and "không có dữ liệu" not in text, (key, text)
    # The QR share is a percentage; the heat map is a plotly heatmap of 7 weekdays.
    assert re.search(r"\d+[,.]\d%", page.locator("#wall-prog-value-qr").inner_text())
    assert page.locator("#wall-prog-heatmap .hm, #wall-prog-heatmap image").count() >= 1
    # Counts only: no personal field of an ID-paper case reaches the wall.
    body = page.locator("#wall-body").inner_text()
    assert not re.search(r"\b000\d{9}\b", body)
    assert "Nguyễn" not in body and "Trần" not in body
    assert page.evaluate("document.documentElement.scrollHeight") <= size[1] + 1
    assert errors == []


def test_drill_down_has_each_programme_for_the_city(demo_app, page: Page, screenshot_dir):
    page.set_viewport_size({"width": 1366, "height": 900})  # the commonest laptop screen
    page.goto(f"{demo_app.url}/units/HCM?lang=en")
    page.wait_for_selector("#units-programmes #units-prog-heatmap .main-svg", timeout=30_000)
    page.locator("#units-programmes").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=screenshot_dir / "programmes-units-city.png", full_page=True)
    for id_ in ("units-prog-qr-share", "units-prog-after-hours", "units-prog-dti",
                "units-prog-forms", "units-prog-registry", "units-prog-cases-open",
                "units-prog-no-paper"):  # fmt: skip
        assert page.locator(f"#{id_}").inner_text().strip(), id_
    assert page.locator("#units-prog-dti-table tbody tr").count() == 16  # every department
    # The change on the quarter before is signed, a rise as plainly as a fall.
    changes = page.locator("#units-prog-dti-table tbody td:nth-child(3)").all_inner_texts()
    assert any(c.startswith("+") for c in changes), changes
    assert all(re.fullmatch(r"[+−±]\d+\.\d|–", c.strip()) for c in changes), changes
    # Each ward bar has its name beside it (plotly drops the tick labels that do not fit).
    wards = page.locator("#units-prog-cases-ward")
    bars = wards.locator(".bars .point").count()
    assert bars >= 10 and wards.locator(".ytick").count() == bars
    left = wards.bounding_box()["x"]  # and whole: none runs past the graph's edge
    assert all(name.bounding_box()["x"] >= left for name in wards.locator(".ytick text").all())
    # The admin is not the justice role: the overdue cases list hides personal fields.
    table = page.locator("#units-prog-cases-table").inner_text()
    assert "•••" in table and not re.search(r"\b000\d{9}\b", table)


def test_drill_down_of_a_commune_shows_its_qr_heat_map_and_cases(demo_app, page: Page,
                                                                 screenshot_dir):  # fmt: skip
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{demo_app.url}/units/BCHANH-VINHLOCA?lang=vi")
    page.wait_for_selector("#units-prog-heatmap .main-svg", timeout=30_000)
    page.wait_for_timeout(300)
    page.screenshot(path=screenshot_dir / "programmes-units-commune.png", full_page=True)
    assert re.search(r"\d+,\d%", page.locator("#units-prog-qr-share").inner_text())
    assert page.locator("#units-prog-cases-status .main-svg").count() >= 1
    # A commune has no DTI or form table of its own.
    assert page.locator("#units-prog-dti").count() == 0


def _public(url: str, path: str) -> tuple[int, str, str]:
    """GET without any sign-in: (status, final URL, body)."""
    try:
        with urllib.request.urlopen(f"{url}{path}", timeout=20) as r:
            return r.status, r.url, r.read().decode("utf-8-sig")
    except urllib.error.HTTPError as e:
        return e.code, e.url, ""


def _require_public(url: str) -> None:
    status, final, _ = _public(url, "/public/dti")
    assert status == 200 and "/login" not in final, (status, final)  # no sign-in asked


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_public_dti_page_needs_no_sign_in_and_links_nowhere_else(demo_app, browser, lang,
                                                                 screenshot_dir):  # fmt: skip
    _require_public(demo_app.url)
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # nobody signed in
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{demo_app.url}/public/dti?lang={lang}")
    page.wait_for_selector("#dti-table tbody tr")
    page.screenshot(path=screenshot_dir / f"programmes-public-dti-{lang}.png", full_page=True)
    assert "/public/dti" in page.url and "login" not in page.url
    assert page.locator("#dti-table tbody tr").count() == 16
    assert page.locator("#app-navbar").count() == 0  # not the app's chrome
    assert page.locator("script").count() == 0
    hrefs = page.eval_on_selector_all(
        "a[href], link[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    assert hrefs and all(h.startswith("/public/dti") for h in hrefs), hrefs
    # Best first, with points of 100 as each language writes them.
    first = page.locator("#dti-table tbody tr").first.locator("td").nth(2).inner_text()
    assert re.match(r"\d{2}[,.]\d", first)
    # The page fits its window, a phone's too: a table wider than that scrolls in its own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
    assert errors == []


def test_open_data_csv_and_json_match_the_page(demo_app):
    _require_public(demo_app.url)
    status, _, text = _public(demo_app.url, "/public/dti.csv?grain=quarter")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    status, _, body = _public(demo_app.url, "/public/dti.json?grain=quarter")
    data = json.loads(body)
    assert status == 200 and data["grain"] == "quarter" and len(data["components"]) == 6
    assert len(rows) == len(data["rows"]) > 16
    newest = max(r["period_start"] for r in rows)
    latest = {r["unit_code"]: float(r["dti"]) for r in rows if r["period_start"] == newest}
    assert len(latest) == 16
    _, _, html = _public(demo_app.url, "/public/dti?lang=en")
    best = max(latest, key=latest.get)
    assert re.search(rf'data-unit="{best}"><td>1</td>', html)
    # Components add up to the total (points of 100).
    for r in data["rows"][:20]:
        total = sum(r[c["code"]] for c in data["components"])
        assert total == pytest.approx(r["dti"], abs=0.05)


def _export(page: Page) -> str:
    page.wait_for_selector("#units-prog-cases-export", timeout=30_000)
    with page.expect_download() as info:
        page.click("#units-prog-cases-export")
    return info.value.path().read_text(encoding="utf-8-sig")


def test_case_export_masks_personal_fields_outside_the_justice_role(demo_app, page: Page):
    page.goto(f"{demo_app.url}/units/Q1?lang=vi")
    text = _export(page)
    rows = list(csv.DictReader(io.StringIO(text.split("\n\n", 1)[1])))
    assert rows and all(r["ward_code"].startswith("Q1-") for r in rows)
    assert {r["full_name"] for r in rows} == {"•••"}
    assert not re.search(r"\b000\d{9}\b", text) and all(not r["birth_date"] for r in rows)
    assert "# personal_fields: masked" in text


def test_the_justice_departments_head_sees_and_exports_personal_fields(demo_app, browser,
                                                                       screenshot_dir):  # fmt: skip
    try:
        from tests.conftest import create_user, sign_in
    except ImportError:
        pytest.skip("access control is not installed")
    create_user(demo_app.data_dir, "head.tp", "department_head", unit="SO-TP")
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    sign_in(page, demo_app.url, "head.tp")
    page.goto(f"{demo_app.url}/units/SO-TP?lang=vi")
    page.wait_for_selector("#units-prog-cases-table tbody tr", timeout=30_000)
    page.locator("#units-prog-cases-table").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "programmes-units-justice.png")
    table = page.locator("#units-prog-cases-table").inner_text()
    assert "•••" not in table
    text = _export(page)
    rows = list(csv.DictReader(io.StringIO(text.split("\n\n", 1)[1])))
    wards = {r["ward_code"].split("-")[0] for r in rows}
    assert len(wards) > 10  # every district's wards: the justice role follows the whole city
    assert any(re.fullmatch(r"000\d{9}", r["id_number"]) for r in rows)
    assert "# personal_fields: shown" in text
    context.close()
