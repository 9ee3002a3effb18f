"""Board helpers without a browser: export safety, freshness, the overdue list, URL state."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from config import load_config
from dashboards._export import safe_cell, to_csv, to_xlsx
from metrics.dossiers import overdue
from metrics.freshness import as_of, freshness
from tests.helpers import dossier, dossiers
from warehouse import Batch, open_warehouse


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx"])
def test_formula_like_cells_get_an_apostrophe(text):
    assert safe_cell(text) == "'" + text
    assert safe_cell(12.5) == 12.5 and safe_cell("Quận 1") == "Quận 1"


def test_csv_carries_metadata_then_the_table():
    data = to_csv([("a", "A"), ("b", "=B")], [{"a": 1, "b": "=cmd()"}], [("as_of", "now")])
    text = data.decode("utf-8-sig")
    assert text.startswith("# as_of: now\n\n")
    rows = list(csv.reader(io.StringIO(text.split("\n\n", 1)[1])))
    assert rows == [["A", "'=B"], ["1", "'=cmd()"]]
    assert to_xlsx([("a", "A")], [{"a": 1}], [("k", "v")])[:2] == b"PK"


@pytest.fixture
def wh(tmp_path: Path):
    w = open_warehouse(tmp_path / "w.duckdb", load_config())
    yield w
    w.close()


def test_overdue_lists_late_and_open_past_due_dossiers_sorted_and_paged(wh):
    rows = [
        dossier("late", "Q1-BENNGHE", "2026-03-02 09:00", completed="2026-03-10 09:00", due_days=3),
        dossier("ontime", "Q1-BENNGHE", "2026-03-02 09:00", completed="2026-03-03 09:00"),
        dossier("open", "Q1-BENNGHE", "2026-03-04 09:00", due_days=1),
        dossier("elsewhere", "Q3-P01", "2026-03-02 09:00", completed="2026-03-20 09:00"),
    ]
    assert wh.load(Batch("t", dossiers=dossiers(rows))).status == "ok"
    now = datetime(2026, 3, 6, tzinfo=UTC)
    page = overdue(wh.cursor(), "Q1", date(2026, 3, 1), date(2026, 3, 31), now=now)
    assert page.total == 2
    assert [r["dossier_id"] for r in page.rows] == ["late", "open"]  # most days late first
    page = overdue(wh.cursor(), "Q1", date(2026, 3, 1), date(2026, 3, 31),
                   sort=[("received_at", "desc")], offset=1, limit=1, now=now)  # fmt: skip
    assert [r["dossier_id"] for r in page.rows] == ["late"] and page.total == 2
    # The sector is the procedure's, joined only when the list is filtered or sorted by it.
    march = ("Q1", date(2026, 3, 1), date(2026, 3, 31))
    by_sector = overdue(wh.cursor(), *march, sort=[("sector_code", "asc")], now=now)
    assert by_sector.total == 2 and {r["sector_code"] for r in by_sector.rows} == {"chung_thuc"}
    assert overdue(wh.cursor(), *march, sectors=["chung_thuc"], now=now).total == 2
    assert overdue(wh.cursor(), *march, sectors=["dat_dai"], now=now).total == 0
    with pytest.raises(ValueError):
        overdue(wh.cursor(), "Q1", date(2026, 3, 1), date(2026, 3, 31), sort=[("1; DROP", "asc")])


def test_paging_through_equally_late_dossiers_shows_each_once(wh):
    """The page is found from the sort keys and read whole afterwards: ties (here 12 dossiers
    exactly as late) still fall in one order, so no page repeats or skips one."""
    rows = [dossier(f"d{i:02}", "Q1-BENNGHE", "2026-03-02 09:00", completed="2026-03-09 09:00")
            for i in range(12)]  # fmt: skip
    rows.append(dossier("worst", "Q1-BENNGHE", "2026-03-02 09:00", completed="2026-03-20 09:00"))
    assert wh.load(Batch("t", dossiers=dossiers(rows))).status == "ok"
    pages = [overdue(wh.cursor(), "Q1", date(2026, 3, 1), date(2026, 3, 31), offset=o, limit=5)
             for o in (0, 5, 10)]  # fmt: skip
    seen = [r["dossier_id"] for p in pages for r in p.rows]
    assert seen[0] == "worst" and sorted(seen[1:]) == [f"d{i:02}" for i in range(12)]
    assert {p.total for p in pages} == {13}
    assert pages[0].rows[0]["days_late"] == 15.0 and pages[0].rows[1]["sector_code"] is not None


@pytest.mark.parametrize("column", ["days_late", "received_at", "due_at"])
@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_a_one_number_sort_pages_as_the_general_sort_does(wh, column, direction):
    """One number (the default sort among them) is read in one pass; the same sort given twice
    takes the general path. Every page, ties and the count must agree."""
    rows = [dossier(f"d{i:02}", "Q1-BENNGHE", f"2026-03-0{1 + i % 3} 09:00",
                    completed=f"2026-03-{10 + i % 4} 09:00" if i % 5 else None,
                    due_days=1 + i % 2) for i in range(20)]  # fmt: skip
    assert wh.load(Batch("t", dossiers=dossiers(rows))).status == "ok"
    now = datetime(2026, 3, 31, tzinfo=UTC)

    def pages(sort):
        return [overdue(wh.cursor(), "Q1", date(2026, 3, 1), date(2026, 3, 31), sort=sort,
                        offset=o, limit=4, now=now) for o in range(0, 24, 4)]  # fmt: skip

    one, general = pages([(column, direction)]), pages([(column, direction)] * 2)
    assert [p.total for p in one] == [p.total for p in general] == [20] * 6
    assert [p.rows for p in one] == [p.rows for p in general]
    assert len({r["dossier_id"] for p in one for r in p.rows}) == 20


def test_a_source_is_stale_when_its_last_success_is_too_old(wh):
    rows = [dossier("a", "Q1-BENNGHE", "2026-03-02 09:00")]
    wh.load(Batch("t", dossiers=dossiers(rows)), now=datetime(2026, 3, 3, tzinfo=UTC))
    later = datetime.now(UTC) + timedelta(hours=2)  # the batch finished (real clock) before
    fresh = freshness(wh.cursor(), {"t": timedelta(hours=1)}, now=later,
                      sources=["never_ran"])  # fmt: skip
    assert fresh["t"].stale and fresh["never_ran"].stale
    assert as_of(fresh) is not None
    assert not freshness(wh.cursor(), {"t": timedelta(days=100000)})["t"].stale


def test_freshness_shows_a_failed_run_that_loaded_nothing(wh):
    """Freshness is cached; a failed run changes no data version but must still show."""
    rows = [dossier("a", "Q1-BENNGHE", "2026-03-02 09:00")]
    wh.load(Batch("t", dossiers=dossiers(rows)), now=datetime(2026, 3, 3, tzinfo=UTC))
    assert freshness(wh.cursor())["t"].last_status == "ok"
    wh.loader.record_failure(Batch("t"), "ConnectionError: source down")
    after = freshness(wh.cursor())["t"]
    assert (after.last_status, after.last_error) == ("failed", "ConnectionError: source down")
    assert after.total_loaded == 1 and after.batches == 2


def test_the_view_a_unit_page_opens_with_is_the_one_its_url_gives_without_arguments():
    """bench/boards.py and bench.load send `opening_view` as the store a page opens with."""
    from dashboards._view import opening_view, view_from_query

    today = date(2026, 12, 1)
    assert opening_view("Q1", today) == view_from_query(load_config(), "Q1", {}, today)
    assert opening_view("Q1", today).start == date(2026, 1, 1)
