"""UI strings in Vietnamese and English, and the language a request asked for.

The language travels in the URL (`?lang=en`) so a shared link opens in the same language; the
switch in the navbar also remembers it in the browser (local storage) for the next visit.
"""

from __future__ import annotations

from config import LANGS

DEFAULT_LANG = "vi"

TEXT: dict[str, dict[str, str]] = {
    # navigation
    "nav.home": {"vi": "Tổng quan", "en": "Overview"},
    "nav.wall": {"vi": "Màn hình lớn", "en": "Wall screen"},
    "nav.units": {"vi": "Đơn vị", "en": "Units"},
    "nav.explore": {"vi": "Phân tích", "en": "Explorer"},
    "nav.sources": {"vi": "Nguồn dữ liệu", "en": "Data sources"},
    "nav.alerts": {"vi": "Cảnh báo", "en": "Alerts"},
    "lang.switch": {"vi": "Ngôn ngữ", "en": "Language"},
    # common
    "as_of": {"vi": "Dữ liệu đến", "en": "Data as of"},
    "stale": {"vi": "DỮ LIỆU CHẬM CẬP NHẬT", "en": "DATA IS LATE"},
    "stale.sources": {"vi": "Nguồn chậm", "en": "Late feeds"},
    "fresh": {"vi": "Dữ liệu mới", "en": "Data up to date"},
    "target": {"vi": "Mục tiêu", "en": "Target"},
    "no_target": {"vi": "chưa có mục tiêu", "en": "no target"},
    "vs_prev": {"vi": "so với kỳ trước", "en": "vs previous period"},
    "export_list": {"vi": "Xuất danh sách (CSV)", "en": "Export the list (CSV)"},
    "of": {"vi": "trên", "en": "of"},
    "metric": {"vi": "Chỉ tiêu", "en": "Metric"},
    "metrics": {"vi": "Chỉ tiêu", "en": "Metrics"},
    "period": {"vi": "Kỳ", "en": "Period"},
    "grain": {"vi": "Chu kỳ", "en": "Grain"},
    "from": {"vi": "Từ", "en": "From"},
    "to": {"vi": "Đến", "en": "To"},
    "unit": {"vi": "Đơn vị", "en": "Unit"},
    "sector": {"vi": "Lĩnh vực", "en": "Sector"},
    "sectors": {"vi": "Lĩnh vực", "en": "Sectors"},
    "procedure": {"vi": "Thủ tục", "en": "Procedure"},
    "procedures": {"vi": "Thủ tục", "en": "Procedures"},
    "channel": {"vi": "Kênh", "en": "Channel"},
    "channels": {"vi": "Kênh", "en": "Channels"},
    "source": {"vi": "Nguồn", "en": "Source"},
    "value": {"vi": "Giá trị", "en": "Value"},
    "numerator": {"vi": "Tử số", "en": "Numerator"},
    "denominator": {"vi": "Mẫu số", "en": "Denominator"},
    "rank": {"vi": "Hạng", "en": "Rank"},
    "all": {"vi": "Tất cả", "en": "All"},
    "city": {"vi": "Toàn thành phố", "en": "Whole city"},
    "error": {"vi": "Lỗi", "en": "Error"},
    "unknown_unit": {"vi": "Không tìm thấy đơn vị", "en": "Unknown unit"},
    "grain.day": {"vi": "Ngày", "en": "Day"},
    "grain.week": {"vi": "Tuần", "en": "Week"},
    "grain.month": {"vi": "Tháng", "en": "Month"},
    "grain.quarter": {"vi": "Quý", "en": "Quarter"},
    "grain.year": {"vi": "Năm", "en": "Year"},
    "grain.total": {"vi": "Cả kỳ", "en": "Whole range"},
    # the two views of time (issue 25, metrics/query.py VIEWS): the `view` URL parameter
    "view_mode": {"vi": "Tính theo", "en": "Counted under"},
    "view_mode.today": {"vi": "Đơn vị hiện nay", "en": "Today's units"},
    "view_mode.as_was": {"vi": "Như thời điểm phát sinh", "en": "As it was"},
    "channel.online": {"vi": "Trực tuyến", "en": "Online"},
    "channel.direct": {"vi": "Trực tiếp", "en": "In person"},
    "channel.postal": {"vi": "Bưu chính", "en": "Postal"},
    # wall
    "wall.title": {
        "vi": "Trung tâm điều hành thông minh TP.HCM",
        "en": "HCMC Intelligent Operations Center",
    },
    "wall.mtd": {"vi": "Từ đầu tháng", "en": "Month to date"},
    "wall.map": {"vi": "Quận, huyện", "en": "Districts"},
    "wall.ranking": {"vi": "Xếp hạng", "en": "Ranking"},
    "wall.worst": {"vi": "Thấp nhất", "en": "Lowest"},
    "wall.alerts": {"vi": "Cảnh báo", "en": "Alerts"},
    "wall.no_alerts": {"vi": "Không có cảnh báo", "en": "No active alerts"},
    "wall.offline": {
        "vi": "Mất kết nối máy chủ — đang thử lại…",
        "en": "Server unreachable — retrying…",
    },
    # units
    "panel.loading": {"vi": "Đang tải…", "en": "Loading…"},
    "panel.failed": {
        "vi": "Không đọc được phần này. Các số liệu khác trên trang vẫn đúng; tải lại "
        "trang để thử lại.",
        "en": "This section could not be read. The other figures on the page stand; "
        "reload the page to try again.",
    },
    "units.title": {"vi": "Chi tiết đơn vị", "en": "Unit detail"},
    "units.trend": {"vi": "Diễn biến so với mục tiêu", "en": "Trend against target"},
    "units.explore": {"vi": "Mở trong Phân tích dữ liệu ↗", "en": "Open in the explorer ↗"},
    "units.children": {"vi": "Đơn vị trực thuộc", "en": "Units within"},
    "units.peers": {"vi": "So sánh đơn vị cùng cấp", "en": "Compared with peer units"},
    "units.by_sector": {"vi": "Theo lĩnh vực", "en": "By sector"},
    # The list is cut to TOP_PROCEDURES, worst first (units and sectors read best first).
    "units.by_procedure": {
        "vi": "Theo thủ tục · kém nhất trước",
        "en": "By procedure · worst first",
    },
    "units.overdue": {"vi": "Hồ sơ trễ hạn", "en": "Overdue dossiers"},
    "units.click_hint": {"vi": "Bấm vào cột để xem chi tiết", "en": "Click a bar to drill down"},
    "units.dossier": {"vi": "Mã hồ sơ", "en": "Dossier"},
    "units.received": {"vi": "Tiếp nhận", "en": "Received"},
    "units.due": {"vi": "Hẹn trả", "en": "Due"},
    "units.completed": {"vi": "Hoàn thành", "en": "Completed"},
    "units.days_late": {"vi": "Số ngày trễ", "en": "Days late"},
    "units.status": {"vi": "Trạng thái", "en": "Status"},
    "units.total_overdue": {"vi": "hồ sơ trễ hạn", "en": "overdue dossiers"},
    "units.this_unit": {"vi": "Đơn vị này", "en": "This unit"},
    # the year-end forecast on a unit page (metrics/forecast.py)
    "forecast.title": {"vi": "Dự báo cuối năm", "en": "Year-end projection"},
    "forecast.line": {"vi": "Dự báo (xu hướng)", "en": "Projection (trend)"},
    "forecast.interval": {"vi": "khoảng 80%", "en": "80% interval"},
    "forecast.on_track": {"vi": "Dự kiến đạt mục tiêu", "en": "On track for the target"},
    "forecast.at_risk": {
        "vi": "Có nguy cơ không đạt mục tiêu",
        "en": "At risk of missing the target",
    },
    "forecast.off_track": {"vi": "Dự kiến không đạt mục tiêu", "en": "Off track for the target"},
    "forecast.no_target": {"vi": "Chưa có mục tiêu năm", "en": "No target this year"},
    "forecast.warnings": {
        "vi": "Dự báo cuối năm so với mục tiêu",
        "en": "Year-end projections against targets",
    },
    "forecast.december": {"vi": "Dự báo tháng 12", "en": "December, projected"},
    "forecast.missing": {
        "vi": "Đơn vị trực thuộc dự báo không đạt",
        "en": "Units within projected to miss",
    },
    "forecast.missing_count": {"vi": "{n}/{of}", "en": "{n} of {of}"},
    "forecast.more": {"vi": "và {n} đơn vị khác", "en": "and {n} more"},
    "forecast.none": {
        "vi": "Chưa có chỉ tiêu nào có mục tiêu năm nay",
        "en": "No metric has a target this year",
    },
    "forecast.too_few_short": {"vi": "chưa đủ số liệu", "en": "too little data"},
    "forecast.too_few": {
        "vi": "Chưa đủ số liệu để dự báo (cần ít nhất 4 tháng đã qua)",
        "en": "Too little data to project (needs at least 4 closed months)",
    },
    "forecast.explain": {
        "vi": "Xu hướng tuyến tính {n} tháng ({first}–{last}): {slope} mỗi tháng; tháng 12/{year}:"
        " {value} ({interval} {low}–{high}).",
        "en": "Linear trend over {n} months ({first}–{last}): {slope} a month; December {year}:"
        " {value} ({interval} {low}–{high}).",
    },
    # SLA escalation of open dossiers (metrics/alerts/escalation.py)
    "sla.title": {"vi": "Đôn đốc hồ sơ đang giải quyết", "en": "Open dossiers to escalate"},
    "sla.now": {"vi": "tính đến", "en": "as of"},
    "sla.green": {"vi": "Xanh: đến hạn trong 24 giờ", "en": "Green: due within 24 h"},
    "sla.yellow": {"vi": "Vàng: quá hạn dưới 48 giờ", "en": "Yellow: overdue < 48 h"},
    "sla.red": {"vi": "Đỏ: quá hạn từ 48 giờ", "en": "Red: overdue 48 h or more"},
    "sla.word.green": {"vi": "Xanh", "en": "Green"},
    "sla.word.yellow": {"vi": "Vàng", "en": "Yellow"},
    "sla.word.red": {"vi": "Đỏ", "en": "Red"},
    "sla.level": {"vi": "Mức", "en": "Level"},
    "sla.hours": {"vi": "Quá hạn", "en": "Overdue"},
    "sla.left": {"vi": "còn {hours} giờ", "en": "{hours} h left"},
    "sla.late": {"vi": "{hours} giờ", "en": "{hours} h"},
    "sla.days": {"vi": "{days} ngày", "en": "{days} days"},
    "sla.action": {"vi": "Xử lý", "en": "Action"},
    "sla.none": {"vi": "Không có hồ sơ nào cần đôn đốc", "en": "No open dossier to escalate"},
    "sla.shown": {
        "vi": "hiển thị {shown} hồ sơ quá hạn lâu nhất trên {total}",
        "en": "showing the {shown} most overdue of {total}",
    },
    "sla.see": {"vi": "Xem danh sách", "en": "See the list"},
    # explore
    "explore.title": {"vi": "Phân tích dữ liệu", "en": "Data explorer"},
    "explore.group_by": {"vi": "Nhóm theo", "en": "Group by"},
    "explore.none": {"vi": "Không nhóm", "en": "No grouping"},
    "explore.chart": {"vi": "Loại biểu đồ", "en": "Chart type"},
    "explore.line": {"vi": "Đường", "en": "Line"},
    "explore.bar": {"vi": "Cột", "en": "Bar"},
    "explore.export": {"vi": "Xuất dữ liệu", "en": "Export"},
    "explore.rows": {"vi": "dòng", "en": "rows"},
    "explore.compare": {"vi": "So sánh với", "en": "Compare with"},
    "explore.compare.none": {"vi": "Không so sánh", "en": "Nothing"},
    "explore.prev": {"vi": "Kỳ trước", "en": "Period before"},
    "explore.yoy": {"vi": "Cùng kỳ năm trước", "en": "A year before"},
    "explore.change": {"vi": "Chênh lệch", "en": "Change"},
    "explore.points": {"vi": "điểm %", "en": "points"},
    "explore.link_ignored": {
        "vi": "Liên kết có phần không dùng được ở đây, đã bỏ qua",
        "en": "Parts of the link that do not exist here were left out",
    },
    # sources
    "sources.title": {"vi": "Nguồn dữ liệu", "en": "Data sources"},
    "sources.feed": {"vi": "Nguồn", "en": "Feed"},
    "sources.kind": {"vi": "Loại", "en": "Kind"},
    "sources.department": {"vi": "Cơ quan", "en": "Department"},
    "sources.last_run": {"vi": "Lần chạy gần nhất", "en": "Last run"},
    "sources.next_run": {"vi": "Lần chạy tới", "en": "Next run"},
    "sources.loaded": {"vi": "Dòng đã nạp", "en": "Rows loaded"},
    "sources.quarantined": {"vi": "Dòng bị cách ly", "en": "Rows quarantined"},
    "sources.remapped": {"vi": "đã chuyển sang đơn vị mới", "en": "re-mapped to today's units"},
    "sources.health": {"vi": "Tình trạng", "en": "Health"},
    "sources.healthy": {"vi": "Bình thường", "en": "Healthy"},
    "sources.stale": {"vi": "Chậm cập nhật", "en": "Stale"},
    "sources.failed": {"vi": "Lỗi", "en": "Failed"},
    "sources.disabled": {"vi": "Tắt", "en": "Disabled"},
    "sources.last_error": {"vi": "Lỗi gần nhất", "en": "Last error"},
    "sources.run_now": {"vi": "Chạy ngay", "en": "Run now"},
    "sources.run_started": {"vi": "Đã chạy", "en": "Ran"},
    "sources.run_unavailable": {
        "vi": "Chưa hỗ trợ chạy thủ công",
        "en": "Manual runs are not available",
    },
    "sources.run_not_allowed": {
        "vi": "Chỉ quản trị viên được chạy nguồn dữ liệu",
        "en": "Only an admin may run a feed",
    },
    "sources.quarantine": {"vi": "Dòng bị cách ly", "en": "Quarantined rows"},
    "sources.reason": {"vi": "Lý do", "en": "Reason"},
    "sources.raw": {"vi": "Dữ liệu gốc", "en": "Raw row"},
    "sources.batch": {"vi": "Lô", "en": "Batch"},
    "sources.time": {"vi": "Thời điểm", "en": "Time"},
    "sources.newest": {"vi": "Dữ liệu mới nhất", "en": "Newest data"},
    "sources.never": {"vi": "chưa chạy", "en": "never"},
}


def lang_of(value: object) -> str:
    """A supported language code from a query value (default Vietnamese)."""
    return value if isinstance(value, str) and value in LANGS else DEFAULT_LANG


def t(key: str, lang: str) -> str:
    """The string for `key` in `lang`; the key itself when missing (visible, never a crash)."""
    entry = TEXT.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry.get(DEFAULT_LANG) or key


# AG Grid's own words (pager, overlays, column filters) in Vietnamese, as its `localeText`;
# its defaults are the English ones.
GRID_TEXT_VI = {
    "page": "Trang", "of": "trên", "to": "đến", "more": "nhiều hơn",
    "firstPage": "Trang đầu", "previousPage": "Trang trước", "nextPage": "Trang sau",
    "lastPage": "Trang cuối", "pageSizeSelectorLabel": "Số dòng mỗi trang:",
    "ariaPageSizeSelectorLabel": "Số dòng mỗi trang",
    "loadingOoo": "Đang tải…", "loadingError": "Lỗi", "noRowsToShow": "Không có dòng nào",
    "filterOoo": "Lọc…", "applyFilter": "Áp dụng", "resetFilter": "Đặt lại",
    "clearFilter": "Xóa lọc", "cancelFilter": "Hủy", "andCondition": "VÀ", "orCondition": "HOẶC",
    "equals": "Bằng", "notEqual": "Khác", "contains": "Chứa", "notContains": "Không chứa",
    "startsWith": "Bắt đầu bằng", "endsWith": "Kết thúc bằng", "blank": "Trống",
    "notBlank": "Không trống", "empty": "Chọn một", "lessThan": "Nhỏ hơn",
    "greaterThan": "Lớn hơn", "lessThanOrEqual": "Nhỏ hơn hoặc bằng",
    "greaterThanOrEqual": "Lớn hơn hoặc bằng", "inRange": "Trong khoảng", "inRangeStart": "Từ",
    "inRangeEnd": "Đến", "before": "Trước", "after": "Sau", "dateFormatOoo": "dd/mm/yyyy",
    "ariaFilterInput": "Ô nhập lọc", "ariaFilterValue": "Giá trị lọc",
    "ariaFilteringOperator": "Phép lọc", "ariaFilterMenuOpen": "Mở bảng lọc",
    "thousandSeparator": ".", "decimalSeparator": ",",  # "1 đến 20 trên 8.713"
}  # fmt: skip


def grid_options(lang: str, **options) -> dict:
    """A data grid's `dashGridOptions` in the viewer's language."""
    return {**options, "localeText": GRID_TEXT_VI if lang == "vi" else {}}


# A text column's filter matches regardless of case and accents: people often type Vietnamese
# without its marks ("ben nghe" finds "Phường Bến Nghé"). `assets/ioc_grid.js: iocFold`.
# A filter applies once typing pauses for a second: applied mid-word, AG Grid 35 can write its
# older value back into the box and lose the keys typed meanwhile (ag-grid issue 13176, seen
# here on a busy machine).
FILTER_PAUSE_MS = 1000
TEXT_FILTER = {"filter": "agTextColumnFilter",
               "filterParams": {"textFormatter": {"function": "iocFold(params)"},
                                "debounceMs": FILTER_PAUSE_MS}}  # fmt: skip


def number_filter(lang: str) -> dict:
    """A number column's filter reading what people type as their language writes numbers
    ("89,7" in Vietnamese, "89.7" in English), in a text box: a number box refuses a comma."""
    return {
        "filter": "agNumberColumnFilter",
        "filterParams": {
            "allowedCharPattern": "\\d\\-\\.,",
            "debounceMs": FILTER_PAUSE_MS,
            "numberParser": {"function": f"iocParseNumber(params, '{lang}')"},
            "numberFormatter": {"function": f"iocNumberText(params, '{lang}')"},
        },
    }
