"""The import contract (pyproject.toml, [tool.importlinter]) holds on the tree, and breaks on an
upward import or a cycle hidden in a function: run on a copy of the packages with one such
import written in, lint-imports fails and names it. The copy holds only the .py files and
pyproject.toml (~0.2 s a run), and nothing of the real tree is on its path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from base.tz import LOCAL_OFFSET, LOCAL_TZ, local_date

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _root_packages() -> list[str]:
    with (REPO / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["tool"]["importlinter"]["root_packages"]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # cwd is what lint-imports puts on sys.path; PYTHONPATH is cleared so the copy is analysed
    # alone (dashboards/ is a namespace package: two copies on the path would merge).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=120, check=False)  # fmt: skip


def _copy_tree(dest: Path) -> Path:
    shutil.copy(REPO / "pyproject.toml", dest)
    for package in _root_packages():
        for src in (REPO / package).rglob("*.py"):
            target = dest / src.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, target)
    return dest


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def test_the_tree_keeps_the_import_contract():
    run = _lint_imports(REPO)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "broken" not in run.stdout.replace("0 broken", "")


@pytest.mark.parametrize(
    ("module", "code", "named"),
    [
        # The warehouse reaching up to the pages: the layers contract.
        ("warehouse/db.py", "import dashboards._runtime  # deliberate upward import",
         "warehouse.db -> dashboards._runtime"),
        # The old way around a cycle, an import inside a function, still counts (units imports
        # _recent; the report names whichever import would best break the cycle).
        ("dashboards/_recent.py", "def _units():\n    from dashboards import units  # noqa\n",
         "No cycles are allowed in dashboards."),
    ],
    ids=["upward", "cycle-in-a-function"],
)  # fmt: skip
def test_a_broken_contract_fails_and_names_the_import(tmp_path, module, code, named):
    tree = _copy_tree(tmp_path)
    assert _lint_imports(tree).returncode == 0  # the copy alone is clean
    _append(tree / module, code)
    run = _lint_imports(tree)
    assert run.returncode != 0
    assert "BROKEN" in run.stdout and named in run.stdout, run.stdout


def test_the_fixed_offset_is_the_citys_zone():
    """base.tz adds UTC+7 instead of loading the tz database: that is exact while Viet Nam keeps
    no daylight saving, checked here against the tz database for every month of a year."""
    zone = ZoneInfo(LOCAL_TZ)
    for month in range(1, 13):
        instant = datetime(2026, month, 15, 18, 30, tzinfo=UTC)  # 01:30 the next day in the city
        assert zone.utcoffset(instant.replace(tzinfo=None)) == LOCAL_OFFSET
        assert local_date(instant) == instant.astimezone(zone).date()
