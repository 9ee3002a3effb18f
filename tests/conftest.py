"""Shared pytest configuration.

Sections:
  - Paths
  - Browser tests (pytest-playwright with the system Chromium)
"""

from __future__ import annotations

from pathlib import Path

import pytest

# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """<repo>/screenshots (git-ignored), created if missing."""
    path = REPO_ROOT / "screenshots"
    path.mkdir(exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------
# Browser tests
#
# `playwright install` cannot download a browser here, and pytest-playwright ignores
# PLAYWRIGHT_CHROMIUM_EXECUTABLE_PATH, so its launch-args fixture is overridden to use the
# system Chromium. Tests marked `browser` (or using pytest-playwright's page/context/browser
# fixtures) are skipped when /usr/bin/chromium is missing.
# ---------------------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_PLAYWRIGHT_FIXTURES = {"page", "context", "browser", "new_context"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    args = list(CHROMIUM_ARGS)
    if browser_type_launch_args.get("headless") is False:  # pytest --headed
        args.remove("--headless")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": args}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found (run scripts/setup.sh as root)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)
