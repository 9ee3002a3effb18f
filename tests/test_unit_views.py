"""Two views of time (issue 25): "today's units" and "as it was", against hand-computed values.

A small reorganisation added to the shipped units: old wards A and B of old district D become
the new ward N (from 1 July 2025, directly under the city); old ward C is divided, its history
going to N2 (share 1) and only named for N (share 0); department X merges into department Y on
1 March 2025. D itself has no successor: its own desk's facts stay under it in both views.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from config import CONFIG_DIR, ConfigError, load_config
from config.model import FAR_FUTURE
from metrics import QueryError, query
from metrics.scope import ScopeError, restricted
from tests.helpers import dossier, load
from warehouse import open_warehouse
from warehouse.reference import unit_tree, unit_tree_today

A, B, C, D, N, N2, X, Y = "T-A", "T-B", "T-C", "T-D", "T-N", "T-N2", "T-X", "T-Y"
Y2024 = (date(2024, 1, 1), date(2024, 12, 31))
OLD_END, NEW_START = date(2025, 6, 30), date(2025, 7, 1)

UNITS = f"""\
{D},HCM,district,Quận Thử,Test District,2000-01-01,2025-06-30,
{A},{D},ward,Phường A,Ward A,2000-01-01,2025-06-30,
{B},{D},ward,Phường B,Ward B,2000-01-01,2025-06-30,
{C},{D},ward,Phường C,Ward C,2000-01-01,2025-06-30,
{N},HCM,ward,Phường Mới,New Ward,2025-07-01,,
{N2},HCM,ward,Phường Mới 2,New Ward 2,2025-07-01,,
{X},HCM,department,Sở X,Department X,2000-01-01,2025-02-28,
{Y},HCM,department,Sở Y,Department Y,2000-01-01,,
"""
SUCCESSIONS = f"""\
old_code,new_code,valid_from,share
{A},{N},2025-07-01,1
{B},{N},2025-07-01,1
{C},{N2},2025-07-01,1
{C},{N},2025-07-01,0
{X},{Y},2025-03-01,1
"""


def config_dir(root: Path, successions: str = SUCCESSIONS) -> Path:
    directory = root / "config"
    shutil.copytree(CONFIG_DIR, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with (directory / "units.csv").open("a", encoding="utf-8") as f:
        f.write(UNITS)
    (directory / "successions.csv").write_text(successions, encoding="utf-8")
    return directory


# Dossiers per unit and day: (unit, received, how many, of which online).
ROWS = [
    (A, "2024-03-04 09:00", 4, 3),
    (B, "2024-05-06 09:00", 2, 1),
    (C, "2024-03-05 09:00", 5, 5),
    (D, "2024-04-01 09:00", 1, 0),  # the old district's own desk
    (X, "2024-06-03 09:00", 3, 2),
    (Y, "2024-06-04 09:00", 2, 0),
    (X, "2025-01-06 09:00", 1, 1),
    (Y, "2025-04-01 09:00", 1, 0),
    (N, "2025-08-04 09:00", 2, 1),
    (N2, "2025-08-05 09:00", 1, 0),
    (A, "2025-08-06 09:00", 1, 1),  # sent after A ended: the loader moves it to its heir N
]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root = tmp_path_factory.mktemp("views")
    config = load_config(config_dir(root))
    wh = open_warehouse(root / "w.duckdb", config)
    rows = [
        dossier(f"{unit}-{received[:10]}-{i}", unit, received,
                channel="online" if i < online else "direct")
        for unit, received, count, online in ROWS
        for i in range(count)
    ]  # fmt: skip
    load(wh, rows)
    yield wh, config
    wh.close()


def rate(city, unit: str | None, view: str, span=Y2024) -> pl.DataFrame:
    wh, config = city
    filters = {"unit": unit} if unit else None
    return query(wh.cursor(), config, ["online_rate"], "total", *span, filters, view=view)


def counts(frame: pl.DataFrame) -> tuple[float, float]:
    assert frame.height == 1, frame
    return frame["online_rate_num"][0], frame["online_rate_den"][0]


def no_data(frame: pl.DataFrame) -> bool:
    """A total over no fact: the rate and both its sums are null ("no data"), never 0."""
    return counts(frame) == (None, None) and frame["online_rate"][0] is None


def test_config_reads_the_successions(city):
    _, config = city
    assert len(config.successions) == 5
    c_to_n = next(s for s in config.successions if s.old_code == C and s.new_code == N)
    assert (c_to_n.valid_from, c_to_n.share) == (NEW_START, 0.0)
    assert load_config().successions == ()  # the shipped file: no retired unit yet


def test_today_tree_puts_old_units_under_their_successor_for_their_own_dates(city):
    _, config = city
    today = unit_tree_today(config.units, config.successions)
    rows = {r for r in today.rows() if r[1] in (A, C, X)}
    assert rows == {
        (N, A, 0, date(2000, 1, 1), OLD_END),
        ("HCM", A, 1, date(2000, 1, 1), OLD_END),
        (N2, C, 0, date(2000, 1, 1), OLD_END),
        ("HCM", C, 1, date(2000, 1, 1), OLD_END),
        (Y, X, 0, date(2000, 1, 1), date(2025, 2, 28)),
        ("HCM", X, 1, date(2000, 1, 1), date(2025, 2, 28)),
    }
    # An old unit is nobody's ancestor today; a unit without a successor keeps its dated rows.
    assert not set(today["ancestor"]) & {A, B, C, X}
    dated = unit_tree(config.units)
    assert sorted(today.filter(pl.col("descendant") == N).rows()) == sorted(
        dated.filter(pl.col("descendant") == N).rows()
    )
    assert (N, N, 0, NEW_START, FAR_FUTURE) in today.rows()
    # Without successions, both trees are the same.
    assert sorted(unit_tree_today(config.units, ()).rows()) == sorted(dated.rows())


def test_a_new_ward_reads_its_old_wards_today_and_nothing_as_it_was(city):
    # Today: A (3 of 4 online) and B (1 of 2); not C, whose history goes to N2.
    assert counts(rate(city, N, "today")) == (3 + 1, 4 + 2)
    assert rate(city, N, "today")["online_rate"][0] == pytest.approx(100 * 4 / 6)
    assert counts(rate(city, N2, "today")) == (5, 5)
    # As it was, N did not exist in 2024: no data, not 0 (and the cache keeps the views apart).
    assert no_data(rate(city, N, "as_was"))
    # N's own 2 (1 online) and A's dossier sent after A ended, loaded under N (1 online).
    assert counts(rate(city, N, "as_was", (NEW_START, date(2025, 8, 31)))) == (1 + 1, 2 + 1)


def test_the_old_district_as_it_was_and_today(city):
    assert counts(rate(city, D, "as_was")) == (3 + 1 + 5 + 0, 4 + 2 + 5 + 1)
    assert counts(rate(city, D, "today")) == (0, 1)  # its own desk only: no successor


def test_a_merged_department_counts_in_its_successor_today(city):
    assert counts(rate(city, Y, "today")) == (2 + 0, 3 + 2)
    assert counts(rate(city, Y, "as_was")) == (0, 2)
    assert counts(rate(city, X, "as_was")) == (2, 3)
    assert no_data(rate(city, X, "today"))


def test_group_by_unit_lists_todays_units(city):
    wh, config = city

    def dens(view: str, unit: str | None = None) -> dict[str, float]:
        frame = query(wh.cursor(), config, ["online_rate"], "total", *Y2024,
                      {"unit": unit} if unit else None, ["unit"], view=view)  # fmt: skip
        return dict(zip(frame["unit_code"], frame["online_rate_den"], strict=True))

    today, as_was = dens("today"), dens("as_was")
    assert {k: today[k] for k in (N, N2, D, Y)} == {N: 6, N2: 5, D: 1, Y: 5}
    assert not set(today) & {A, B, C, X}
    assert {k: as_was[k] for k in (D, X, Y)} == {D: 12, X: 3, Y: 2}
    assert not set(as_was) & {N, N2}
    assert sum(today.values()) == sum(as_was.values()) == 4 + 2 + 5 + 1 + 3 + 2
    assert dens("today", N) == {N: 6}  # the old wards' facts are the new ward's own
    wards = query(wh.cursor(), config, ["online_rate"], "total", *Y2024,
                  {"unit_kind": "ward"}, ["unit"], view="today")  # fmt: skip
    assert N in set(wards["unit_code"]) and not set(wards["unit_code"]) & {A, B, C}


def test_the_city_total_is_the_same_in_both_views_every_month(city):
    wh, config = city
    span = (date(2024, 1, 1), date(2025, 12, 31))
    metrics = ["online_rate", "received_count"]
    today, as_was = (
        query(wh.cursor(), config, metrics, "month", *span, view=view)
        for view in ("today", "as_was")
    )
    assert today.height == 7  # Mar, Apr, May, Jun 2024; Jan, Apr, Aug 2025
    assert_frame_equal(today, as_was)
    # Day grain too (read from the day facts, not the monthly rollup).
    days = [query(wh.cursor(), config, metrics, "day", *span, view=v) for v in ("today", "as_was")]
    assert_frame_equal(*days)
    # August 2025: N's 2, N2's 1 and A's late one moved to N by the loader.
    august = today.filter(pl.col("period") == date(2025, 8, 1))
    assert august["received_count"].to_list() == [2 + 1 + 1]


def test_a_head_of_the_new_ward_reads_its_old_wards_today_but_not_the_old_district(city):
    with restricted(N):
        assert counts(rate(city, N, "today")) == (4, 6)
        with pytest.raises(ScopeError):
            rate(city, D, "today")
        with pytest.raises(ScopeError):
            rate(city, None, "today")


def test_today_is_the_default_and_an_unknown_view_is_refused(city):
    wh, config = city
    default = query(wh.cursor(), config, ["online_rate"], "total", *Y2024, {"unit": N})
    assert counts(default) == (4, 6)
    with pytest.raises(QueryError, match="unknown view 'then'"):
        rate(city, N, "then")
    assert issubclass(QueryError, ValueError)


@pytest.mark.parametrize(
    ("successions", "message"),
    [
        (
            f"old_code,new_code,valid_from,share\n{C},{N2},2025-07-01,1\n{C},{N},2025-07-01,0.5\n",
            rf"successions.csv: line 2, line 3: shares of old unit {C} sum to 1.5, not 1",
        ),
        (
            f"old_code,new_code,valid_from,share\n{C},{N2},2025-07-01,0.5\n{C},{N},2025-07-01,0.5\n",
            rf"successions.csv: line 2, line 3: old unit {C}: one successor must have share 1",
        ),
        (
            f"old_code,new_code,valid_from,share\n{A},{N},2025-07-02,1\n",
            rf"successions.csv: line 2: valid_from 2025-07-02 is not the day after {A}'s",
        ),
        (
            f"old_code,new_code,valid_from,share\n{A},NOPE,2025-07-01,1\n",
            r"successions.csv: line 2: unknown unit 'NOPE'",
        ),
        (
            f"old_code,new_code,valid_from,share\n{A},{N},2025-07-01,2\n",
            r"successions.csv: line 2: share must be between 0 and 1, not '2'",
        ),
        (
            f"old_code,new_code,valid_from,share\n{N},{N2},2025-07-01,1\n",
            rf"successions.csv: line 2: unit {N} is still valid",
        ),
    ],
)
def test_bad_successions_are_named_with_file_and_row(tmp_path: Path, successions, message):
    with pytest.raises(ConfigError, match=message):
        load_config(config_dir(tmp_path, successions))


def test_a_missing_successions_file_is_no_succession(tmp_path: Path):
    directory = config_dir(tmp_path)
    (directory / "successions.csv").unlink()
    assert load_config(directory).successions == ()
