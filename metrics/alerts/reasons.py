"""Why an alert is in its state, as data: worded in Vietnamese or English when it is shown.

The engine builds a `Reason` (message keys with their values) instead of an English sentence, and
the store keeps it as JSON beside the English text (which notifications and older rows carry).
A page words it in the viewer's language, with its own number and time formats:

    Reason.of("breach", value=33.3, side="below", severity="critical", threshold=70).text("vi")
    → "33,3 thấp hơn ngưỡng nghiêm trọng 70"
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Each message's parts are joined as they are: a message that continues another one carries
# its own leading separator.
MESSAGES: dict[str, dict[str, str]] = {
    "error": {"en": "evaluation failed: {detail}", "vi": "không tính được: {detail}"},
    "stale": {"en": "feed stale: {detail}", "vi": "nguồn dữ liệu trễ: {detail}"},
    "no_dossiers": {"en": "no dossiers in the window",
                    "vi": "không có hồ sơ trong khoảng thời gian"},
    "no_value": {"en": "no value in the window", "vi": "không có giá trị trong khoảng thời gian"},
    "few": {"en": "only {denominator} dossiers (minimum {minimum})",
            "vi": "chỉ có {denominator} hồ sơ (tối thiểu {minimum})"},
    "no_target": {"en": "no target for this year", "vi": "chưa có chỉ tiêu cho năm này"},
    "keep": {"en": " (rule keeps the last state: {state})",
             "vi": " (quy tắc giữ trạng thái trước: {state})"},
    "was_firing": {"en": "; was firing ({severity}) since {since}",
                   "vi": "; đang cảnh báo ({severity}) từ {since}"},
    "recovered": {"en": "recovered: {value} is past the clear level {clear_at}",
                  "vi": "đã trở lại: {value} đã qua mức hết cảnh báo {clear_at}"},
    "inside": {"en": "{value} is back inside {base} but not past the clear margin",
               "vi": "{value} đã trở lại trong ngưỡng {base} nhưng chưa qua mức hết cảnh báo"},
    "breach": {"en": "{value} is {side} the {severity} threshold {threshold}",
               "vi": "{value} {side} ngưỡng {severity} {threshold}"},
    "within": {"en": "{value} is within the thresholds", "vi": "{value} nằm trong ngưỡng"},
    "not_persisted": {"en": "breach did not persist ({count} of {needed}); ",
                      "vi": "vượt ngưỡng không kéo dài ({count}/{needed} lần); "},
    "for_count": {"en": " for {count} evaluations", "vi": " trong {count} lần đánh giá liên tiếp"},
    "pending_count": {"en": " ({count} of {needed} evaluations)",
                      "vi": " ({count}/{needed} lần đánh giá)"},
    "feed_never": {"en": "feed {source} has never delivered",
                   "vi": "nguồn {source} chưa từng gửi dữ liệu"},
    "feed_late": {"en": "feed {source}: last delivery {hours} h ago, expected every {every} h"
                        " (+{grace} h grace)",
                  "vi": "nguồn {source}: lần gửi gần nhất cách đây {hours} giờ, cần gửi mỗi"
                        " {every} giờ (cho phép trễ {grace} giờ)"},
    "feed_ok": {"en": "feed {source}: last delivery {hours} h ago",
                "vi": "nguồn {source}: lần gửi gần nhất cách đây {hours} giờ"},
}  # fmt: skip

WORDS: dict[str, dict[str, str]] = {
    "below": {"vi": "thấp hơn", "en": "below"},
    "above": {"vi": "cao hơn", "en": "above"},
}
STATES: dict[str, dict[str, str]] = {
    "ok": {"vi": "bình thường", "en": "ok"},
    "pending": {"vi": "chờ xác định", "en": "pending"},
    "firing": {"vi": "đang cảnh báo", "en": "firing"},
    "resolved": {"vi": "đã hết", "en": "resolved"},
    "no_data": {"vi": "không có dữ liệu", "en": "no data"},
    "insufficient_data": {"vi": "không đủ dữ liệu", "en": "insufficient data"},
    "error": {"vi": "lỗi", "en": "error"},
    "stale": {"vi": "nguồn trễ", "en": "stale"},
}
SEVERITIES: dict[str, dict[str, str]] = {
    "critical": {"vi": "Nghiêm trọng", "en": "Critical"},
    "warning": {"vi": "Cảnh báo", "en": "Warning"},
}

# A transition is an event of its own (firing, escalated …) or the state it went to.
EVENTS: dict[str, dict[str, str]] = {
    "firing": {"vi": "cảnh báo", "en": "firing"},
    "escalated": {"vi": "nghiêm trọng hơn", "en": "escalated"},
    "downgraded": {"vi": "giảm mức", "en": "downgraded"},
    "resumed": {"vi": "cảnh báo tiếp", "en": "resumed"},
    "resolved": {"vi": "đã hết", "en": "resolved"},
    "pending": {"vi": "chờ xác định", "en": "pending"},
    "cleared": {"vi": "không kéo dài", "en": "cleared"},
    "stale": {"vi": "nguồn dữ liệu trễ", "en": "feed stale"},
    "error": {"vi": "lỗi đánh giá", "en": "evaluation error"},
}


def event_word(event: str, lang: str) -> str:
    return (EVENTS.get(event) or STATES.get(event) or {}).get(lang, event)


def _decimal(text: str, lang: str) -> str:
    return text.replace(".", ",") if lang == "vi" else text


@dataclass(frozen=True)
class Formats:
    """How a page writes the values in a reason: metric values (`value`, thresholds), counts,
    hours, instants. The defaults are the stored English text's (4 significant digits, UTC)."""

    value: Callable[[float], str] | None = None
    count: Callable[[float], str] | None = None
    moment: Callable[[datetime], str] | None = None


# Which values are metric values, counts and hours, by their name in MESSAGES.
_VALUES = {"value", "threshold", "clear_at", "base"}
_COUNTS = {"denominator", "minimum", "count", "needed", "every", "grace"}


def _word(name: str, raw: Any, lang: str, formats: Formats) -> str:
    if raw is None:
        return "–"
    if name in _VALUES:
        return formats.value(raw) if formats.value else _decimal(f"{raw:.4g}", lang)
    if name in _COUNTS:
        return formats.count(raw) if formats.count else _decimal(f"{raw:g}", lang)
    if name == "hours":
        return _decimal(f"{raw:.1f}", lang)
    if name == "since":
        moment = datetime.fromisoformat(raw)
        return formats.moment(moment) if formats.moment else f"{moment:%Y-%m-%d %H:%M}"
    if name == "state":
        return STATES.get(raw, {}).get(lang, raw)
    if name == "severity":
        return SEVERITIES[raw][lang].lower() if raw in SEVERITIES else str(raw)
    if name == "side":
        return WORDS[raw][lang]
    return str(raw)


@dataclass(frozen=True)
class Reason:
    """Message keys with their values, in the order they read; `+` appends another reason."""

    parts: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, key: str, **values: Any) -> Reason:
        if key not in MESSAGES:
            raise KeyError(f"no alert message {key!r}")
        stored = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}
        return cls(((key, stored),))

    def __add__(self, other: Reason) -> Reason:
        return Reason(self.parts + other.parts)

    def text(self, lang: str = "en", formats: Formats | None = None) -> str:
        formats = formats or Formats()
        out = []
        for key, values in self.parts:
            words = {k: _word(k, v, lang, formats) for k, v in values.items()}
            out.append(MESSAGES[key][lang].format(**words))
        return "".join(out)

    def to_json(self) -> str:
        return json.dumps([[key, values] for key, values in self.parts], ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Reason | None:
        """The stored reason, or None when there is none (rows from before reasons were data)
        or it names a message this version does not have."""
        if not text:
            return None
        parts = tuple((key, dict(values)) for key, values in json.loads(text))
        return cls(parts) if all(key in MESSAGES for key, _ in parts) else None
