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
    # A row naming a retired unit after its last day (warehouse/validate.py, issue #25); one
    # with a single successor loads under it instead.
    "unit_divided": {"en": "{} was divided on {} among {}: send the new unit's code",
                     "vi": "{} đã được chia tách từ ngày {} thành {}: hãy gửi mã của đơn vị mới"},
    "unit_retired": {"en": "unit {} ended on {} and has no successor unit",
                     "vi": "đơn vị {} đã kết thúc vào ngày {} và không có đơn vị kế thừa"},
    # One line of a file (connectors/safe_read.py): the rest of the file still loads.
    "ragged": {"en": "row {}: {} fields where the header has {}",
               "vi": "dòng {}: {} trường trong khi dòng tiêu đề có {}"},
    "not_utf8": {"en": "row {}: not UTF-8 text (bytes of another encoding, e.g. Windows-1258)",
                 "vi": "dòng {}: không phải văn bản UTF-8 (byte của bảng mã khác, vd."
                       " Windows-1258)"},
    # The same natural key twice in one batch: the latest update loads, the others say so.
    "duplicate_of_row": {"en": "duplicate of row {} ({}), which is loaded",
                         "vi": "trùng với dòng {} ({}), dòng đó được nạp"},
    "sent_again": {"en": "{} is sent again in the batch: the latest update is loaded",
                   "vi": "{} được gửi lại trong cùng lô: bản cập nhật mới nhất được nạp"},
    # A whole file that is not read (connectors/safe_read.py): quarantined as one row, so the
    # feed's other files load and this version is not read again (a corrected one is).
    "file_too_big": {"en": "file {}: {} MB, more than the {} MB a file may have",
                     "vi": "tệp {}: {} MB, lớn hơn mức {} MB cho phép"},
    "file_empty": {"en": "file {}: the file is empty", "vi": "tệp {}: tệp rỗng"},
    "file_not_text": {"en": "file {}: not a text file (NUL bytes: binary, or UTF-16 without a"
                            " byte-order mark)",
                      "vi": "tệp {}: không phải tệp văn bản (có byte NUL: tệp nhị phân, hoặc UTF-16"
                            " không có BOM)"},
    "file_zip_as_csv": {"en": "file {}: a zip archive or XLSX workbook named .csv",
                        "vi": "tệp {}: là tệp zip hoặc sổ tính XLSX nhưng đặt tên .csv"},
    "file_header_encoding": {"en": "file {}: the header is not UTF-8 text: save the file as UTF-8",
                             "vi": "tệp {}: dòng tiêu đề không phải văn bản UTF-8: hãy lưu tệp"
                                   " dạng UTF-8"},
    "file_columns": {"en": "file {}: {} columns, more than the {} a file may have",
                     "vi": "tệp {}: {} cột, nhiều hơn mức {} cột cho phép"},
    "file_not_zip": {"en": "file {}: not an XLSX workbook (not a complete zip archive)",
                     "vi": "tệp {}: không phải sổ tính XLSX (không phải tệp zip hoàn chỉnh)"},
    "file_xls": {"en": "file {}: an old .xls or a password-protected workbook: save it as .xlsx"
                       " without a password",
                 "vi": "tệp {}: sổ tính .xls cũ hoặc có mật khẩu: hãy lưu dạng .xlsx không mật"
                       " khẩu"},
    "file_zip_entries": {"en": "file {}: the archive has {} entries, more than the {} a workbook"
                               " may have",
                         "vi": "tệp {}: tệp nén có {} mục, nhiều hơn mức {} mục cho phép"},
    "file_zip_method": {"en": "file {}: {} is compressed in a way workbooks are not",
                        "vi": "tệp {}: {} được nén theo cách sổ tính không dùng"},
    "file_unpacked": {"en": "file {}: unpacks to more than {} MB",
                      "vi": "tệp {}: giải nén ra hơn {} MB"},
    "file_zip_ratio": {"en": "file {}: {} is compressed more than {}:1 (a zip bomb)",
                       "vi": "tệp {}: {} bị nén hơn {}:1 (bom zip)"},
    "file_no_sheet": {"en": "file {}: no worksheet {}", "vi": "tệp {}: không có trang tính {}"},
    "file_sheet_cells": {"en": "file {}: the sheet spans {} rows × {} columns, more than the {}"
                               " cells a sheet may have",
                         "vi": "tệp {}: trang tính trải trên {} dòng × {} cột, nhiều hơn mức {}"
                               " ô cho phép"},
    "file_strings": {"en": "file {}: the workbook declares {} shared strings but holds {}",
                     "vi": "tệp {}: sổ tính khai báo {} chuỗi dùng chung nhưng chỉ có {}"},
    "file_not_parquet": {"en": "file {}: not a Parquet file",
                         "vi": "tệp {}: không phải tệp Parquet"},
    "file_memory": {"en": "file {}: reading it needs more than the reader's {} MB memory limit",
                    "vi": "tệp {}: đọc tệp cần hơn mức bộ nhớ {} MB của trình đọc"},
    "file_slow": {"en": "file {}: reading it takes longer than the reader's {} s limit",
                  "vi": "tệp {}: đọc tệp lâu hơn mức {} giây của trình đọc"},
    "file_crashed": {"en": "file {}: the reader crashed ({})",
                     "vi": "tệp {}: trình đọc bị lỗi dừng đột ngột ({})"},
    "file_unreadable": {"en": "file {}: cannot be read: {}", "vi": "tệp {}: không đọc được: {}"},
}  # fmt: skip


def say(key: str, *values: object) -> str:
    """The English message `key` with its first `len(values)` `{}` filled; the rest stay `{}`
    for `pl.format` to fill per row."""
    # Filled part by part: a value holding "{}" itself (a file's name) fills nothing further.
    head, *parts = MESSAGES[key]["en"].split("{}")
    filled = [str(v) for v in values[: len(parts)]] + ["{}"] * (len(parts) - len(values))
    return head + "".join(value + part for value, part in zip(filled, parts, strict=True))


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
