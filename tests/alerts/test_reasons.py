"""Alert reasons are data: the engine's reasons read the same in English as the stored text
notifications carry, read in Vietnamese on the pages, and survive the store's JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from string import Formatter

import pytest

from metrics.alerts.engine import Observation, evaluate, evaluate_feed
from metrics.alerts.reasons import EVENTS, MESSAGES, Formats, Reason, event_word
from metrics.alerts.rules import FeedWatch
from tests.alerts.test_engine import HIGHER, T0


def test_every_message_reads_in_both_languages_with_the_same_values():
    def names(template: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(template) if name}

    for key, text in MESSAGES.items():
        assert set(text) == {"vi", "en"}, key
        assert names(text["vi"]) == names(text["en"]), key


def test_breach_reads_in_vietnamese_with_vietnamese_numbers():
    why = Reason.of("breach", value=33.333, side="below", severity="critical", threshold=70.0)
    assert why.text("en") == "33.33 is below the critical threshold 70"
    assert why.text("vi") == "33,33 thấp hơn ngưỡng nghiêm trọng 70"
    percent = Formats(value=lambda x: f"{x:.1f}%".replace(".", ","))
    assert why.text("vi", percent) == "33,3% thấp hơn ngưỡng nghiêm trọng 70,0%"


def test_a_reason_survives_its_json_and_an_unknown_one_is_none():
    since = datetime(2026, 11, 30, 3, 15, tzinfo=UTC)
    why = Reason.of("no_value") + Reason.of("was_firing", severity="warning", since=since)
    back = Reason.from_json(why.to_json())
    assert back == why
    assert back.text("en") == "no value in the window; was firing (warning) since 2026-11-30 03:15"
    assert "đang cảnh báo (cảnh báo) từ" in back.text("vi")
    assert Reason.from_json(None) is None
    assert Reason.from_json('[["a_message_of_a_later_version", {}]]') is None
    with pytest.raises(KeyError):
        Reason.of("no_such_message")


def test_engine_reasons_are_worded_from_data():
    obs = [Observation.of(50.0, 100, 85.0)] * 3
    prev = None
    for o in obs:
        ev = evaluate(prev, o, HIGHER, T0)
        prev = ev.state
    assert ev.reason == ev.why.text("en") == ev.state.reason
    assert "is below the" in ev.reason
    assert "thấp hơn ngưỡng" in ev.why.text("vi")
    few = evaluate(None, Observation.of(50.0, 3, 85.0), HIGHER, T0)
    assert few.reason == "only 3 dossiers (minimum 30)"
    assert few.why.text("vi") == "chỉ có 3 hồ sơ (tối thiểu 30)"


def test_feed_reasons_read_in_vietnamese():
    watch = FeedWatch("desk", timedelta(hours=24), timedelta(hours=2))
    late = evaluate_feed(None, T0 - timedelta(hours=30), watch, T0)
    assert late.reason == "feed desk: last delivery 30.0 h ago, expected every 24 h (+2 h grace)"
    assert late.why.text("vi") == (
        "nguồn desk: lần gửi gần nhất cách đây 30,0 giờ, cần gửi mỗi 24 giờ (cho phép trễ 2 giờ)"
    )


def test_every_event_has_a_word_in_both_languages():
    for event in (*EVENTS, "no_data", "ok", "insufficient_data"):
        assert event_word(event, "vi") != event_word(event, "en") or event == "ok"
    assert event_word("firing", "vi").upper() == "CẢNH BÁO"


def test_a_value_just_past_its_threshold_never_reads_as_the_threshold():
    from config import load_config
    from dashboards import _format as fmt

    online = load_config().metrics["online_rate"]  # one decimal
    more = online.decimals + 3

    def digits(value: float, limit: float) -> int:
        return fmt.decimals_apart(value, limit, online.decimals, more)

    assert (fmt.metric_value(online, 89.99, "vi", digits(89.99, 90.0)),
            fmt.metric_value(online, 90.0, "vi", digits(89.99, 90.0))) == ("89,99%", "90,00%")  # fmt: skip
    assert digits(63.29, 70.0) == digits(90.0, 90.0) == online.decimals
    assert digits(89.99999, 90.0) == more  # at most 3 more
