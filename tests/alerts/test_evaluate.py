"""Evaluation against a real DuckDB file: instances, persistence, acks and silences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import metrics.alerts.evaluate as evaluate_module
from metrics.alerts.evaluate import window_range
from metrics.alerts.service import evaluate_after_load
from tests.alerts.conftest import frame, make_dossiers
from warehouse import Batch
from warehouse import alerts_store as store
from warehouse.db import scalar


def states(wh) -> dict[str, str]:
    rows = wh.cursor().execute("SELECT alert_key, state FROM alert_instance").fetchall()
    return dict(rows)


def run(wh, alerts, now=None):
    return evaluate_after_load(wh, now or datetime.now(UTC), alerts=alerts, env={})


def test_one_query_per_rule_grouped_by_unit(wh, alerts, monkeypatch):
    calls = []
    real = evaluate_module.query

    def counting(*args, **kwargs):
        calls.append(kwargs.get("by"))
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluate_module, "query", counting)
    summary = run(wh, alerts)
    assert calls == [["unit"]]
    districts = {u.code for u in wh.config.units if u.kind == "district"}
    keys = set(states(wh))
    assert {f"online_district/{d}" for d in districts} | {"stale/desk"} == keys
    assert summary.instances == len(keys)


def test_unit_below_critical_fires_after_two_evaluations_and_is_stored(wh, alerts):
    run(wh, alerts)
    s = states(wh)
    assert s["online_district/Q8"] == "pending"
    assert s["online_district/Q1"] == "ok"
    assert s["online_district/CGIO"] == "insufficient_data"  # 3 dossiers < 20
    assert s["online_district/Q3"] == "no_data"
    assert s["stale/desk"] == "ok"
    run(wh, alerts)
    active = store.active_alerts(wh.cursor())
    assert [a.key for a in active] == ["online_district/Q8"]
    a = active[0]
    assert (a.severity, a.value, a.denominator, a.threshold) == ("critical", 50.0, 40.0, 70.0)
    assert a.started_at is not None and a.peak_value == 50.0
    assert "below the critical threshold 70" in a.reason
    events = [e["event"] for e in store.alert_history(wh.cursor(), "online_district/Q8")]
    assert events == ["firing", "pending"]
    # Keys are stable: more runs update the same rows and add no events.
    n = scalar(wh.cursor(), "SELECT count(*) FROM alert_instance")
    run(wh, alerts)
    assert scalar(wh.cursor(), "SELECT count(*) FROM alert_instance") == n
    assert len(store.alert_history(wh.cursor(), "online_district/Q8")) == 2


def test_recovery_by_a_new_batch_resolves_and_keeps_history(wh, alerts):
    run(wh, alerts)
    run(wh, alerts)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    more = make_dossiers("Q8-P05", 160, 160, yesterday, prefix="late-")  # Q8 → 180/200 = 90%
    assert wh.load(Batch("desk", dossiers=frame(more))).status == "ok"
    run(wh, alerts)
    assert states(wh)["online_district/Q8"] == "resolved"
    assert store.active_alerts(wh.cursor()) == []
    events = [e["event"] for e in store.alert_history(wh.cursor(), "online_district/Q8")]
    assert events == ["resolved", "firing", "pending"]


def test_stale_feed_raises_its_own_alert_and_sends_units_to_no_data(wh, alerts):
    run(wh, alerts)
    run(wh, alerts)
    later = datetime.now(UTC) + timedelta(days=2)  # desk expected daily (+6 h grace)
    run(wh, alerts, now=later)
    s = states(wh)
    assert s["stale/desk"] == "stale"
    assert s["online_district/Q8"] == "no_data"  # not critical: the feed is late
    assert s["online_district/Q1"] == "no_data"
    assert store.active_alerts(wh.cursor(), severity=None) == []
    row = store.alert_instances(wh.cursor(), states=["no_data"], unit_code="Q8")[0]
    assert "feed stale: desk" in row.reason and "was firing" in row.reason


def test_acknowledge_records_who_and_when_and_ends_with_the_episode(wh, alerts):
    run(wh, alerts)
    run(wh, alerts)
    now = datetime.now(UTC)
    store.acknowledge(wh.db, "online_district/Q8", "Nguyễn Văn A", "calling the district", now)
    a = store.active_alerts(wh.cursor())[0]
    assert (a.acked_by, a.ack_note) == ("Nguyễn Văn A", "calling the district")
    assert abs((a.acked_at - now).total_seconds()) < 1
    assert store.active_alerts(wh.cursor(), include_acknowledged=False) == []
    with pytest.raises(store.AlertActionError, match="who"):
        store.acknowledge(wh.db, "online_district/Q8", "  ", None, now)
    with pytest.raises(store.AlertActionError, match="nothing to acknowledge"):
        store.acknowledge(wh.db, "online_district/Q1", "B", None, now)


def test_silence_records_who_why_until_and_mutes_notifications(wh, alerts):
    run(wh, alerts)  # Q8 pending
    now = datetime.now(UTC)
    until = now + timedelta(hours=4)
    store.silence(wh.db, "online_district/Q8", "Trần B", "district reporting outage", until, now)
    run(wh, alerts)  # fires while silenced
    a = store.active_alerts(wh.cursor())[0]
    assert (a.silenced_by, a.silence_reason) == ("Trần B", "district reporting outage")
    assert abs((a.silenced_until - until).total_seconds()) < 1
    firing = store.alert_history(wh.cursor(), "online_district/Q8")[0]
    assert firing["event"] == "firing" and firing["silenced"] and not firing["notify"]
    with pytest.raises(store.AlertActionError, match="why"):
        store.silence(wh.db, "online_district/Q8", "Trần B", "", until, now)
    with pytest.raises(store.AlertActionError, match="future"):
        store.silence(wh.db, "online_district/Q8", "Trần B", "x", now - timedelta(1), now)
    # After the silence ends, the alert shows as unsilenced.
    assert store.active_alerts(wh.cursor(), now=until + timedelta(minutes=1))[0].silenced is False


def test_the_firing_alerts_are_read_once_until_a_write_or_a_silence_ends(wh, alerts, monkeypatch):
    """Every wall poll asks which alerts fire: kept in memory, but an acknowledgement (a
    commit) shows on the next poll, and so does a silence running out (the clock)."""
    import time

    run(wh, alerts)
    run(wh, alerts)  # Q8 fires
    reads = []
    real = store.alert_instances
    monkeypatch.setattr(store, "alert_instances", lambda *a, **k: reads.append(1) or real(*a, **k))
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    store.silence(wh.db, "online_district/Q8", "Trần B", "outage", until, datetime.now(UTC))
    assert [a.silenced for a in store.active_alerts(wh.cursor())] == [True]
    assert [a.silenced for a in store.active_alerts(wh.cursor())] == [True]
    assert len(reads) == 1
    store.acknowledge(wh.db, "online_district/Q8", "Lê C", None, datetime.now(UTC))
    assert [a.acked_by for a in store.active_alerts(wh.cursor())] == ["Lê C"]
    assert len(reads) == 2
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.05)
    assert [a.silenced for a in store.active_alerts(wh.cursor())] == [False]
    assert [a.silenced for a in store.active_alerts(wh.cursor())] == [False]
    assert len(reads) == 3


def test_windows_are_local_calendar_ranges():
    from datetime import date

    today = date(2026, 11, 23)
    assert window_range("month_to_date", today) == (date(2026, 11, 1), today)
    assert window_range("last_7_days", today) == (date(2026, 11, 17), today)
    assert window_range("last_30_days", today) == (date(2026, 10, 25), today)
    assert window_range("last_closed_month", today) == (date(2026, 10, 1), date(2026, 10, 31))
    assert window_range("last_closed_quarter", today) == (date(2026, 7, 1), date(2026, 9, 30))
    assert window_range("last_closed_quarter", date(2026, 2, 1)) == (
        date(2025, 10, 1),
        date(2025, 12, 31),
    )


def test_every_instance_is_read_once_for_the_alerts_page_until_a_write(wh, alerts, monkeypatch):
    """The alerts page filters one read of every instance (its sections, filters and action
    list): the same rows, in the same order, as the filtered statement."""
    run(wh, alerts)
    run(wh, alerts)
    reads = []
    real = store.alert_instances
    monkeypatch.setattr(store, "alert_instances", lambda *a, **k: reads.append(1) or real(*a, **k))
    every = store.current_alerts(wh.cursor())
    assert store.current_alerts(wh.cursor()) == every and len(reads) == 1
    firing = [a for a in every if a.state == "firing"]
    assert firing == real(wh.cursor(), states=["firing"]) and firing
    store.acknowledge(wh.db, firing[0].key, "Lê C", None, datetime.now(UTC))
    assert [a.acked_by for a in store.current_alerts(wh.cursor()) if a.key == firing[0].key] == [
        "Lê C"
    ]
    assert len(reads) == 2
