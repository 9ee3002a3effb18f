"""Migrations, load batches, quarantine and the rollup, on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import load_config
from tests.helpers import dossier, dossiers, load, local, reports
from warehouse import Batch, open_warehouse
from warehouse.db import Database, migration_files, scalar


@pytest.fixture
def config():
    return load_config()


def counts(wh) -> dict[str, int]:
    tables = ("dossier", "report", "fact", "quarantine", "feed_state")
    return {t: scalar(wh.cursor(), f"SELECT count(*) FROM {t}") for t in tables}


def snapshot(wh) -> list:
    return wh.cursor().execute("SELECT * FROM fact ORDER BY ALL").fetchall()


def test_migrations_apply_once_and_are_safe_to_rerun(tmp_path: Path, config):
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(path, config)
    latest = migration_files()[-1][0]
    assert wh.db.schema_version() == latest
    wh.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")])))
    before = (counts(wh), snapshot(wh), wh.data_version())
    wh.close()
    again = open_warehouse(path, config)
    assert again.db.migrate() == []
    assert (counts(again), snapshot(again), again.data_version()) == before
    again.close()


def test_an_older_file_is_upgraded(tmp_path: Path, config):
    path = tmp_path / "old.duckdb"
    old = Database(path)
    assert old.migrate(upto=1) == [1]
    old.close()
    wh = open_warehouse(path, config)
    assert wh.db.schema_version() == migration_files()[-1][0]
    columns = {r[0] for r in wh.cursor().execute("DESCRIBE fact").fetchall()}
    assert {"month_start", "year", "received", "on_time"} <= columns


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_load(tmp_path: Path, config):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    rows = [
        dossier("ok", "Q1-BENNGHE", "2024-03-04 09:00"),
        dossier("ghost", "Q99", "2024-03-04 09:00"),
        dossier("weird", "Q1-BENNGHE", "2024-03-04 09:00", procedure="0.000000"),
        dossier("time-travel", "Q1-BENNGHE", "2024-03-04 09:00", completed="2024-03-01 09:00"),
        dossier("carrier-pigeon", "Q1-BENNGHE", "2024-03-04 09:00", channel="pigeon"),
        dossier("ancient", "Q1-BENNGHE", "1999-03-04 09:00"),
    ]
    result = wh.load(Batch("desk", dossiers=dossiers(rows)))
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == (
        "ok", 6, 1, 5,
    )  # fmt: skip
    reasons = dict(wh.cursor().execute("SELECT raw, reason FROM quarantine").fetchall())
    by_id = {next(i for i in ("ghost", "weird", "time", "pigeon", "ancient") if i in raw): why
             for raw, why in reasons.items()}  # fmt: skip
    assert by_id == {
        "ghost": "unknown unit Q99",
        "weird": "unknown procedure 0.000000",
        "time": "completed_at is before received_at",
        "pigeon": "channel pigeon is not one of online, direct, postal",
        "ancient": "received_at 1999-03-04 02:00 UTC is outside 2000-01-01 .. now",
    }


def test_rerunning_the_same_feed_loads_nothing_twice(tmp_path: Path, config):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    batch = dossiers([dossier(f"d{i}", "Q1-BENNGHE", "2024-03-04 09:00") for i in range(3)])
    wh.load(Batch("desk", dossiers=batch))
    first = (counts(wh), snapshot(wh))
    wh.load(Batch("desk", dossiers=batch))
    assert (counts(wh), snapshot(wh)) == first
    # A late correction replaces the earlier values: d0 went online after all.
    fixed = dossiers([dossier("d0", "Q1-BENNGHE", "2024-03-04 09:00", channel="online")])
    wh.load(Batch("desk", dossiers=fixed))
    assert scalar(wh.cursor(), "SELECT sum(received), sum(received_online) FROM fact") == 3
    assert scalar(wh.cursor(), "SELECT sum(received_online) FROM fact") == 1


def test_a_new_version_of_a_file_replaces_what_the_old_one_loaded(tmp_path: Path, config):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    v1 = [dossier(f"d{i}", "Q1-BENNGHE", "2024-03-04 09:00") for i in range(3)]
    wh.load(Batch("desk", dossiers=dossiers(v1), source_key="march.csv", content_hash="v1"))
    v2 = v1[:1]  # the corrected export dropped two rows entered by mistake
    wh.load(Batch("desk", dossiers=dossiers(v2), source_key="march.csv", content_hash="v2"))
    assert scalar(wh.cursor(), "SELECT count(*) FROM dossier") == 1
    assert scalar(wh.cursor(), "SELECT sum(received) FROM fact") == 1


def test_a_failing_batch_leaves_the_warehouse_as_it_was(tmp_path: Path, config, monkeypatch):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    wh.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")])))
    before = (counts(wh), snapshot(wh), wh.data_version())

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    # Fail after the dossiers were written inside the transaction, before the rollup update.
    monkeypatch.setattr("warehouse.loading.refresh_dossier_days", crash)
    rows = [dossier(f"n{i}", "Q1-BENNGHE", "2024-03-05 09:00") for i in range(5)]
    result = wh.load(Batch("desk", dossiers=dossiers(rows), state={"cursor": "x"}))
    assert result.status == "failed" and "disk on fire" in result.error
    assert (counts(wh), snapshot(wh), wh.data_version()) == before
    status, error = (
        wh.cursor()
        .execute("SELECT status, error FROM load_batch ORDER BY batch_id DESC LIMIT 1")
        .fetchall()[0]
    )
    assert status == "failed" and error == "OSError: disk on fire"


def test_the_loaders_thread_reads_in_insertion_order_after_a_load_and_a_failed_one(
    tmp_path: Path, config, monkeypatch
):
    # Loads write unordered (compact row groups); the loader's thread reads through the same
    # cursor afterwards, and its results without ORDER BY must keep their order.
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    setting = "SELECT current_setting('preserve_insertion_order')"
    wh.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")])))
    assert scalar(wh.cursor(), setting) is True

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr("warehouse.loading.refresh_dossier_days", crash)
    result = wh.load(
        Batch("desk", dossiers=dossiers([dossier("b", "Q1-BENNGHE", "2024-03-05 09:00")]))
    )
    assert result.status == "failed" and "disk on fire" in result.error
    assert scalar(wh.cursor(), setting) is True


def test_reports_check_numerators_against_denominators(tmp_path: Path, config):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    from datetime import date

    rows = [
        {"unit_code": "Q1", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "received", "value": 10.0},
        {"unit_code": "Q1", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "received_online", "value": 12.0},
        {"unit_code": "Q1", "period_start": date(2024, 3, 5), "grain": "month",
         "measure_code": "received", "value": 1.0},
        {"unit_code": "Q1", "period_start": date(2024, 3, 1), "grain": "month",
         "measure_code": "bananas", "value": 1.0},
    ]  # fmt: skip
    result = wh.load(Batch("sheet", reports=reports(rows)))
    assert result.rows_loaded == 1
    assert result.reasons == {
        "numerator is larger than its denominator": 1,
        "period_start 2024-03-05 does not start a month": 1,
        "unknown measure bananas": 1,
    }


def test_feed_state_commits_with_the_rows(tmp_path: Path, config):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    wh.load(
        Batch("api", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")]),
              state={"updated_since": "2024-03-04T02:00:00+00:00"}),
        now=datetime(2024, 3, 5, tzinfo=UTC),
    )  # fmt: skip
    state = scalar(wh.cursor(), "SELECT state FROM feed_state WHERE source = 'api'")
    assert state == '{"updated_since": "2024-03-04T02:00:00+00:00"}'


def test_open_dossiers_turn_overdue_when_their_due_time_passes(tmp_path: Path, config):
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    open_one = dossier("open", "Q1-BENNGHE", "2024-03-04 09:00", due_days=2)
    wh.load(Batch("desk", dossiers=dossiers([open_one])), now=datetime(2024, 3, 5, tzinfo=UTC))
    assert scalar(wh.cursor(), "SELECT sum(on_time) FROM fact") == 1
    # A later batch (of anything from this feed) re-evaluates the days with open dossiers.
    other = dossier("other", "Q1-BENNGHE", "2024-03-10 09:00", completed="2024-03-10 10:00")
    wh.load(Batch("desk", dossiers=dossiers([other])), now=datetime(2024, 3, 11, tzinfo=UTC))
    assert scalar(wh.cursor(), "SELECT sum(on_time), sum(overdue) FROM fact") == 1
    assert scalar(wh.cursor(), "SELECT sum(overdue) FROM fact") == 1


def test_a_migration_numbered_into_a_gap_still_runs(tmp_path: Path, monkeypatch):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_a.sql").write_text("CREATE TABLE a (x INTEGER);")
    (folder / "003_c.sql").write_text("CREATE TABLE c (x INTEGER);")
    monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", folder)
    db = Database(tmp_path / "w.duckdb")
    assert db.migrate() == [1, 3]
    (folder / "002_b.sql").write_text("CREATE TABLE b (x INTEGER);")
    assert db.migrate() == [2]
    assert db.migrate() == []
    assert db.schema_version() == 3


def test_the_data_version_is_read_once_per_commit(tmp_path: Path, config, monkeypatch):
    from warehouse import db

    wh = open_warehouse(tmp_path / "w.duckdb", config)
    wh.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")])))
    reads = []
    real = db.scalar
    monkeypatch.setattr(db, "scalar", lambda cur, sql, params=None: (
        reads.append(sql) if sql == db._VERSION_SQL else None) or real(cur, sql, params))  # fmt: skip
    first = wh.data_version()
    assert [db.data_version_of(wh.cursor()) for _ in range(5)] == [first] * 5
    assert len(reads) == 1  # every board query's cache key: no statement after the first
    wh.load(Batch("desk", dossiers=dossiers([dossier("b", "Q1-BENNGHE", "2024-03-04 10:00")])))
    assert wh.data_version() == first + 1
    wh.close()


def test_a_version_read_while_a_load_commits_is_not_kept(tmp_path: Path, config, monkeypatch):
    import threading

    from warehouse import db

    wh = open_warehouse(tmp_path / "w.duckdb", config)
    wh.load(Batch("desk", dossiers=dossiers([dossier("a", "Q1-BENNGHE", "2024-03-04 09:00")])))
    before = wh.data_version()
    db._answers.clear()  # the next read goes to the file
    real, raced = db.scalar, []

    def racing(cur, sql, params=None):
        value = real(cur, sql, params)
        if sql == db._VERSION_SQL and not raced:  # read, not yet kept: a load commits now
            raced.append(value)
            rows = dossiers([dossier("b", "Q1-BENNGHE", "2024-03-04 10:00")])
            loader = threading.Thread(target=lambda: wh.load(Batch("desk", dossiers=rows)))
            loader.start()
            loader.join()
        return value

    monkeypatch.setattr(db, "scalar", racing)
    assert wh.data_version() == before  # what that read saw
    assert wh.data_version() == before + 1  # not kept: the next read sees the commit
    wh.close()


def test_a_run_that_changes_no_figure_keeps_the_data_version(tmp_path: Path, config):
    """The version keys every cached answer: a feed that found nothing new must not flush them
    (and start a warm-up) every few minutes, while a dossier falling due must."""
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    open_one = dossier("open", "Q1-BENNGHE", "2024-03-04 09:00", due_days=3)
    wh.load(Batch("desk", dossiers=dossiers([open_one])), now=local("2024-03-05 09:00"))
    version = wh.data_version()
    nothing = dossiers([open_one]).clear()
    wh.load(Batch("desk", dossiers=nothing), now=local("2024-03-06 09:00"))
    ghost = dossiers([dossier("ghost", "Q99", "2024-03-06 09:00")])
    result = wh.load(Batch("desk", dossiers=ghost), now=local("2024-03-06 10:00"))
    assert result.rows_quarantined == 1  # reported on the sources page, no figure changes
    assert wh.data_version() == version
    fell_due = wh.load(Batch("desk", dossiers=nothing), now=local("2024-03-08 09:00"))
    assert fell_due.rows_loaded == 0
    assert wh.data_version() == version + 1  # on time → overdue on the boards
    wh.close()


LISTED = ("source, dossier_id, unit_code, procedure_code, channel, received_at, due_at,"
          " completed_at, status, received_day")  # fmt: skip


def late_or_open(wh) -> tuple[list, list]:
    """(what `late_or_open` holds, what it should hold: computed from `dossier`)."""
    cur = wh.cursor()
    kept = cur.execute(f"SELECT {LISTED} FROM late_or_open ORDER BY ALL").fetchall()
    expected = cur.execute(
        f"SELECT {LISTED} FROM dossier WHERE completed_at IS NULL OR completed_at > due_at"
        " ORDER BY ALL"
    ).fetchall()
    return kept, expected


def test_the_late_or_open_dossiers_follow_every_load(tmp_path: Path, config):
    """The overdue list reads `late_or_open`: a dossier completed late or still open must be
    there once, with its latest values, whatever replaced it."""
    wh = open_warehouse(tmp_path / "w.duckdb", config)
    day = "2024-03-04 09:00"
    v1 = [
        dossier("on-time", "Q1-BENNGHE", day, completed="2024-03-05 09:00"),
        dossier("late", "Q1-BENNGHE", day, completed="2024-03-09 09:00"),
        dossier("open", "Q1-BENNGHE", day),
        dossier("dropped", "Q1-BENNGHE", day),
    ]
    wh.load(Batch("desk", dossiers=dossiers(v1), source_key="march.csv", content_hash="v1"))
    load(wh, [dossier("open", "Q1-BENTHANH", day)], source="api")  # same id, another source
    kept, expected = late_or_open(wh)
    assert [r[:2] for r in kept] == [
        ("api", "open"), ("desk", "dropped"), ("desk", "late"), ("desk", "open")
    ]  # fmt: skip
    assert kept == expected
    # The corrected file: "dropped" was entered by mistake, "open" is now done on time,
    # "on-time" was in fact completed late.
    v2 = [
        dossier("on-time", "Q1-BENNGHE", day, completed="2024-03-08 09:00"),
        dossier("late", "Q1-BENNGHE", day, completed="2024-03-09 09:00"),
        dossier("open", "Q1-BENNGHE", day, completed="2024-03-05 09:00"),
    ]
    wh.load(Batch("desk", dossiers=dossiers(v2), source_key="march.csv", content_hash="v2"))
    # A status update outside any file: the late one's completion was entered wrongly.
    load(wh, [dossier("late", "Q1-BENNGHE", day, completed="2024-03-06 09:00")])
    kept, expected = late_or_open(wh)
    assert [r[:2] for r in kept] == [("api", "open"), ("desk", "on-time")]
    assert kept == expected
    wh.close()


def test_an_upgraded_file_lists_its_late_and_open_dossiers(tmp_path: Path, config):
    path = tmp_path / "old.duckdb"
    wh = open_warehouse(path, config)
    day = "2024-03-04 09:00"
    load(wh, [dossier("on-time", "Q1-BENNGHE", day, completed="2024-03-05 09:00"),
              dossier("late", "Q1-BENNGHE", day, completed="2024-03-09 09:00"),
              dossier("open", "Q1-BENNGHE", day)])  # fmt: skip
    with wh.db.transaction() as cur:  # as a file from before migration 011
        cur.execute("DROP TABLE late_or_open")
        cur.execute("DELETE FROM schema_migration WHERE version = 11")
    wh.close()
    wh = open_warehouse(path, config)
    kept, expected = late_or_open(wh)
    assert [r[1] for r in kept] == ["late", "open"]
    assert kept == expected
    wh.close()
