"""Issue #26: every file in config/ is checked before the app serves. A bad wall.toml or a feed
with an unknown, missing or wrong-typed option stops `app.py` with the file, the key and the
reason (exit code 2), within seconds; the shipped configuration passes."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import CONFIG_DIR, ConfigError, load_config
from connectors.base import OptionSpec, registry
from connectors.feeds import FEEDS_FILE, check_options, load_feeds
from connectors.rest import HttpClient
from dashboards._wall_config import WALL_FILE, load_wall
from tests.conftest import REPO_ROOT, free_port

START_SECONDS = 60  # a refusal comes in ~2 s; the bound only keeps a hung start from hanging CI


def copied_config(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return config


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}: the test is out of date"
    path.write_text(text.replace(old, new), encoding="utf-8")


def start_app(config: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py", "--config-dir", str(config), "--data-dir", str(data),
         "--no-demo", "--no-scheduler", "--port", str(free_port())],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=START_SECONDS, check=False,
    )  # fmt: skip


# ---- the app refuses to start --------------------------------------------------------------------

DISTRICT4 = "feeds.demo_district4_api.options"


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        pytest.param(WALL_FILE, "refresh_seconds = 30", "refresh_secnds = 30",
                     "wall.toml: refresh_secnds: unknown key (did you mean 'refresh_seconds'?)",
                     id="wall-typo-key"),
        pytest.param(WALL_FILE, 'map_metric = "online_rate"', 'map_metric = "online_rat"',
                     "wall.toml: boards[2].map_metric: unknown metric 'online_rat'",
                     id="wall-unknown-metric"),
        pytest.param(FEEDS_FILE, "timeout_seconds = 10", "timout_seconds = 10",
                     f"feeds.toml: {DISTRICT4}.timout_seconds: unknown option "
                     "(did you mean 'timeout_seconds'?)", id="feed-unknown-option"),
        pytest.param(FEEDS_FILE, 'base_url = "{demo_api}"\n', "",
                     f"feeds.toml: {DISTRICT4}.base_url: is required and missing",
                     id="rest-without-base-url"),
        pytest.param(FEEDS_FILE, "page_size = 2000", 'page_size = "2000"',
                     f"feeds.toml: {DISTRICT4}.page_size: must be a whole number, not '2000'",
                     id="feed-wrong-type"),
    ],
)  # fmt: skip
def test_a_bad_file_stops_the_app_with_file_key_and_reason(tmp_path, file, old, new, message):
    config = copied_config(tmp_path)
    edit(config / file, old, new)
    started = time.monotonic()
    run = start_app(config, tmp_path / "data")
    assert run.returncode == 2, run.stderr[-2000:]
    assert f"configuration error: {message}" in run.stderr
    assert time.monotonic() - started < START_SECONDS
    if file == WALL_FILE:  # checked with alerts.toml, before the warehouse opens
        assert not (tmp_path / "data" / "ioc.duckdb").exists()


def test_the_shipped_configuration_passes():
    config = load_config(CONFIG_DIR)
    wall = load_wall(CONFIG_DIR / WALL_FILE, set(config.metrics))
    assert [b.key for b in wall.boards] == ["service", "digital", "online", "programmes"]
    assert wall.refresh_seconds == 30
    feeds = load_feeds(CONFIG_DIR / FEEDS_FILE, measures=set(config.measures))
    assert not feeds["national_portal"].enabled  # disabled feeds are checked all the same


# ---- the schema of options, without a subprocess -------------------------------------------------

SCHEMA = {
    "base_url": OptionSpec("text", required=True),
    "retries": OptionSpec("whole", default=3, minimum=0),
    "timeout_seconds": OptionSpec("number", default=10, minimum=0.01),
    "sorted": OptionSpec("bool", default=False),
    "paging": OptionSpec("text", default="page", choices=("page", "cursor")),
    "endpoints": OptionSpec("list", default=[], choices=("a", "b")),
    "ids": OptionSpec("table", default={}),
    "max_age": OptionSpec("duration"),
}


def check(**options) -> None:
    check_options(options, SCHEMA, Path("feeds.toml"), "feeds.dx.options")


def test_options_that_fit_their_schema_pass():
    check(base_url="http://x", retries=0, timeout_seconds=2.5, sorted=True, paging="cursor",
          endpoints=["a", "b"], ids={"P1": "9"}, max_age="26h")  # fmt: skip
    check(base_url="http://x", timeout_seconds=3, max_age=3600)  # a whole number is a number


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "x", "retires": 2},
         "feeds.dx.options.retires: unknown option (did you mean 'retries'?)"),
        ({"base_url": "x", "zzz": 1}, "feeds.dx.options.zzz: unknown option (known: base_url,"),
        ({"retries": 2}, "feeds.dx.options.base_url: is required and missing"),
        ({"base_url": 5}, "feeds.dx.options.base_url: must be text, not 5"),
        ({"base_url": "x", "retries": 2.5}, "feeds.dx.options.retries: must be a whole number"),
        ({"base_url": "x", "retries": True}, "retries: must be a whole number, not True"),
        ({"base_url": "x", "retries": -1}, "feeds.dx.options.retries: must be at least 0, not -1"),
        ({"base_url": "x", "timeout_seconds": "10"}, "timeout_seconds: must be a number, not '10'"),
        ({"base_url": "x", "timeout_seconds": 0}, "timeout_seconds: must be at least 0.01"),
        ({"base_url": "x", "sorted": "yes"}, "feeds.dx.options.sorted: must be true or false"),
        ({"base_url": "x", "paging": "pages"}, "paging: 'pages' is not one of page, cursor"),
        ({"base_url": "x", "endpoints": "a"}, "feeds.dx.options.endpoints: must be a list"),
        ({"base_url": "x", "endpoints": ["a", "c"]}, "endpoints: 'c' is not one of a, b"),
        ({"base_url": "x", "ids": ["P1"]}, "feeds.dx.options.ids: must be a table"),
        ({"base_url": "x", "max_age": "soon"}, "feeds.dx.options.max_age: 'soon' is not a duration"),
    ],
)  # fmt: skip
def test_each_option_mistake_names_the_key_and_the_reason(options, message):
    with pytest.raises(ConfigError) as e:
        check(**options)
    assert str(e.value).startswith("feeds.toml: feeds.dx.options.")
    assert message in str(e.value)


def test_a_disabled_feed_is_checked_too(tmp_path):
    path = tmp_path / FEEDS_FILE
    path.write_text('[feeds.portal]\nkind = "national_portal"\nenabled = false\n'
                    'schedule = { every = "1d" }\n'
                    'options = { base_url = "https://x", root_department_id = "1", '
                    'time_type = "week" }\n', encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError, match="feeds.portal.options.time_type: 'week' is not one of"):
        load_feeds(path)


# Where the connectors read their options: `options.get("key"`, `opts["key"]` and the like.
_READ = re.compile(r"\b(?:options|opts)(?:\.get\(|\[)\s*[\"'](\w+)[\"']")
# The code of each kind that reads its options: its class, its bases, the HTTP client it uses.
_READERS = {"files": ("FilesConnector",), "case_files": ("CaseFilesConnector", "FilesConnector"),
            "rest": ("RestConnector", "HttpClient"), "sql": ("SqlConnector",),
            "national_portal": ("NationalPortalConnector", "HttpClient")}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(_READERS))
def test_every_option_a_connector_reads_is_declared(kind):
    cls = registry()[kind]
    code = {c.__name__: c for c in cls.__mro__} | {"HttpClient": HttpClient}
    read = set(_READ.findall("".join(inspect.getsource(code[n]) for n in _READERS[kind])))
    assert read, "the pattern no longer finds the connector's reads"
    assert read <= set(cls.options), f"read but not declared: {read - set(cls.options)}"


def test_every_kind_declares_options_and_its_defaults_fit():
    kinds = registry()
    assert set(kinds) == set(_READERS)  # a new kind: add it above
    assert {"max_file_mb", "reader_memory_mb", "in_process_kb"} <= set(kinds["files"].options)
    for kind, cls in kinds.items():
        defaults = {k: s.default for k, s in cls.options.items() if s.default is not None}
        required = {k: "x" for k, s in cls.options.items() if s.required}
        check_options(defaults | required, cls.options, Path("feeds.toml"), kind)


def test_the_feeds_loader_and_the_connector_base_import_each_other_no_more():
    # connectors/base.py holds Feed and the registry; connectors/feeds.py reads the file with
    # both, at module level: no import inside a function to dodge a cycle.
    for name in ("base.py", "feeds.py"):
        tree = ast.parse((REPO_ROOT / "connectors" / name).read_text())
        nested = [n for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                  for n in ast.walk(f) if isinstance(n, ast.ImportFrom)
                  and (n.module or "").startswith("connectors")]  # fmt: skip
        assert nested == [], name
    base = ast.parse((REPO_ROOT / "connectors" / "base.py").read_text())
    assert not [n for n in ast.walk(base) if isinstance(n, ast.ImportFrom)
                and n.module == "connectors.feeds"]  # fmt: skip
    for first in ("connectors.base", "connectors.feeds"):  # either may be imported first
        run = subprocess.run([sys.executable, "-c", f"import {first}; import connectors.files"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                             check=False)  # fmt: skip
        assert run.returncode == 0, run.stderr


# ---- wall.toml, without a subprocess -------------------------------------------------------------

BOARD = '[[boards]]\nkey = "service"\ntiles = ["online_rate"]\nmap_metric = "on_time_rate"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("refresh_seconds = 0\n" + BOARD,
         "wall.toml: refresh_seconds: must be a whole number of seconds ≥ 2, not 0"),
        ("refresh_seconds = -5\n" + BOARD, "refresh_seconds: must be a whole number of seconds"),
        ('refresh_seconds = "30"\n' + BOARD, "refresh_seconds: must be a whole number of seconds"),
        (BOARD + "seconds = 0\n", "wall.toml: boards[0].seconds: must be a whole number"),
        (BOARD + 'kind = "radar"\n', "wall.toml: boards[0].kind: must be one of"),
        (BOARD + 'titel_en = "x"\n', "boards[0].titel_en: unknown key (did you mean 'title_en'?)"),
        (BOARD.replace('"online_rate"', '"online_rat"'),
         "wall.toml: boards[0].tiles[0]: unknown metric 'online_rat'"),
        (BOARD.replace('tiles = ["online_rate"]\n', ""), "boards[0].tiles: is required and missing"),
        (BOARD.replace('["online_rate"]', "[]"), "boards[0].tiles: must be a non-empty list"),
        (BOARD.replace('"on_time_rate"', '"nope"'), "boards[0].map_metric: unknown metric 'nope'"),
        (BOARD + BOARD, "wall.toml: boards[1].key: 'service' is already a board's key"),
        ("refresh_seconds = 30\n", "wall.toml: boards: needs at least one [[boards]] entry"),
        ('boards = "service"\n', "wall.toml: boards: must be [[boards]] tables"),
    ],
)  # fmt: skip
def test_each_wall_mistake_names_the_key_and_the_reason(tmp_path, text, message):
    path = tmp_path / WALL_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_wall(path, {"online_rate", "on_time_rate"})
    assert message in str(e.value)
