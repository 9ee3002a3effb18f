"""The city's digital-government programmes (issue 8) on the boards: the wall board of the
playlist (`kind = "programmes"` in config/wall.toml) and the section of the unit drill-down.

Six programmes, one tile each on the wall: QR submission at communes, the DTI of departments,
simpler forms, business data from the national registry, identification papers for special
populations (counts only: the wall never shows a personal field) and procedures without a paper
result. Figures are plotly graph_objects (no plotly express: ~50 ms per figure).
"""

from __future__ import annotations

from datetime import date, timedelta

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from base.tz import local_today
from dashboards import _figures as figs
from dashboards import _format as fmt
from dashboards import _html_json as hj
from dashboards import _panel as panel
from dashboards._components import (
    as_of_line,
    current_freshness,
    label,
    local,
    parse_search,
    per_request,
    status_badge,
)
from dashboards._export import to_csv
from dashboards._i18n import t
from dashboards._parallel import gather
from dashboards._runtime import runtime
from metrics.id_cases import (
    AGE_GROUPS,
    JUSTICE_DEPARTMENT,
    case_counts,
    cases_for,
    may_see_personal,
    overdue_cases,
    viewer_case_access,
)
from metrics.kpi import kpis
from metrics.programmes import (
    DTI_COMPONENTS,
    dti_table,
    form_fields,
    hour_of_week,
    registry_sync,
    sync_age,
)
from metrics.query import query
from metrics.targets import status as status_of

TOP_WARDS = 12  # the wards with most open ID-paper cases, charted on a unit's page
BAR_PX = 26  # height of one bar and its gap on a unit page, for labels at 14 px
HEAT_DAYS = 90  # the heat map covers the last 90 days
REGISTRY_LATE = timedelta(hours=3)
# A little under the filled section's height by unit kind (1600 px wide, the demo city), for its
# placeholder: what is below moves down little when it fills, and never up.
SECTION_HEIGHT = {"city": "145rem", "department": "90rem", "district": "80rem"}
COMMUNE_SECTION_HEIGHT = "70rem"  # wards, communes, townships
TEXT: dict[str, dict[str, str]] = {
    "title": {"vi": "Chương trình chuyển đổi số", "en": "Digital-government programmes"},
    "qr": {"vi": "Nộp hồ sơ qua mã QR (cấp xã)", "en": "QR-code submission (communes)"},
    "dti": {"vi": "Chỉ số DTI của các sở", "en": "DTI of departments"},
    "forms": {"vi": "Đơn giản hóa biểu mẫu", "en": "Simpler forms"},
    "registry": {"vi": "Dữ liệu đăng ký doanh nghiệp", "en": "Business-registry data"},
    "cases": {"vi": "Giấy tờ tùy thân cho nhóm đặc biệt", "en": "ID papers, special groups"},
    "no_paper": {"vi": "Thủ tục không cấp kết quả giấy", "en": "No-paper-result procedures"},
    "qr_count": {"vi": "hồ sơ QR", "en": "QR dossiers"},
    "after_hours": {"vi": "ngoài giờ", "en": "after hours"},
    "heat": {"vi": "Hồ sơ cấp xã theo giờ trong tuần", "en": "Commune dossiers by hour of week"},
    "heat_hint": {"vi": "khung trắng: ngoài 7:30–17:00 và cuối tuần",
                  "en": "outlined: outside 7:30–17:00 and weekends"},
    "last_days": {"vi": f"{HEAT_DAYS} ngày gần nhất", "en": f"last {HEAT_DAYS} days"},
    "lowest": {"vi": "Thấp nhất", "en": "Lowest"},
    "short": {"vi": "thủ tục chưa đạt 20%", "en": "procedures short of 20%"},
    "synced": {"vi": "Đồng bộ lúc", "en": "Synced"},
    "sync_late": {"vi": "ĐỒNG BỘ CHẬM", "en": "SYNC LATE"},
    "never": {"vi": "chưa đồng bộ", "en": "never synced"},
    "open": {"vi": "đang giải quyết", "en": "open"},
    "overdue": {"vi": "quá hạn", "en": "overdue"},
    "cases_by": {"vi": "Trường hợp đang giải quyết theo nhóm tuổi", "en": "Open cases by age group"},
    "by_status": {"vi": "Theo trạng thái", "en": "By status"},
    "by_ward": {"vi": "Theo phường, xã (đang giải quyết)", "en": "By ward (open)"},
    "top_wards": {"vi": f"{TOP_WARDS} nơi nhiều nhất", "en": f"top {TOP_WARDS}"},
    "overdue_cases": {"vi": "Trường hợp quá hạn", "en": "Overdue cases"},
    "personal_hidden": {"vi": "Thông tin cá nhân được ẩn (chỉ vai trò Tư pháp được xem)",
                        "en": "Personal fields hidden (justice role only)"},
    "quarter": {"vi": "Quý", "en": "Quarter"},
    "vs_quarter_before": {"vi": "So với quý trước", "en": "vs quarter before"},
    "components": {"vi": "Thành phần", "en": "Components"},
    "department": {"vi": "Sở, ngành", "en": "Department"},
    "fields_before": {"vi": "Trường trước", "en": "Fields before"},
    "fields_after": {"vi": "Trường sau", "en": "Fields after"},
    "reduction": {"vi": "Cắt giảm", "en": "Reduction"},
    "year_to_date": {"vi": "Từ đầu năm", "en": "Year to date"},
    "ward": {"vi": "Phường, xã", "en": "Ward"},
    "group": {"vi": "Nhóm", "en": "Group"},
    "age": {"vi": "Nhóm tuổi", "en": "Age group"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "solution": {"vi": "Giải pháp đề xuất", "en": "Proposed solution"},
    "owner": {"vi": "Phụ trách", "en": "Owner"},
    "due": {"vi": "Hạn", "en": "Due"},
    "name": {"vi": "Họ tên", "en": "Name"},
    "birth": {"vi": "Ngày sinh", "en": "Birth date"},
    "id": {"vi": "Số định danh", "en": "ID number"},
    "none_short": {"vi": "Mọi thủ tục đã đạt mục tiêu", "en": "Every procedure meets the target"},
    "no_overdue_cases": {"vi": "Không có trường hợp quá hạn", "en": "No overdue cases"},
    "export_cases": {"vi": "Xuất danh sách (CSV)", "en": "Export the list (CSV)"},
    "per_commune": {"vi": "Theo phường, xã", "en": "By ward and commune"},
    "by_department": {"vi": "Cắt giảm theo sở, ngành", "en": "Reduction by department"},
}  # fmt: skip
STATUS_NAMES = {
    "new": {"vi": "Mới phát hiện", "en": "New"},
    "verifying": {"vi": "Đang xác minh", "en": "Verifying"},
    "proposed": {"vi": "Đã đề xuất giải pháp", "en": "Solution proposed"},
    "in_progress": {"vi": "Đang thực hiện", "en": "In progress"},
    "resolved": {"vi": "Đã cấp giấy tờ", "en": "Papers issued"},
    "closed": {"vi": "Đã đóng", "en": "Closed"},
}
GROUP_NAMES = {
    "child_no_guardian": {"vi": "Trẻ em không nơi nương tựa", "en": "Children without a guardian"},
    "street_child": {"vi": "Trẻ em lang thang", "en": "Street children"},
    "migrant_family": {"vi": "Trẻ em gia đình di cư", "en": "Children of migrant families"},
    "stateless": {"vi": "Người chưa xác định quốc tịch", "en": "Undetermined nationality"},
    "homeless_adult": {"vi": "Người lang thang", "en": "Homeless adults"},
}
WEEKDAYS = {"vi": ["T2", "T3", "T4", "T5", "T6", "T7", "CN"],
            "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}  # fmt: skip


def tx(key: str, lang: str) -> str:
    entry = TEXT.get(key)
    return entry[lang] if entry else t(key, lang)


def _named(names: dict[str, dict[str, str]], code: str, lang: str) -> str:
    return names.get(code, {}).get(lang, code)


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


_COLORSCALES: dict[str, list] = {}


def _colorscale(name: str) -> list:
    """A named colorscale as `go.Heatmap` expands it (once), for the plain-dict figures."""
    if name not in _COLORSCALES:
        _COLORSCALES[name] = go.Heatmap(colorscale=name).to_plotly_json()["colorscale"]
    return _COLORSCALES[name]


def heatmap(counts: list[list[int]], lang: str, dark: bool = False, scale: float = 1.0) -> dict:
    """Dossiers per weekday (rows, Monday on top) and local hour (columns); the office hours
    (07:30–17:00, Monday–Friday) are framed so the after-hours cells stand out."""
    trace = {
        "type": "heatmap",
        "z": counts,
        "x": [f"{h:02d}" for h in range(24)],
        "y": WEEKDAYS[lang],
        "colorscale": _colorscale("YlOrRd" if not dark else "Inferno"),
        "hovertemplate": "%{y} %{x}h: %{z}<extra></extra>",
        "colorbar": {"thickness": 14 * scale, "len": 0.9, "tickfont": {"size": 16 * scale}},
    }
    line = "#ffffff" if dark else "#1f5fa8"
    return figs.figure([trace], figs.merge(
        figs._base(dark, scale),
        # Office hours: 07:30 → 17:00 on Mon–Fri (x is categorical: 07:30 is cell 7's middle).
        shapes=[{"type": "rect", "x0": 7.0, "x1": 16.5, "y0": -0.5, "y1": 4.5,
                 "line": {"color": line, "width": 2}}],
        # Wall-legible ticks: a weekday and every third hour, read from across the room.
        yaxis={"autorange": "reversed", "tickfont": {"size": 18 * scale}},
        xaxis={"tickfont": {"size": 16 * scale}, "dtick": 3},
        margin={"l": 50 * scale, "r": 10, "t": 10, "b": 40 * scale},
        separators=figs.separators(lang),
    ))  # fmt: skip


def hbars(labels: list[str], values: list[float], lang: str, dark: bool = False,
          scale: float = 1.0, colors: list[str] | None = None,
          height: int | None = None) -> dict:  # fmt: skip
    """Counts as horizontal bars, or "no data" when there are none (not empty axes); in a graph
    `height` px tall, bars at most `BAR_MAX_PX` thick (a ward's one bar filled its panel)."""
    if not values:
        return figs.empty(fmt.NO_DATA[lang], dark, scale)
    texts = [fmt.number(v, 0, lang) for v in values]
    # 20 px reads from across the room on a wall; in a third of a desk page it pushed a long
    # ward name past the graph's left edge ("…e Minh Xuan Commune, Binh Chanh").
    size = (20 if dark else 14) * scale
    trace = {
        "type": "bar", "x": values, "y": labels, "orientation": "h",
        "marker": {"color": colors or figs.SERIES[0]},
        "text": texts, "textposition": "outside",
        "cliponaxis": False,
        "textfont": {"size": size},
        "hovertemplate": "%{y}: %{x}<extra></extra>",
    }  # fmt: skip
    return figs.figure([trace], figs.merge(
        figs._base(dark, scale),
        yaxis={"autorange": "reversed", "automargin": True, "tickfont": {"size": size}},
        xaxis={"visible": False, "range": [0, max(values, default=1) * 1.02]},
        # Room for the longest value beside its bar (~0.65 em a digit): a share of the axis
        # range was too little in a narrow panel, and "2.440" showed as "2.44".
        margin={"r": 8 + 0.65 * size * max(map(len, texts), default=1)},
        separators=figs.separators(lang),
        **({"bargap": figs.bar_gap(len(values), height - 20)} if height else {}),
    ))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Figures every view shares
# ---------------------------------------------------------------------------------------------


def _year_range(today: date) -> tuple[date, date]:
    return date(today.year, 1, 1), today


def registry_line(lang: str) -> tuple[str, bool]:
    """("Synced 08:15 23/11/2026", late?) for the business-registry integration."""
    sync = registry_sync(runtime().warehouse.cursor())
    age = sync_age(sync)
    if sync.last_success_at is None:
        return tx("never", lang), True
    late = age is not None and age > REGISTRY_LATE
    text = f"{tx('synced', lang)} {fmt.moment(local(sync.last_success_at), lang)}"
    return (f"{tx('sync_late', lang)} · {text}" if late else text), late


def dti_summary(period: date | None = None):
    """(table, city average dti, lowest department row) of the newest quarter."""
    table = dti_table(runtime().warehouse.cursor(), "quarter", period)
    values = [v for v in table["dti"].to_list() if v is not None]
    average = sum(values) / len(values) if values else None
    lowest = table.filter(table["dti"].is_not_null()).tail(1)
    return table, average, (lowest.row(0, named=True) if lowest.height else None)


# ---------------------------------------------------------------------------------------------
# The wall board
# ---------------------------------------------------------------------------------------------


def _city_case_counts(cur, today: date, root: str):
    """The city's ID-paper case counts, once per request (the tiles and the panel both ask)."""
    return per_request(("city_case_counts", today, root),
                       lambda: case_counts(cur, None, today, root))  # fmt: skip


def _wall_tile(key: str, value: str, sub: str, status: str, lang: str, bad: bool = False):
    return html.Div(
        [
            html.Div(tx(key, lang), className="wall-tile-name"),
            html.Div(
                [html.Span(value, className="wall-tile-value prog-value", id=f"wall-prog-value-{key}"),
                 status_badge(status, lang, "wall-tile-status")],
                className="wall-tile-main",
            ),
            html.Div(html.Span(sub, className="wall-tile-change" + (" bad" if bad else "")),
                     className="wall-tile-sub"),
        ],
        className=f"wall-tile wall-status-{status}",
        id=f"wall-prog-{key}",
    )  # fmt: skip


def wall_tiles(lang: str) -> list[html.Div]:
    rt = runtime()
    cfg, cur = rt.config, rt.warehouse.cursor()
    today = local_today()
    month = {k.metric: k for k in kpis(cur, cfg, today, (
        "qr_share_online", "after_hours_rate", "qr_count", "business_registry_reuse_rate",
        "e_result_only_rate"))}  # fmt: skip
    m = cfg.metrics
    qr, after = month["qr_share_online"], month["after_hours_rate"]
    tiles = [
        _wall_tile("qr", fmt.metric_value(m["qr_share_online"], qr.value, lang),
                   f"{fmt.number(month['qr_count'].value, 0, lang)} {tx('qr_count', lang)} · "
                   f"{fmt.metric_value(m['after_hours_rate'], after.value, lang)} "
                   f"{tx('after_hours', lang)}", qr.status, lang),
    ]  # fmt: skip
    _, average, lowest = dti_summary()
    low = (f"{tx('lowest', lang)}: {figs.short_name(cfg.unit(lowest['unit_code']).name(lang), lang)}"
           f" {fmt.number(lowest['dti'], 1, lang)}") if lowest else fmt.NO_DATA[lang]  # fmt: skip
    tiles.append(_wall_tile("dti", fmt.metric_value(m["dti_index"], average, lang), low,
                            "no_target" if average is not None else "no_data", lang))  # fmt: skip
    year = query(cur, cfg, ["form_field_reduction"], "total", *_year_range(today))
    row = year.row(0, named=True) if year.height else {}
    short = int(form_fields(cur, cfg, today.year)["short"].sum())
    value, target = row.get("form_field_reduction"), row.get("form_field_reduction_target")
    tiles.append(_wall_tile("forms", fmt.metric_value(m["form_field_reduction"], value, lang),
                            f"{short} {tx('short', lang)}",
                            status_of(m["form_field_reduction"], value, target), lang,
                            bad=short > 0))  # fmt: skip
    reg = month["business_registry_reuse_rate"]
    line, late = registry_line(lang)
    tiles.append(_wall_tile("registry", fmt.metric_value(m["business_registry_reuse_rate"],
                                                         reg.value, lang),
                            line, reg.status, lang, bad=late))  # fmt: skip
    counts = _city_case_counts(cur, today, cfg.root.code)
    tiles.append(_wall_tile("cases", fmt.number(counts.open, 0, lang),
                            f"{tx('open', lang)} · {fmt.number(counts.overdue, 0, lang)} "
                            f"{tx('overdue', lang)}",
                            "critical" if counts.overdue else ("ok" if counts.total else "no_data"),
                            lang, bad=counts.overdue > 0))  # fmt: skip
    nop = month["e_result_only_rate"]
    tiles.append(_wall_tile("no_paper", fmt.metric_value(m["e_result_only_rate"], nop.value, lang),
                            f"{t('target', lang)}: " + (fmt.metric_value(
                                m["e_result_only_rate"], nop.target, lang)
                                if nop.target is not None else t("no_target", lang)),
                            nop.status, lang))  # fmt: skip
    return tiles


def render_wall(board, lang: str, scale: float = 1.0) -> html.Div:
    """The programmes board: six tiles, the after-hours heat map and the open ID-paper cases."""
    rt = runtime()
    cfg = rt.config
    today = local_today()
    heat, tiles, fresh = gather(
        lambda: hour_of_week(rt.warehouse.cursor(), cfg.root.code,
                             today - timedelta(days=HEAT_DAYS - 1), today),
        lambda: wall_tiles(lang),
        current_freshness,
    )  # fmt: skip
    counts = _city_case_counts(rt.warehouse.cursor(), today, cfg.root.code)  # the tiles' read
    ages = [(a, counts.by_age_group[a]) for a in AGE_GROUPS if a in counts.by_age_group]
    share = fmt.number(heat.after_hours_share, 1, lang) + "%" if heat.total else fmt.NO_DATA[lang]
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(t("wall.title", lang), className="wall-title"),
                            html.Span(
                                board.title(lang),
                                className="wall-board-title",
                                id="wall-board-title",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Span(
                                f"{t('wall.mtd', lang)} · {fmt.day(today, lang)}",
                                className="wall-period",
                            ),
                            as_of_line(fresh, lang, "wall-as-of"),
                        ],
                        className="wall-header-right",
                    ),
                ],
                className="wall-header",
            ),
            html.Div(tiles, className="wall-tiles wall-prog-tiles"),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Span(f"{tx('heat', lang)} · {tx('last_days', lang)}"),
                                    html.Span(
                                        f"{share} {tx('after_hours', lang)}",
                                        className="wall-worst",
                                        id="wall-prog-after-hours",
                                    ),
                                ],
                                className="wall-panel-title",
                            ),
                            dcc.Graph(
                                figure=heatmap(heat.dossiers, lang, True, scale),
                                config=figs.WALL_CONFIG,
                                className="wall-graph",
                                id="wall-prog-heatmap",
                            ),
                        ],
                        className="wall-panel",
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Span(tx("cases_by", lang)),
                                    html.Span(
                                        f"{fmt.number(counts.overdue, 0, lang)} "
                                        f"{tx('overdue', lang)}",
                                        className="wall-worst",
                                    ),
                                ],
                                className="wall-panel-title",
                            ),
                            dcc.Graph(
                                figure=hbars(
                                    [a for a, _ in ages], [n for _, n in ages], lang, True, scale
                                ),
                                config=figs.WALL_CONFIG,
                                className="wall-graph",
                                id="wall-prog-cases",
                            ),
                        ],
                        className="wall-panel",
                    ),
                ],
                className="wall-bottom",
            ),
        ],
        className="wall-board",
        id=f"wall-board-{board.key}",
        **{"data-version": str(rt.warehouse.data_version())},
    )


# ---------------------------------------------------------------------------------------------
# The drill-down section (/units/<code>)
# ---------------------------------------------------------------------------------------------


def _kv(label: str, value: str, id_: str | None = None) -> html.Div:
    return html.Div([html.Span(label, className="text-muted me-2"),
                     html.Span(value, className="fw-bold", id=id_)], className="prog-kv")  # fmt: skip


def _metric_kv(frame_row: dict, code: str, lang: str, id_: str) -> html.Div:
    m = runtime().config.metrics[code]
    value, target = frame_row.get(code), frame_row.get(f"{code}_target")
    text = fmt.metric_value(m, value, lang)
    if target is not None:
        text += f" ({t('target', lang)} {fmt.metric_value(m, target, lang)})"
    return html.Div([html.Span(m.name(lang), className="text-muted me-2"),
                     html.Span(text, className="fw-bold", id=id_),
                     status_badge(status_of(m, value, target), lang, "ms-2")],
                    className="prog-kv")  # fmt: skip


def viewer() -> tuple[str | None, str | None]:
    """(role, unit) of whoever makes this request, from access control when it is installed;
    (None, None) otherwise — the most restricted view of personal fields."""
    try:
        from access.web import current
    except ImportError:
        return None, None
    try:
        p = current()
    except RuntimeError:  # outside a request
        return None, None
    return (p.role, p.unit) if p is not None else (None, None)


def _bars_panel(id_: str, title: str, labels: list[str], values: list[float], lang: str) -> dbc.Col:
    """A titled bar chart tall enough for every bar's label (plotly drops the labels that do
    not fit, and shrinks the values inside thin bars)."""
    height = max(220, BAR_PX * len(labels) + 16)
    return dbc.Col([
        html.Div(title, className="small text-muted"),
        dcc.Graph(id=id_, style={"height": f"{height}px"},
                  config=figs.graph_config(lang, displayModeBar=False),
                  figure=hbars(labels, values, lang, height=height)),
    ], md=4)  # fmt: skip


def units_section(unit: str, start: date, end: date, lang: str) -> dbc.Card:
    """The programmes of `unit`'s subtree over [start, end] (and the current year, quarter)."""
    role, scope = viewer()
    cfg = runtime().config
    today = local_today()
    kind = cfg.unit(unit, today).kind
    got = _section_reads(unit, kind, start, end, lang, role, scope, today)
    rates = got["rates"]
    row = rates.row(0, named=True) if rates.height else {}
    blocks: list = []

    # 1. QR at communes (every unit but a department: departments have no commune procedures).
    if kind != "department":
        heat = got["heat"]
        blocks.append(dbc.Col([
            html.H6(tx("qr", lang)),
            _kv(cfg.metrics["qr_count"].name(lang),
                fmt.metric_value(cfg.metrics["qr_count"], row.get("qr_count"), lang), "units-prog-qr-count"),
            _metric_kv(row, "qr_share_online", lang, "units-prog-qr-share"),
            _metric_kv(row, "after_hours_rate", lang, "units-prog-after-hours"),
            html.Div(f"{tx('heat', lang)} — {tx('heat_hint', lang)}", className="small text-muted mt-2"),
            dcc.Graph(id="units-prog-heatmap", figure=heatmap(heat.dossiers, lang),
                      config=figs.graph_config(lang, displayModeBar=False),
                      style={"height": "260px"}),
            *([got["per_commune"]] if kind == "district" else []),
        ], lg=6))  # fmt: skip

    # 2. DTI (departments, and the city's table).
    if kind in ("department", "city"):
        table, average, _ = got["dti"]
        if kind == "department":
            table = table.filter(table["unit_code"] == unit)
        rows = [[cfg.unit(r["unit_code"]).name(lang), fmt.number(r["dti"], 1, lang),
                 fmt.delta(cfg.metrics["dti_index"], r["dti_change"], lang),
                 *[fmt.number(r[c], 1, lang) for c in DTI_COMPONENTS]]
                for r in table.iter_rows(named=True)]  # fmt: skip
        quarter = table["period_start"][0] if table.height else None
        blocks.append(dbc.Col([
            html.H6(f"{tx('dti', lang)}" + (f" · {tx('quarter', lang)} {(quarter.month - 1) // 3 + 1}/"
                                           f"{quarter.year}" if quarter else "")),
            _kv(cfg.metrics["dti_index"].name(lang),
                fmt.metric_value(cfg.metrics["dti_index"],
                                 table["dti"][0] if kind == "department" and table.height else average,
                                 lang), "units-prog-dti"),
            html.Div(hj.table([tx("department", lang), "DTI", tx("vs_quarter_before", lang),
                             *[cfg.measures[c].name_vi if lang == "vi" else cfg.measures[c].name_en
                               for c in DTI_COMPONENTS]], rows, "units-prog-dti-table",
                            fmt.NO_DATA[lang]),
                     style={"overflowX": "auto", "maxHeight": "300px"}),
        ], lg=6 if kind == "department" else 12))  # fmt: skip

    # 3. Simpler forms (departments and the city): this year's reduction and who is short.
    if kind in ("department", "city"):
        ytd, forms = got["ytd"], got["forms"]
        yrow = ytd.row(0, named=True) if ytd.height else {}
        short = forms.filter(forms["short"])
        rows = [[cfg.procedures[r["procedure_code"]].name(lang) if r["procedure_code"] in cfg.procedures
                 else r["procedure_code"], cfg.unit(r["department"]).name(lang),
                 fmt.number(r["fields_before"], 0, lang), fmt.number(r["fields_after"], 0, lang),
                 fmt.number(r["reduction"], 1, lang) + "%"]
                for r in short.iter_rows(named=True)]  # fmt: skip
        blocks.append(dbc.Col([
            html.H6(f"{tx('forms', lang)} · {tx('year_to_date', lang)}"),
            _metric_kv(yrow, "form_field_reduction", lang, "units-prog-forms"),
            *([got["forms_by_department"]] if kind == "city" else []),
            html.Div(f"{short.height} {tx('short', lang)}" if forms.height else "",
                     className="small mb-1", id="units-prog-forms-short"),
            # No forms reported is no data, not "every procedure meets the target".
            html.Div(hj.table([t("procedure", lang), tx("department", lang), tx("fields_before", lang),
                             tx("fields_after", lang), tx("reduction", lang)], rows,
                            "units-prog-forms-table",
                            tx("none_short", lang) if forms.height else fmt.NO_DATA[lang]),
                     style={"overflowX": "auto", "maxHeight": "300px"}),
        ], lg=6))  # fmt: skip

    # 4. Business registry (the city, departments, districts: where business dossiers are).
    if kind not in ("ward", "commune", "township"):
        line, late = got["registry"]
        blocks.append(dbc.Col([
            html.H6(tx("registry", lang)),
            _metric_kv(row, "business_registry_reuse_rate", lang, "units-prog-registry"),
            html.Div(line, className="small " + ("text-danger fw-bold" if late else "text-muted"),
                     id="units-prog-registry-sync"),
        ], lg=6))  # fmt: skip

    # 5. ID papers for special populations (wards and everything above them; of the departments,
    #    the Department of Justice, which follows the cases of every ward).
    if kind != "department" or unit == JUSTICE_DEPARTMENT:
        blocks.append(dbc.Col(got["cases"], lg=12))

    # 6. Procedures without a paper result.
    blocks.append(dbc.Col([html.H6(tx("no_paper", lang)),
                           _metric_kv(row, "e_result_only_rate", lang, "units-prog-no-paper")],
                          lg=6))  # fmt: skip
    return _section_card(dbc.Row(blocks, className="g-3"), lang, "units-programmes")


def units_placeholder(kind: str, lang: str) -> dbc.Card:
    """The section's place until its callback fills it (`_panel`), for a unit of this kind."""
    height = SECTION_HEIGHT.get(kind, COMMUNE_SECTION_HEIGHT)
    return _section_card(panel.loading(lang, "units-programmes-loading", height), lang)


def units_failed(lang: str) -> dbc.Card:
    return _section_card(panel.failed(lang, "units-programmes-failed"), lang)


def _section_card(body, lang: str, id_: str | None = None) -> dbc.Card:
    return dbc.Card(
        [dbc.CardHeader(html.Span(tx("title", lang), className="fw-bold")),
         dbc.CardBody(body, className="p-3")],
        className="mb-3", **({"id": id_} if id_ else {}),
    )  # fmt: skip


def _section_reads(
    unit: str,
    kind: str,
    start: date,
    end: date,
    lang: str,
    role: str | None,
    scope: str | None,
    today: date,
) -> dict:
    """What `units_section` shows of `unit` (of this `kind`), read at the same time."""
    rt = runtime()
    cfg = rt.config

    cur = rt.warehouse.cursor  # called in the thread the read runs in (its own cursor)
    reads = {"rates": lambda: query(cur(), cfg, ["qr_count", "qr_share_online", "after_hours_rate",
                                                 "business_registry_reuse_rate",
                                                 "e_result_only_rate"],
                                    "total", start, end, {"unit": unit})}  # fmt: skip
    if kind != "department":
        reads["heat"] = lambda: hour_of_week(cur(), unit, start, end)
        if kind == "district":
            reads["per_commune"] = lambda: _per_commune(unit, start, end, lang)
    if kind in ("department", "city"):
        reads["dti"] = dti_summary
        reads["ytd"] = lambda: query(cur(), cfg, ["form_field_reduction"], "total",
                                     *_year_range(today), {"unit": unit})  # fmt: skip
        reads["forms"] = lambda: form_fields(
            cur(), cfg, today.year, unit if kind == "department" else None
        )
        if kind == "city":
            reads["forms_by_department"] = lambda: _forms_by_department(lang)
    if kind not in ("ward", "commune", "township"):
        reads["registry"] = lambda: registry_line(lang)
    if kind != "department" or unit == JUSTICE_DEPARTMENT:
        reads["cases"] = lambda: _cases_block(_case_scope(unit), lang, role, scope, today)
    return dict(zip(reads, gather(*reads.values()), strict=True))


def _case_scope(unit: str) -> str:
    """The wards whose cases a unit's page shows: its own subtree; the city for the Department
    of Justice."""
    return runtime().config.root.code if unit == JUSTICE_DEPARTMENT else unit


def _cases_block(unit: str, lang: str, role: str | None, scope: str | None, today: date) -> list:
    rt = runtime()
    cfg, cur = rt.config, rt.warehouse.cursor()
    role, _ = viewer_case_access(role, scope)
    counts = case_counts(cur, unit, today, cfg.root.code, role)
    # The 50 most late (the list's first rows), read and cached as such: not every case per view.
    overdue = overdue_cases(role, unit, cur=cur, root=cfg.root.code, today=today, limit=50)
    personal = overdue.height and may_see_personal(role)
    rows = [[label("unit", r["ward_code"], lang),
             _named(GROUP_NAMES, r["group_code"], lang), r["age_group"],
             _named(STATUS_NAMES, r["status"], lang), r["proposed_solution"] or "", r["owner"] or "",
             fmt.day(r["due_on"], lang), str(r["days_overdue"]),
             r["full_name"] or "", fmt.day(r["birth_date"], lang) if r["birth_date"] else "",
             r["id_number"] or ""]
            for r in overdue.iter_rows(named=True)]  # fmt: skip
    statuses = list(counts.by_status.items())
    wards = list(counts.by_ward.items())[:TOP_WARDS]
    return [
        html.H6(tx("cases", lang)),
        html.Div(
            [
                _kv(tx("open", lang), fmt.number(counts.open, 0, lang), "units-prog-cases-open"),
                _kv(
                    tx("overdue", lang),
                    fmt.number(counts.overdue, 0, lang),
                    "units-prog-cases-overdue",
                ),
            ],
            className="d-flex gap-4",
        ),
        dbc.Row(
            [
                _bars_panel(
                    "units-prog-cases-status",
                    tx("by_status", lang),
                    [_named(STATUS_NAMES, s, lang) for s, _ in statuses],
                    [n for _, n in statuses],
                    lang,
                ),
                _bars_panel(
                    "units-prog-cases-age",
                    tx("cases_by", lang),
                    [a for a in AGE_GROUPS if a in counts.by_age_group],
                    [counts.by_age_group[a] for a in AGE_GROUPS if a in counts.by_age_group],
                    lang,
                ),
                _bars_panel(
                    "units-prog-cases-ward",
                    tx("by_ward", lang)
                    + (f" · {tx('top_wards', lang)}" if len(counts.by_ward) > TOP_WARDS else ""),
                    [label("unit", w, lang) for w, _ in wards],
                    [n for _, n in wards],
                    lang,
                ),
            ],
            className="g-2",
        ),
        html.Div(
            [
                html.Span(
                    tx("overdue_cases", lang)
                    + ("" if personal else f" — {tx('personal_hidden', lang)}"),
                    className="small fw-bold me-3",
                ),
                dbc.Button(
                    tx("export_cases", lang),
                    id="units-prog-cases-export",
                    size="sm",
                    color="secondary",
                    outline=True,
                ),
                dcc.Download(id="units-prog-cases-download"),
            ],
            className="d-flex align-items-center mt-2 mb-1",
        ),
        html.Div(
            hj.table(
                [
                    tx("ward", lang),
                    tx("group", lang),
                    tx("age", lang),
                    tx("status", lang),
                    tx("solution", lang),
                    tx("owner", lang),
                    tx("due", lang),
                    t("units.days_late", lang),
                    tx("name", lang),
                    tx("birth", lang),
                    tx("id", lang),
                ],
                rows,
                "units-prog-cases-table",
                tx("no_overdue_cases", lang),
            ),
            style={"overflowX": "auto", "maxHeight": "320px"},
        ),
    ]


def _per_commune(unit: str, start: date, end: date, lang: str) -> html.Div:
    """QR dossiers, QR share and after-hours share of each ward/commune of a district."""
    rt = runtime()
    cfg = rt.config
    frame = query(rt.warehouse.cursor(), cfg, ["qr_count", "qr_share_online", "after_hours_rate"],
                  "total", start, end, {"unit": unit}, by=["unit"], targets=False)  # fmt: skip
    rows = [[cfg.unit(r["unit_code"]).name(lang), fmt.number(r["qr_count"], 0, lang),
             fmt.metric_value(cfg.metrics["qr_share_online"], r["qr_share_online"], lang),
             fmt.metric_value(cfg.metrics["after_hours_rate"], r["after_hours_rate"], lang)]
            for r in frame.sort("qr_count", descending=True, nulls_last=True).iter_rows(named=True)
            if r["unit_code"] != unit]  # fmt: skip
    return html.Div([
        html.Div(tx("per_commune", lang), className="small text-muted mt-2"),
        hj.table([tx("ward", lang), tx("qr_count", lang), "QR %", tx("after_hours", lang)], rows,
               "units-prog-qr-communes", fmt.NO_DATA[lang]),
    ])  # fmt: skip


def _forms_by_department(lang: str) -> html.Div:
    """This year's form-field reduction of each department against its target."""
    rt = runtime()
    cfg = rt.config
    m = cfg.metrics["form_field_reduction"]
    frame = query(rt.warehouse.cursor(), cfg, ["form_field_reduction"], "total",
                  *_year_range(local_today()), {"unit_kind": "department"}, by=["unit"])  # fmt: skip
    rows = [[cfg.unit(r["unit_code"]).name(lang),
             fmt.metric_value(m, r["form_field_reduction"], lang),
             fmt.STATUS_TEXT[status_of(m, r["form_field_reduction"],
                                       r["form_field_reduction_target"])][lang]]
            for r in frame.sort("form_field_reduction", nulls_last=True).iter_rows(named=True)
            if r["form_field_reduction"] is not None]  # fmt: skip
    return html.Div([
        html.Div(tx("by_department", lang), className="small text-muted"),
        html.Div(hj.table([tx("department", lang), tx("reduction", lang), tx("status", lang)], rows,
                        "units-prog-forms-departments", fmt.NO_DATA[lang]), style={"maxHeight": "220px",
                                                                "overflowY": "auto"}),
    ], className="mb-2")  # fmt: skip


CASE_EXPORT_COLUMNS = ("case_id", "ward_code", "group_code", "age_group", "status",
                       "proposed_solution", "owner", "opened_on", "due_on", "resolved_on",
                       "overdue", "days_overdue", "full_name", "birth_date", "id_number")  # fmt: skip


@callback(
    Output("units-prog-cases-download", "data"),
    Input("units-prog-cases-export", "n_clicks"),
    State("units-view", "data"),
    State("_pages_location", "search"),
    prevent_initial_call=True,
)
def export_cases(n_clicks, view, search):
    """The unit's case list as CSV, read through `cases_for`: personal fields are masked unless
    the person exporting has the justice department's role (access control audits the export)."""
    if not n_clicks or not view:
        raise PreventUpdate
    from dashboards._view import UnitView

    v = UnitView.from_json(view)
    lang = parse_search(search).get("lang", "vi")
    role, unit_of_viewer = viewer()
    role, _ = viewer_case_access(role, unit_of_viewer)
    rt = runtime()
    frame = cases_for(role, _case_scope(v.unit), cur=rt.warehouse.cursor(),
                      root=rt.config.root.code, today=local_today())  # fmt: skip
    columns = [(c, c) for c in CASE_EXPORT_COLUMNS]
    rows = [{k: (val.isoformat() if isinstance(val, date) else val) for k, val in r.items()}
            for r in frame.iter_rows(named=True)]  # fmt: skip
    meta = [("unit", v.unit), ("as_of", local_today().isoformat()), ("role", role or "-"),
            ("personal_fields", "shown" if role == "justice" else "masked"),
            ("lang", lang)]  # fmt: skip
    return dcc.send_bytes(to_csv(columns, rows, meta), f"giay-to-tuy-than_{v.unit}.csv")
