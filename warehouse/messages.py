"""Why a row was quarantined, in both languages: the one list the validators and the readers
write their reasons from, and the sources page words them back from.

Reasons are stored in English (the quarantine table, the batch counts, the API). Each message
is a template with `{}` for its values, the same in both languages and in the same order, so a
stored reason is matched back to its message and its values read out of it:

    say("unknown_unit", "Q99") → "unknown unit Q99";  words("unknown unit Q99", "vi") → "đơn vị Q99 không có trong danh mục"
"""

from __future__ import annotations

import re
from functools import cache

MESSAGES: dict[str, dict[str, str]] = {
    "missing": {"en": "{} is missing", "vi": "thiếu {}"},
    "channel": {"en": "channel {} is not one of online, direct, postal",
                "vi": "kênh {} không phải online, direct hay postal"},
    "unknown_unit": {"en": "unknown unit {}", "vi": "đơn vị {} không có trong danh mục"},
    "unknown_procedure": {"en": "unknown procedure {}", "vi": "thủ tục {} không có trong danh mục"},
    "unknown_measure": {"en": "unknown measure {}", "vi": "chỉ số {} không có trong danh mục"},
    "unknown_ward": {"en": "unknown ward {}", "vi": "phường, xã {} không có trong danh mục"},
    "unknown_status": {"en": "unknown status {}", "vi": "trạng thái {} không có trong danh mục"},
    "unknown_age_group": {"en": "unknown age group {}",
                          "vi": "nhóm tuổi {} không có trong danh mục"},
    "unknown_group": {"en": "unknown group {}", "vi": "nhóm {} không có trong danh mục"},
    "received_outside": {"en": "received_at {} is outside 2000-01-01 .. now",
                         "vi": "received_at {} nằm ngoài khoảng 2000-01-01 .. hiện tại"},
    "before": {"en": "{} is before {}", "vi": "{} sớm hơn {}"},
    "future": {"en": "{} is in the future", "vi": "{} ở tương lai"},
    "negative": {"en": "{} is negative", "vi": "{} âm"},
    "grain": {"en": "grain {} is not one of day, week, month, quarter, year",
              "vi": "chu kỳ {} không phải day, week, month, quarter hay year"},
    "unaligned": {"en": "period_start {} does not start a {}",
                  "vi": "period_start {} không phải ngày đầu của một {}"},
    "not_finite": {"en": "{} is not a finite number", "vi": "{} không phải là một số hữu hạn"},
    "over": {"en": "numerator is larger than its denominator", "vi": "tử số lớn hơn mẫu số"},
    "resolved_without_day": {"en": "a resolved case needs resolved_on",
                             "vi": "trường hợp đã giải quyết cần có resolved_on"},
    "twice": {"en": "{} appears twice in the batch", "vi": "{} xuất hiện hai lần trong lô"},
    "unreadable": {"en": "{}: cannot read {}", "vi": "{}: không đọc được {}"},
    # The national portal's answers (connectors/national_portal.py).
    "not_a_number": {"en": "{}: cannot read {} as a number",
                     "vi": "{}: không đọc được {} thành số"},
    "portal_unmapped": {"en": "unmapped portal department {} ({})",
                        "vi": "đơn vị {} ({}) của cổng quốc gia chưa gắn với đơn vị nào"
                              " trong danh mục"},
    "portal_not_object": {"en": "{}: a department entry is not an object",
                          "vi": "{}: một mục đơn vị không phải là đối tượng JSON"},
    "portal_metrics_not_list": {"en": "{}: 'metrics' is not a list",
                                "vi": "{}: 'metrics' không phải là danh sách"},
    "portal_metric_without_code": {"en": "{}: a metric without a code",
                                   "vi": "{}: một chỉ số không có mã"},
}  # fmt: skip


def say(key: str, *values: object) -> str:
    """The English message `key` with its first `len(values)` `{}` filled; the rest stay `{}`
    for `pl.format` to fill per row."""
    text = MESSAGES[key]["en"]
    for value in values:
        text = text.replace("{}", str(value), 1)
    return text


@cache
def _patterns() -> list[tuple[re.Pattern[str], str]]:
    # Longest first: "unknown age group {}" before a shorter template that could also match.
    ordered = sorted(MESSAGES.values(), key=lambda m: -len(m["en"].replace("{}", "")))
    return [(re.compile("^" + re.escape(m["en"]).replace(r"\{\}", "(.+?)") + "$"), m["vi"])
            for m in ordered]  # fmt: skip


def words(reason: str, lang: str) -> str:
    """A stored (English) reason in `lang`; as stored when it is no message of this list."""
    if lang == "en":
        return reason
    for pattern, template in _patterns():
        if hit := pattern.match(reason):
            out = template
            for value in hit.groups():
                out = out.replace("{}", value, 1)
            return out
    return reason
