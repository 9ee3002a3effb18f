"""The Alerts page: active, acknowledged, silenced, other states, history; ack and silence.

Reads through `warehouse.alerts_store`; acknowledging and silencing go through its service
functions (`acknowledge`, `silence`), never raw SQL here. Each alert links to the drill-down
view that explains it. vi/en via `?lang=`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html

from access.policy import may_act
from access.web import current as current_principal
from base.tz import local_today
from dashboards import _forecast as forecast
from dashboards import _panel as panel
from dashboards._alerts import alert_link, alert_name, alert_text, reason_text, when
from dashboards._components import label
from dashboards._i18n import lang_of, t
from dashboards._parallel import gather
from dashboards._runtime import runtime
from metrics import scope
from metrics.alerts.reasons import SEVERITIES, STATES, event_word
from warehouse import alerts_store as store
from warehouse.db import remembered

dash.register_page(__name__, path="/alerts", name="Alerts", order=5, title="IOC · Alerts")

TEXT = {
    "title": {"vi": "Cảnh báo", "en": "Alerts"},
    "active": {"vi": "Đang cảnh báo", "en": "Active"},
    "acked": {"vi": "Đã xác nhận", "en": "Acknowledged"},
    "silenced": {"vi": "Đang tắt thông báo", "en": "Silenced"},
    "other": {"vi": "Trạng thái khác", "en": "Other states"},
    "history": {"vi": "Lịch sử", "en": "History"},
    "none": {"vi": "Không có", "en": "None"},
    "severity": {"vi": "Mức độ", "en": "Severity"},
    "metric": {"vi": "Chỉ tiêu", "en": "Metric"},
    "unit": {"vi": "Đơn vị (cả cấp dưới)", "en": "Unit (and those below it)"},
    "state": {"vi": "Trạng thái", "en": "State"},
    "alert": {"vi": "Cảnh báo", "en": "Alert"},
    "since": {"vi": "Từ lúc", "en": "Since"},
    "reason": {"vi": "Lý do", "en": "Reason"},
    "who": {"vi": "Người thực hiện", "en": "Who"},
    "why": {"vi": "Ghi chú / lý do", "en": "Note / why"},
    "ack": {"vi": "Xác nhận", "en": "Acknowledge"},
    "silence": {"vi": "Tắt thông báo", "en": "Silence"},
    "for": {"vi": "trong", "en": "for"},
    "choose": {"vi": "Chọn cảnh báo", "en": "Choose an alert"},
    "not_allowed": {
        "vi": "Vai trò của bạn không được làm việc này",
        "en": "Your role may not do this",
    },
    "acked_by": {"vi": "Xác nhận bởi", "en": "Acknowledged by"},
    "silenced_by": {"vi": "Tắt bởi", "en": "Silenced by"},
    "until": {"vi": "đến", "en": "until"},
    "done_ack": {"vi": "Đã xác nhận", "en": "Acknowledged"},
    "done_silence": {"vi": "Đã tắt thông báo", "en": "Silenced"},
    "event": {"vi": "Sự kiện", "en": "Event"},
    "at": {"vi": "Lúc", "en": "At"},
    "notified": {"vi": "Đã gửi", "en": "Notified"},
}
ICON = {"critical": "✖", "warning": "▲"}
SILENCE_HOURS = (1, 4, 24, 72, 168)
OTHER_STATES = ("pending", "no_data", "insufficient_data", "error", "stale")
FORECAST_HEIGHT = "40rem"  # about the projections table of the 11 metrics with a target (1600 px)


def _t(key: str, lang: str) -> str:
    return TEXT[key][lang]


def _severity(sev: str | None, lang: str) -> html.Span:
    if not sev:
        return html.Span("–")
    return html.Span(
        f"{ICON.get(sev, '●')} {SEVERITIES[sev][lang]}", className=f"alert-sev alert-{sev}"
    )


def _table(rows: list[store.AlertRow], lang: str, extra: str | None = None) -> html.Div:
    if not rows:
        return html.P(_t("none", lang), className="text-muted")
    head = [_t("severity", lang), _t("alert", lang), _t("state", lang), _t("since", lang),
            _t("reason", lang)] + ([_t(extra, lang)] if extra else [])  # fmt: skip
    body = []
    for a in rows:
        cells = [
            html.Td(_severity(a.severity, lang)),
            html.Td(html.A(alert_text(a, lang), href=alert_link(a, lang), className="alert-link")),
            html.Td(STATES.get(a.state, {}).get(lang, a.state)),
            html.Td(when(a.started_at or a.since, lang)),
            html.Td(reason_text(vars(a), lang), className="small"),
        ]
        if extra == "acked_by":
            note = f" — {a.ack_note}" if a.ack_note else ""
            cells.append(
                html.Td(f"{a.acked_by} · {when(a.acked_at, lang)}{note}", className="alert-ack")
            )
        if extra == "silenced_by":
            cells.append(
                html.Td(
                    f"{a.silenced_by} ({a.silence_reason}) {_t('until', lang)} "
                    f"{when(a.silenced_until, lang)}",
                    className="alert-silence",
                )
            )
        body.append(html.Tr(cells, className=f"alert-row state-{a.state}", **{"data-key": a.key}))
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        size="sm",
        hover=True,
        responsive=True,
    )


def _recent_history() -> list[dict]:
    cur = runtime().warehouse.cursor()  # only a commit adds to it
    return remembered(cur, "alert_history_200", lambda: store.alert_history(cur, limit=200))


def _within(unit: str | None):
    """Whether an alert's unit is `unit` or below it (District 8 takes its wards' alerts too);
    every alert when no unit is picked."""
    if not unit:
        return lambda code: True
    cfg = runtime().config
    return lambda code: code is not None and scope.inside(cfg, code, unit)


def _history(lang: str, metric: str | None, unit: str | None) -> html.Div:
    inside = _within(unit)
    rows = [
        r
        for r in _recent_history()
        if (not metric or r["metric"] == metric) and inside(r["unit_code"])
    ][:100]
    if not rows:
        return html.P(_t("none", lang), className="text-muted")
    head = [_t("at", lang), _t("event", lang), _t("alert", lang), _t("severity", lang),
            _t("reason", lang), _t("notified", lang)]  # fmt: skip
    body = [
        html.Tr(
            [
                html.Td(when(r["happened_at"], lang)),
                html.Td(event_word(r["event"], lang)),
                html.Td(alert_name(r, lang), title=r["alert_key"]),
                html.Td(_severity(r["severity"], lang)),
                html.Td(reason_text(r, lang), className="small"),
                html.Td("✔" if r["notify"] else ("🔕" if r["silenced"] else "")),
            ]
        )
        for r in rows
    ]
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        size="sm",
        responsive=True,
    )


def render(lang: str, severity: str | None, metric: str | None, unit: str | None) -> list:
    inside = _within(unit)
    rows = [a for a in store.current_alerts(runtime().warehouse.cursor())
            if (not severity or a.severity == severity) and (not metric or a.metric == metric)
            and inside(a.unit_code)]  # fmt: skip
    firing = [a for a in rows if a.state == "firing"]
    active = [a for a in firing if not a.acknowledged and not a.silenced]
    acked = [a for a in firing if a.acknowledged and not a.silenced]
    silenced = [a for a in rows if a.silenced]
    # Pending, stale, errors, and firing episodes interrupted by a data gap; plain "no data"
    # and "too few dossiers" instances are only counted (a ward without dossiers is not news).
    other = [
        a
        for a in rows
        if a.state in OTHER_STATES
        and not a.silenced
        and (a.state in ("pending", "error", "stale") or a.started_at is not None)
    ]
    quiet = {s: sum(1 for a in rows if a.state == s) for s in ("no_data", "insufficient_data")}

    def section(key: str, content, count: int | None = None) -> html.Div:
        title = _t(key, lang) + (f" ({count})" if count is not None else "")
        return html.Div([html.H4(title), content], id=f"alerts-{key}", className="mb-4")

    return [
        section("active", _table(active, lang), len(active)),
        section("acked", _table(acked, lang, "acked_by"), len(acked)),
        section("silenced", _table(silenced, lang, "silenced_by"), len(silenced)),
        section(
            "other",
            html.Div(
                [
                    _table(other, lang),
                    html.P(
                        " · ".join(f"{STATES[k][lang]}: {n}" for k, n in quiet.items()),
                        className="text-muted small",
                        id="alerts-quiet-counts",
                    ),
                ]
            ),
            len(other),
        ),
        section("history", _history(lang, metric, unit)),
    ]


def _unit_options(every: list, lang: str) -> list[dict]:
    """The units with an alert and the units above them, by name (a person picks "Quận 8", not
    types "Q8"), the city first and then as the configuration lists them."""
    cfg, today = runtime().config, local_today()
    codes = {a.unit_code for a in every if a.unit_code in cfg.unit_codes()}
    codes |= {up for code in codes for up in cfg.ancestors(code, today)}
    order = {u.code: i for i, u in enumerate(cfg.units)}
    return [{"label": label("unit", code, lang), "value": code}
            for code in sorted(codes, key=lambda c: (c != cfg.root.code, order[c]))]  # fmt: skip


def _actionable(lang: str) -> list[dict]:
    every = store.current_alerts(runtime().warehouse.cursor())
    rows = [a for a in every if a.state in ("firing", "pending")]
    rows += [a for a in every if a.state in OTHER_STATES[1:]]
    return [{"label": f"{a.key} · {alert_text(a, lang)}", "value": a.key} for a in rows]


def layout(lang: str = "vi", **_query) -> html.Div:
    lang = lang_of(lang)
    cfg = runtime().config
    # The page's two reads side by side; each is kept until the next commit, so what follows
    # (the tables, the filter and action options) reads them from memory.
    every, _ = gather(lambda: store.current_alerts(runtime().warehouse.cursor()), _recent_history)
    metrics = sorted({r.metric for r in every if r.metric})
    filters = dbc.Row(
        [
            dbc.Col(
                dcc.Dropdown(
                    id="alerts-filter-severity",
                    options=[{"label": v[lang], "value": k} for k, v in SEVERITIES.items()],
                    placeholder=_t("severity", lang),
                ),
                md=3,
            ),
            dbc.Col(
                dcc.Dropdown(
                    id="alerts-filter-metric",
                    options=[{"label": cfg.metrics[m].name(lang), "value": m} for m in metrics],
                    placeholder=_t("metric", lang),
                ),
                md=4,
            ),
            dbc.Col(
                dcc.Dropdown(
                    id="alerts-filter-unit",
                    options=_unit_options(every, lang),
                    placeholder=_t("unit", lang),
                ),
                md=3,
            ),
        ],
        className="mb-3 g-2",
    )
    actions = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id="alerts-action-key",
                            options=_actionable(lang),
                            placeholder=_t("choose", lang),
                        ),
                        md=4,
                    ),
                    # Who acts is who signed in (the server records that, not this field).
                    dbc.Col(
                        dbc.Input(
                            id="alerts-action-who",
                            placeholder=_t("who", lang),
                            value=getattr(current_principal(), "name", None),
                            disabled=True,
                        ),
                        md=2,
                    ),
                    dbc.Col(dbc.Input(id="alerts-action-why", placeholder=_t("why", lang)), md=2),
                    dbc.Col(
                        dbc.Button(_t("ack", lang), id="alerts-ack", color="primary"), md="auto"
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id="alerts-action-hours",
                            options=[
                                {"label": f"{_t('for', lang)} {h} h", "value": h}
                                for h in SILENCE_HOURS
                            ],
                            value=4,
                            clearable=False,
                        ),
                        md=1,
                    ),
                    dbc.Col(
                        dbc.Button(_t("silence", lang), id="alerts-silence", color="secondary"),
                        md="auto",
                    ),
                ],
                className="g-2 align-items-center",
            )
        ),
        className="mb-3",
    )
    return html.Div(
        [
            dcc.Store(id="alerts-lang", data=lang),
            html.H1(_t("title", lang), className="page-title"),
            filters,
            actions,
            html.Div(id="alerts-action-msg", className="mb-2"),
            html.Div(render(lang, None, None, None), id="alerts-body"),
            html.Div(
                [
                    html.H4(t("forecast.warnings", lang)),
                    html.Div(
                        panel.loading(lang, "alerts-forecast-loading", FORECAST_HEIGHT),
                        id="alerts-forecast-slot",
                    ),
                ],
                id="alerts-forecast",
                className="mb-4",
            ),
        ],
        className="container-fluid py-3",
    )


@callback(Output("alerts-forecast-slot", "children"), Input("alerts-lang", "data"))
def forecast_panel(lang: str | None):
    """The year-end projections of the viewer's unit (the city, for leaders) and its children,
    once the page is drawn: 11 metrics × every department and district, two statements and a
    line fitted per unit (~40 ms cold), which the alert tables above need not wait for."""
    lang = lang_of(lang)
    unit = scope.current_unit() or runtime().config.root.code  # the session's, not the page's
    return panel.filled(f"the year-end projections of {unit}",
                        lambda: forecast.outlook_table(forecast.outlooks(unit), lang),
                        lambda: panel.failed(lang, "alerts-forecast-failed"))  # fmt: skip


@callback(
    Output("alerts-body", "children"),
    Output("alerts-action-msg", "children"),
    Output("alerts-action-key", "options"),
    Input("alerts-filter-severity", "value"),
    Input("alerts-filter-metric", "value"),
    Input("alerts-filter-unit", "value"),
    Input("alerts-ack", "n_clicks"),
    Input("alerts-silence", "n_clicks"),
    State("alerts-action-key", "value"),
    State("alerts-action-who", "value"),
    State("alerts-action-why", "value"),
    State("alerts-action-hours", "value"),
    State("alerts-lang", "data"),
    prevent_initial_call=True,
)
def update(severity, metric, unit, _ack, _silence, key, who, why, hours, lang):
    lang = lang_of(lang)
    message = None
    trigger = ctx.triggered_id
    if trigger in ("alerts-ack", "alerts-silence"):
        signed_in = current_principal()  # who acted is who signed in, not what was typed
        who = signed_in.name if signed_in is not None else who
        wh = runtime().warehouse
        now = datetime.now(UTC)
        try:
            if not may_act(signed_in, trigger):  # the guard checked too; never the only check
                raise store.AlertActionError(_t("not_allowed", lang))
            if not key:
                raise store.AlertActionError(_t("choose", lang))
            if trigger == "alerts-ack":
                store.acknowledge(wh.db, key, who or "", why, now)
                done = _t("done_ack", lang)
            else:
                until = now + timedelta(hours=float(hours or 4))
                store.silence(wh.db, key, who or "", why or "", until, now)
                done = _t("done_silence", lang)
            message = dbc.Alert(f"{done}: {key}", color="success", id="alerts-action-ok")
        except store.AlertActionError as e:
            message = dbc.Alert(str(e), color="danger", id="alerts-action-error")
    return render(lang, severity, metric, unit), message, _actionable(lang)
