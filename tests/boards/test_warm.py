"""After a load the wall boards, the unit pages viewed lately and every unit's page as it first
opens are computed in the background (dashboards/_warm.py), so the first screen to ask gets
cached answers of the new data."""

from __future__ import annotations

import itertools
import threading
from datetime import date, datetime, timedelta

from dashboards._recent import RecentViews
from metrics.query import CACHE
from tests.helpers import dossier, dossiers
from warehouse import Batch


def _load(wh, ids: range) -> None:
    day = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%d 09:00")
    rows = [dossier(f"d{i}", "Q1-BENNGHE", day, channel="online" if i % 2 else "direct")
            for i in ids]  # fmt: skip
    assert wh.load(Batch("desk", dossiers=dossiers(rows))).status == "ok"


def _wall_tiles(server) -> str:
    from dashboards import wall
    from dashboards._wall_config import wall_config

    with server.test_request_context("/wall"):
        return str(wall.render_board(wall_config().boards[0], "en"))


def test_after_warming_the_wall_and_city_page_read_only_cached_answers(wh, server):
    from dashboards import units
    from dashboards._warm import warm

    _load(wh, range(10))
    warm(server)
    misses = CACHE.misses
    before = _wall_tiles(server)
    with server.test_request_context("/units"):
        units.layout()
    assert CACHE.misses == misses  # nothing computed again: every query was warm

    _load(wh, range(10, 30))  # a new load: new data version, the warm answers are of it
    warm(server)
    misses = CACHE.misses
    after = _wall_tiles(server)
    assert CACHE.misses == misses and after != before


def test_the_warm_up_leaves_the_escalation_to_the_viewers(wh, server, monkeypatch):
    """Open dossiers change level by the clock: read as of the minute a page opens, they are
    not kept by data version, so warming them would be work thrown away."""
    from dashboards import _escalation, units
    from dashboards._warm import warm

    reads = []
    real = _escalation.read
    monkeypatch.setattr(_escalation, "read", lambda v: reads.append(v.unit) or real(v))
    _load(wh, range(10))
    warm(server)
    assert reads == []
    with server.test_request_context("/units/Q1-BENNGHE"):
        page = units.layout("Q1-BENNGHE")
    assert reads == []  # the page draws first; its escalation panel reads as the browser asks
    with server.test_request_context("/_dash-update-component"):
        strip, card = units.escalation_panel(page["units-view"].data)
    assert reads == ["Q1-BENNGHE"] and "units-sla-red" in str(strip)
    assert "units-escalation" in str(card)


def test_a_unit_page_viewed_lately_is_warm_after_the_next_load(wh, server, monkeypatch):
    from dashboards import _warm, units

    monkeypatch.setattr(_warm, "RECENT", RecentViews())
    monkeypatch.setattr(units, "RECENT", _warm.RECENT)
    _load(wh, range(10))
    with server.test_request_context("/units/Q1-BENNGHE"):
        units.layout("Q1-BENNGHE", grain="quarter", lang="en")  # someone looks at the ward

    _load(wh, range(10, 30))
    _warm.warm(server)
    misses = CACHE.misses
    with server.test_request_context("/units/Q1-BENNGHE"):
        page = str(units.layout("Q1-BENNGHE", grain="quarter", lang="vi"))
    assert CACHE.misses == misses  # the ward's queries were warm, in either language
    assert "Q1-BENNGHE" in page or "Bến Nghé" in page

    with server.test_request_context("/units/Q1"):  # a view nobody looked at stays cold
        units.layout("Q1", grain="quarter")
    assert CACHE.misses > misses


def test_every_units_page_as_it_first_opens_is_warm_after_a_load(wh, server, config, monkeypatch):
    from base.tz import local_today
    from dashboards import _warm, units

    monkeypatch.setattr(_warm, "RECENT", RecentViews())
    _warm.RECENT.note("HCM", {})  # the city page, viewed: still warmed once
    _warm.RECENT.note("Q8", {"grain": "quarter"})
    _warm.RECENT.note("Q3", {})
    today = local_today()
    views = list(_warm.unit_views(config, today))
    assert views[:3] == [(None, {}), ("Q3", {}), ("Q8", {"grain": "quarter"})]
    by_sector = views[-len(config.sectors) :]
    assert by_sector == [(None, {"sector": s}) for s in config.sectors]  # last: one click away
    codes = [code for code, args in views[1:] if not args]
    current = [u.code for u in config.units if u.valid_on(today) and u.parent_code]
    assert sorted(codes) == sorted(current)  # each once; the city page is views[0]
    depth = {c: len(config.ancestors(c, today)) for c in codes[1:]}
    assert [depth[c] for c in codes[1:]] == sorted(depth.values())  # districts before wards

    _load(wh, range(10))
    _warm.warm(server)
    misses = CACHE.misses
    for code in ("Q8", "Q1-BENTHANH", "SO-TP"):
        with server.test_request_context(f"/units/{code}"):
            page = units.layout(code, lang="en")
            view = page["units-view"].data  # the store the page's second callback reads
            assert "units-prog-" in str(units.programmes(view))
    with server.test_request_context("/units/HCM"):
        units.layout("HCM", sector=next(iter(config.sectors)))
    assert CACHE.misses == misses


def test_a_load_during_a_warm_up_stops_it(wh, server, monkeypatch):
    from dash import html

    from dashboards import _warm, units

    _load(wh, range(10))
    pages, stale = [], [False]

    def layout(code=None, **_args):
        pages.append(code)
        stale[0] = len(pages) == 3  # a load arrives while the third page is computed
        return html.Div()  # a page without a view: its sections are not asked for

    monkeypatch.setattr(units, "layout", layout)
    from dashboards._wall_config import wall_config

    computed = _warm.warm(server, stale=lambda: stale[0])
    # The boards, the alerts page's projections, 3 unit pages.
    assert len(pages) == 3 and computed == len(wall_config().boards) + 1 + 3


def test_recent_views_keep_the_newest_few_and_forget_old_ones(monkeypatch):
    from dashboards import _warm

    clock = [1000.0]
    monkeypatch.setattr(_warm.time, "monotonic", lambda: clock[0])
    recent = RecentViews(size=2, ttl=60)
    recent.note("Q1", {"lang": "en"})
    recent.note("Q3", {})
    recent.note("Q1", {"lang": "vi"})  # the same view in another language: one view
    assert recent.views() == [("Q1", {}), ("Q3", {})]
    recent.note("Q5", {"range": "ytd"})
    assert recent.views() == [("Q5", {"range": "ytd"}), ("Q1", {})]  # Q3 dropped: size 2
    with recent.replaying():
        recent.note("Q7", {})  # the warm-up's own replays are not views
    assert ("Q7", {}) not in recent.views()
    clock[0] += 61
    assert recent.views() == []  # nobody looked for over a minute


def _idle(warmer) -> None:
    for _ in range(200):
        with warmer._lock:
            if not warmer._running:
                return
        threading.Event().wait(0.05)
    raise AssertionError("the warm-up did not finish")


def test_a_burst_of_loads_warms_at_most_twice(server, monkeypatch):
    from dashboards import _warm

    started, release, runs = threading.Event(), threading.Event(), []

    def slow_warm(_server, stale):
        runs.append(1)
        started.set()
        release.wait(10)
        return 0

    monkeypatch.setattr(_warm, "warm", slow_warm)
    versions = iter(range(100))
    warmer = _warm.Warmer(server, lambda: next(versions))  # every run sees a new load
    warmer()
    assert started.wait(10)
    for _ in range(5):  # loads during the run: one more run, not five
        warmer()
    release.set()
    _idle(warmer)
    assert len(runs) == 2


def test_no_warm_up_when_nothing_new_was_loaded(wh, server, monkeypatch):
    from dashboards import _warm

    runs = []
    monkeypatch.setattr(_warm, "warm", lambda _server, stale: runs.append(1) or 0)
    warmer = _warm.Warmer(server, wh.data_version)
    _load(wh, range(3))
    warmer()
    _idle(warmer)
    warmer()  # a feed run that loaded nothing: the cache is still of the current data
    _idle(warmer)
    assert len(runs) == 1
    _load(wh, range(3, 6))
    warmer()
    _idle(warmer)
    assert len(runs) == 2


def test_no_warm_up_with_the_cache_off(wh, server, monkeypatch):
    from dashboards import _warm

    runs = []
    monkeypatch.setattr(_warm, "warm", lambda _server, stale: runs.append(1) or 0)
    monkeypatch.setattr(CACHE, "enabled", False)  # IOC_QUERY_CACHE=off: nothing would be kept
    warmer = _warm.Warmer(server, wh.data_version)
    warmer()
    _idle(warmer)
    assert runs == [] and warmer.state()["warmed_version"] is None


def test_the_unit_pages_to_warm_end_when_the_hierarchy_loops(monkeypatch):
    from types import SimpleNamespace

    from dashboards import _warm

    class Looping:  # A and B each the other's child: overlapping validity rows can do that
        root, sectors = SimpleNamespace(code="HCM"), {}

        def children(self, code, _today):
            return [SimpleNamespace(code={"HCM": "A", "A": "B", "B": "A"}[code])]

    monkeypatch.setattr(_warm, "RECENT", RecentViews())
    views = list(itertools.islice(_warm.unit_views(Looping(), date.today()), 10))
    assert views == [(None, {}), ("A", {}), ("B", {})]
