"""Table-driven tests of the pure alert state machine (metrics/alerts/engine.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from base.rows import AlertState
from metrics.alerts.engine import Observation, evaluate, evaluate_feed
from metrics.alerts.rules import FeedWatch, Rule, Scope

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
STEP = timedelta(hours=1)

HIGHER = Rule(
    id="online_low",
    name_vi="x",
    name_en="x",
    metric="online_rate",
    direction="higher",
    scope=Scope("each", unit_kind="district"),
    window="month_to_date",
    mode="absolute",
    warning=80.0,
    critical=70.0,
    clear_margin=2.0,
    min_denominator=30,
    for_evaluations=2,
)
LOWER = replace(
    HIGHER, id="days_high", metric="avg_processing_days", direction="lower", warning=6.0,
    critical=9.0, clear_margin=0.5,
)  # fmt: skip
TARGETED = replace(HIGHER, mode="target", warning=5.0, critical=15.0)


def V(value, den=100.0, target=None):
    return Observation.of(value, den, target)


NO = Observation("no_data", detail="no_dossiers")
ERR = Observation("error", detail="boom")
STALE = Observation("stale", detail="demo 40 h old")


def run(rule, observations, silences=None, start=None):
    """Feed observations one per hour; return the states and the notified events."""
    state, states, notified, events = start, [], [], []
    for i, obs in enumerate(observations):
        now = T0 + i * STEP
        silenced_until = (silences or {}).get(i)
        ev = evaluate(state, obs, rule, now, silenced_until=silenced_until)
        state = ev.state
        states.append(state.state)
        events.append(ev.event)
        if ev.notify:
            notified.append(ev.event)
    return states, notified, events, state


CASES = [
    # (name, rule, observations, expected states, expected notifications)
    (
        "breach must persist for_evaluations before firing",
        HIGHER,
        [V(85), V(75), V(75), V(75)],
        ["ok", "pending", "firing", "firing"],
        ["firing"],
    ),
    (
        "a flapping series around the threshold never fires with for=2",
        HIGHER,
        [V(79), V(81), V(79), V(81), V(79), V(81)],
        ["pending", "ok", "pending", "ok", "pending", "ok"],
        [],
    ),
    (
        "a flapping series fires at most once when for=1 (clear margin holds it)",
        replace(HIGHER, for_evaluations=1),
        [V(79), V(81), V(79), V(81.5), V(79), V(81)],
        ["firing"] * 6,
        ["firing"],
    ),
    (
        "recovery needs the clear threshold, not just the warning threshold",
        replace(HIGHER, for_evaluations=1),
        [V(75), V(80.5), V(81.9), V(82.0), V(83)],
        ["firing", "firing", "firing", "resolved", "resolved"],
        ["firing", "resolved"],
    ),
    (
        "min denominator holds back: 1 of 2 dossiers is insufficient data, not 50%",
        replace(HIGHER, for_evaluations=1),
        [V(50, den=2), V(0, den=1), V(50, den=29)],
        ["insufficient_data"] * 3,
        [],
    ),
    (
        "stale feed → no_data, not critical",
        replace(HIGHER, for_evaluations=1),
        [V(85), STALE, STALE],
        ["ok", "no_data", "no_data"],
        [],
    ),
    (
        "a firing alert whose feed goes stale holds, then resumes without a second notification",
        replace(HIGHER, for_evaluations=1),
        [V(65), STALE, V(66), V(90)],
        ["firing", "no_data", "firing", "resolved"],
        ["firing", "resolved"],
    ),
    (
        "warning escalates to critical (notified) and steps down only past the margin",
        replace(HIGHER, for_evaluations=1),
        [V(78), V(65), V(71), V(73), V(85)],
        ["firing", "firing", "firing", "firing", "resolved"],
        ["firing", "escalated", "resolved"],
    ),
    (
        "lower-is-better: above the threshold is the breach",
        replace(LOWER, for_evaluations=1),
        [V(5), V(6.5), V(9.5), V(5.8), V(5.4)],
        ["ok", "firing", "firing", "firing", "resolved"],
        ["firing", "escalated", "resolved"],
    ),
    (
        "below target by N points: targets come with the observation",
        replace(TARGETED, for_evaluations=1),
        [V(82, target=85), V(79, target=85), V(69, target=85), V(88, target=85)],
        ["ok", "firing", "firing", "resolved"],
        ["firing", "escalated", "resolved"],
    ),
    (
        "no target for the year → no_data",
        replace(TARGETED, for_evaluations=1),
        [V(10, target=None)],
        ["no_data"],
        [],
    ),
    (
        "query error is its own state and is notified",
        replace(HIGHER, for_evaluations=1),
        [V(85), ERR, V(85)],
        ["ok", "error", "ok"],
        ["error"],
    ),
    ("no rows → no_data", HIGHER, [NO, NO], ["no_data", "no_data"], []),
]


@pytest.mark.parametrize(
    "rule, observations, states, notified",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_state_machine(rule, observations, states, notified):
    got_states, got_notified, _, _ = run(rule, observations)
    assert got_states == states
    assert got_notified == notified


def test_for_duration_also_holds_back_firing():
    rule = replace(HIGHER, for_evaluations=1, for_duration=timedelta(hours=2))
    states, _, _, _ = run(rule, [V(60)] * 4)
    assert states == ["pending", "pending", "firing", "firing"]


def test_silence_mutes_notifications_and_expires():
    rule = replace(HIGHER, for_evaluations=1)
    until = T0 + 2 * STEP  # silenced for evaluations 0 and 1, expired from evaluation 2 on
    silences = {i: until for i in range(6)}
    states, notified, events, _ = run(rule, [V(60), V(90), V(60), V(90)], silences=silences)
    assert states == ["firing", "resolved", "firing", "resolved"]
    assert events == ["firing", "resolved", "firing", "resolved"]
    assert notified == ["firing", "resolved"]  # only the ones after the silence expired


def test_state_records_episode_start_and_peak():
    rule = replace(HIGHER, for_evaluations=1)
    _, _, _, state = run(rule, [V(75), V(62), V(68)])
    assert state.state == "firing"
    assert state.started_at == T0
    assert state.peak_value == 62
    assert state.severity == "critical"
    lower = replace(LOWER, for_evaluations=1)
    _, _, _, state = run(lower, [V(7), V(12), V(8)])
    assert state.peak_value == 12


def test_reason_explains_the_state():
    ev = evaluate(None, V(50, den=3), HIGHER, T0)
    assert "only 3 dossiers" in ev.reason
    ev = evaluate(None, V(65), replace(HIGHER, for_evaluations=1), T0)
    assert "below the critical threshold 70" in ev.reason


WATCH = FeedWatch("demo", timedelta(days=1), timedelta(hours=12))


def test_stale_feed_has_its_own_alert_and_recovers():
    last = T0 - timedelta(hours=10)
    ev = evaluate_feed(None, last, WATCH, T0)
    assert ev.state.state == "ok" and not ev.notify
    ev2 = evaluate_feed(ev.state, last, WATCH, T0 + timedelta(hours=30))
    assert ev2.state.state == "stale" and ev2.notify and ev2.event == "stale"
    ev3 = evaluate_feed(ev2.state, last, WATCH, T0 + timedelta(hours=31))
    assert ev3.state.state == "stale" and not ev3.notify  # notified once
    ev4 = evaluate_feed(ev3.state, T0 + timedelta(hours=31), WATCH, T0 + timedelta(hours=32))
    assert ev4.state.state == "resolved" and ev4.notify
    assert evaluate_feed(None, None, WATCH, T0).state.state == "no_data"


def test_a_delivery_during_the_evaluation_is_zero_hours_old():
    ev = evaluate_feed(None, T0 + timedelta(seconds=2), WATCH, T0)
    assert ev.state.state == "ok" and ev.state.value == 0
    assert ev.why.text("vi").endswith("cách đây 0,0 giờ")


def test_unknown_previous_state_starts_clean():
    ev = evaluate(AlertState(), V(90), HIGHER, T0)
    assert ev.state.state == "ok" and ev.event is None
