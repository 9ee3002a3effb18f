"""config/feeds.toml: the shipped file loads, and every mistake names the file, key and problem."""

from __future__ import annotations

import pytest

from config import ConfigError
from connectors.feeds import load_feeds


def write(tmp_path, text: str):
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_feeds_load(config):
    feeds = load_feeds(data_dir="/srv/ioc", demo_api="http://127.0.0.1:9999",
                       measures=set(config.measures))  # fmt: skip
    assert {f.kind for f in feeds.values()} == {"files", "rest", "sql", "national_portal",
                                                "case_files"}  # fmt: skip
    assert not feeds["national_portal"].enabled
    assert all(f.enabled for n, f in feeds.items() if n.startswith("demo_"))
    assert feeds["demo_district4_api"].options["base_url"] == "http://127.0.0.1:9999"
    assert feeds["demo_justice_desk"].options["path"] == "/srv/ioc/demo/exports"
    # The sources page describes each feed in the viewer's language.
    assert all(set(f.description) == {"vi", "en"} for f in feeds.values())
    assert feeds["demo_justice_desk"].description["vi"].startswith("Bộ phận một cửa")


def test_one_description_serves_both_languages(tmp_path):
    feeds = load_feeds(write(tmp_path, '[feeds.dx]\nkind = "rest"\nschedule = { every = "5m" }\n'
                                       'options = { base_url = "http://x" }\n'
                                       'description = "Hệ thống D4"\n'))  # fmt: skip
    assert feeds["dx"].description == {"vi": "Hệ thống D4", "en": "Hệ thống D4"}


# A valid feed of each kind to add one mistake to (a dotted key adds to the options table).
REST = 'kind = "rest"\nschedule = { every = "5m" }\noptions = { base_url = "http://x" }\n'
FILES = 'kind = "files"\nschedule = { every = "5m" }\noptions.path = "/in"\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('kind = "ftp"\nschedule = { every = "5m" }', "feeds.dx.kind: unknown kind 'ftp'"),
        ('kind = "rest"', "feeds.dx: missing key 'schedule'"),
        ('kind = "rest"\nschedule = { every = "soon" }', "feeds.dx.schedule.every: 'soon' is not"),
        ('kind = "rest"\nschedule = { cron = "61 * * * *" }', "feeds.dx.schedule.cron"),
        ('kind = "rest"\nschedule = { every = "5m", cron = "0 * * * *" }', "exactly one of"),
        (
            'kind = "rest"\nschedule = { every = "5m" }\noptions = { token = "abc" }',
            "feeds.dx.options.token: secrets do not belong in the config",
        ),
        (
            'kind = "sql"\nschedule = { every = "5m" }\noptions = { url = "postgresql://u:pw@h/db" }',
            "the URL holds a password: use url_env",
        ),
        (
            'kind = "rest"\nschedule = { every = "5m" }\noptions = { token_env = "lower" }',
            "must name an environment variable",
        ),
        ('kind = "rest"\nshape = "cube"\nschedule = { every = "5m" }', "feeds.dx.shape"),
        ('kind = "rest"\nschedule = { every = "5m" }\nsurprise = 1', "unknown key(s) surprise"),
        (
            REST + 'description = { vi = "Hệ thống" }',
            "feeds.dx.description: one text, or a table with exactly the keys vi and en",
        ),
        (FILES + 'measures = { "A" = "nope" }', "feeds.dx.measures.A: unknown measure 'nope'"),
        # Options are checked against the schema the kind declares (Connector.options).
        (
            FILES + "options.timout_seconds = 5",
            "feeds.dx.options.timout_seconds: unknown option (known: grain, in_process_kb,",
        ),
        (
            'kind = "rest"\nschedule = { every = "5m" }\noptions = { path = "/v1" }',
            "feeds.dx.options.base_url: is required and missing",
        ),
        (
            'kind = "sql"\nschedule = { every = "5m" }\noptions = { table = "t", chunk_rows = "9" }',
            "feeds.dx.options.chunk_rows: must be a whole number, not '9'",
        ),
        (
            FILES + 'options.grain = "moon"',
            "feeds.dx.options.grain: 'moon' is not one of day, week, month, quarter, year",
        ),
        (
            FILES + "options.max_cells = -1",
            "feeds.dx.options.max_cells: must be at least 0, not -1",
        ),
        (
            FILES + 'options.max_file_age = "soon"',
            "feeds.dx.options.max_file_age: 'soon' is not a duration",
        ),
    ],
)
def test_mistakes_are_named(tmp_path, config, body, message):
    path = write(tmp_path, "[feeds.dx]\n" + body + "\n")
    with pytest.raises(ConfigError) as e:
        load_feeds(path, measures=set(config.measures))
    assert str(e.value).startswith("feeds.toml: ")
    assert message in str(e.value)


def test_a_broken_file_says_where(tmp_path):
    with pytest.raises(ConfigError, match="feeds.toml: syntax"):
        load_feeds(write(tmp_path, "[feeds.dx\n"))
