"""Open dossiers to escalate, on a unit page (issue 5; docs/domain.md, "Escalation").

Green: due within 24 h (remind the civil servant); yellow: overdue by less than 48 h (the
department head); red: overdue by 48 h or more (the agency head). Counted per child unit and
listed, most overdue first, for the view's unit, sector and procedure. Read as of the current
minute, not by data version: a dossier turns yellow by the clock, not by a load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import polars as pl
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboards import _format as fmt
from dashboards import _html_json as hj
from dashboards import _panel as panel
from dashboards._components import label, local, parse_search
from dashboards._export import to_csv
from dashboards._i18n import TEXT_FILTER, grid_options, lang_of, t
from dashboards._runtime import runtime
from dashboards._view import UnitView
from metrics.alerts.escalation import ESCALATE_TO, escalation_counts, escalation_list
from warehouse.db import remembered, snapshot

LIST_LIMIT = 100  # the most overdue: a page open builds every row of the list
# Most urgent first, in the boards' status colours and icons.
LEVELS = (("red", "critical"), ("yellow", "warning"), ("green", "ok"))
# The filled strip's height, for its placeholder (the card's varies with its list: none, 90 px,
# to a paged 560 px grid, so its placeholder keeps its own height, about the empty card's).
STRIP_HEIGHT = "9rem"


@dataclass(frozen=True)
class Escalation:
    now: datetime
    by_child: pl.DataFrame  # unit_code, green, yellow, red, total
    listed: pl.DataFrame  # the LIST_LIMIT most overdue: escalation_list's columns

    def total(self, level: str) -> int:
        return int(self.by_child[level].sum()) if self.by_child.height else 0


def read(v: UnitView) -> Escalation:
    """The counts and the list as of the current minute (the card says "as of 00:19"), kept
    for that minute or until the next commit: a page open repeated within it runs no statement
    (at city scale the two are ~30 ms)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cur = runtime().warehouse.cursor()
    return remembered(cur, ("escalation", v.unit, v.sector, v.procedure),
                      lambda: _read(cur, v, now), lambda e: e.now + timedelta(minutes=1))  # fmt: skip


def _read(cur, v: UnitView, now: datetime) -> Escalation:
    """The counts and the list of one moment (one read transaction)."""
    with snapshot(cur):
        counts = escalation_counts(cur, now, unit=v.unit, by_child=True, sectors=v.sectors,
                                   procedures=v.procedures)  # fmt: skip
        listed = escalation_list(cur, now, unit=v.unit, limit=LIST_LIMIT, sectors=v.sectors,
                                 procedures=v.procedures)  # fmt: skip
    return Escalation(now, counts, listed)


def _level(level: str, status: str, count: int, lang: str) -> html.Div:
    return html.Div(
        [html.Div([html.Span(fmt.STATUS_ICON[status], className="status-icon"),
                   fmt.number(count, 0, lang)], className=f"sla-count status-{status}"),
         html.Div(t(f"sla.{level}", lang), className="sla-label"),
         html.Div(f"→ {ESCALATE_TO[level][lang]}", className="sla-action")],
        className=f"sla-level sla-{level}", id=f"units-sla-{level}",
    )  # fmt: skip


def strip(e: Escalation, lang: str) -> html.Div:
    """The three counts, for the unit's summary, with a link down to the list."""
    levels = [_level(level, status, e.total(level), lang) for level, status in LEVELS]
    return _strip([html.Div(levels, className="sla-levels"),
                   html.A(t("sla.see", lang), href="#units-escalation", className="small")], lang)  # fmt: skip


def _strip(body: list, lang: str) -> html.Div:
    return html.Div([html.Div(t("sla.title", lang), className="kpi-name mt-3"), *body],
                    id="units-sla")  # fmt: skip


def _per_child(e: Escalation, v: UnitView, lang: str) -> dict | None:
    if e.by_child.height == 0 or e.by_child["unit_code"].to_list() == [v.unit]:
        return None
    # As JSON (`_html_json`): at the city level ~130 cells, ~5 ms a page view as components.
    head = [t("unit", lang)] + [
        hj.element("Th", [hj.element("Span", fmt.STATUS_ICON[s], className=f"status-icon status-{s}"),
                          t(f"sla.word.{level}", lang)], className="text-end")
        for level, s in LEVELS
    ]  # fmt: skip
    rows = [[label("unit", r["unit_code"], lang)]
            + [hj.element("Td", fmt.number(r[level], 0, lang), className="text-end")
               for level, _ in LEVELS]
            for r in e.by_child.iter_rows(named=True)]  # fmt: skip
    return hj.table(
        head,
        rows,
        "units-sla-by-child",
        "",
        class_name="table table-sm table-striped sla-table mb-2",
    )


def _hours(hours: float, lang: str) -> str:
    """Hours left or overdue; days from 48 h on (the red level), "35,4 ngày" over "850,6 giờ"."""
    if hours >= 48:
        return t("sla.days", lang).format(days=fmt.number(hours / 24, 1, lang))
    key = "sla.left" if hours < 0 else "sla.late"
    return t(key, lang).format(hours=fmt.number(abs(hours), 1, lang))


def _grid(e: Escalation, lang: str) -> dag.AgGrid:
    word = {level: t(f"sla.word.{level}", lang) for level, _ in LEVELS}
    rows = [
        {"level": r["level"], "level_text": word[r["level"]], "dossier_id": r["dossier_id"],
         "unit": label("unit", r["unit_code"], lang),
         "procedure": label("procedure", r["procedure_code"], lang),
         "due_at": fmt.moment(local(r["due_at"]), lang), "hours": _hours(r["hours_overdue"], lang),
         "action": ESCALATE_TO[r["level"]][lang]}
        for r in e.listed.iter_rows(named=True)
    ]  # fmt: skip
    # (field, header, width, narrowest): fitted to the card, the names give way and show whole
    # on hover; the level, the due time and how late never shrink past reading ("13:43, 27…").
    cols = [("level_text", t("sla.level", lang), 100, 100),
            ("dossier_id", t("units.dossier", lang), 210, 120),
            ("unit", t("unit", lang), 180, 110), ("procedure", t("procedure", lang), 280, 130),
            ("due_at", t("units.due", lang), 160, 160), ("hours", t("sla.hours", lang), 110, 110),
            ("action", t("sla.action", lang), 200, 120)]  # fmt: skip
    level_class = {f"sla-cell-{level}": f"params.data.level === '{level}'" for level, _ in LEVELS}
    # Sorted already, most overdue first; the time columns are text, so they do not re-sort.
    defs = [{"field": f, "headerName": h, "headerTooltip": h, "width": w, "minWidth": least,
             **({"cellClassRules": level_class} if f == "level_text" else {}),
             **({"sortable": False} if f in ("due_at", "hours") else {"tooltipField": f})}
            for f, h, w, least in cols]  # fmt: skip
    return dag.AgGrid(
        id="units-sla-list",
        rowData=rows,
        columnDefs=defs,
        columnSize="responsiveSizeToFit",
        defaultColDef={"resizable": True, "sortable": True, **TEXT_FILTER},
        # A short list takes its own height, a long one pages in a fixed frame.
        dashGridOptions=grid_options(
            lang,
            pagination=True,
            paginationPageSize=20,
            paginationPageSizeSelector=False,
            **({"domLayout": "autoHeight"} if len(rows) <= 10 else {}),
        ),
        style={"height": "560px"} if len(rows) > 10 else {},
        className="ag-theme-alpine",
    )


def card(e: Escalation, v: UnitView, lang: str) -> dbc.Card:
    """Counts per child unit and the list, most overdue first."""
    total = sum(e.total(level) for level, _ in LEVELS)
    when = f"{t('sla.now', lang)} {fmt.moment(local(e.now), lang)}"
    if total == 0:
        body = [html.Div(t("sla.none", lang), className="text-muted", id="units-sla-none")]
    else:
        shown = t("sla.shown", lang).format(shown=fmt.number(e.listed.height, 0, lang),
                                            total=fmt.number(total, 0, lang))  # fmt: skip
        listed = [html.Div(shown, className="small text-muted mb-1")
                  if total > e.listed.height else None, _grid(e, lang)]  # fmt: skip
        per_child = _per_child(e, v, lang)
        body = listed if per_child is None else [dbc.Row([
            dbc.Col(html.Div(per_child, className="sla-table-scroll"), lg=4),
            dbc.Col(listed, lg=8),
        ])]  # fmt: skip
    head = [html.Span(when, className="text-muted small ms-2"),
            dbc.Button(t("export_list", lang), id="units-sla-export", size="sm", color="secondary",
                       outline=True, className="ms-3", disabled=total == 0),
            dcc.Download(id="units-sla-download")]  # fmt: skip
    return _card(head, body, lang)


def _card(head: list, body, lang: str) -> dbc.Card:
    return dbc.Card([dbc.CardHeader([html.Span(t("sla.title", lang), className="fw-bold"), *head]),
                     dbc.CardBody(body, className="p-2")],
                    className="mb-3", id="units-escalation")  # fmt: skip


def placeholders(lang: str) -> tuple[html.Div, dbc.Card]:
    """The strip's and the card's places until their callback fills them (`_panel`)."""
    return (_strip([panel.loading(lang, "units-sla-loading", STRIP_HEIGHT)], lang),
            _card([], panel.loading(lang, "units-escalation-loading"), lang))  # fmt: skip


def failed(lang: str) -> tuple[html.Div, dbc.Card]:
    return (_strip([panel.failed(lang, "units-sla-failed")], lang),
            _card([], panel.failed(lang, "units-escalation-failed"), lang))  # fmt: skip


EXPORT_LIMIT = 100_000  # every escalated dossier of the city fits (~0.2 M open at city scale)


@callback(
    Output("units-sla-download", "data"),
    Input("units-sla-export", "n_clicks"),
    State("units-view", "data"),
    State("_pages_location", "search"),
    prevent_initial_call=True,
)
def export(n_clicks, view, search):
    """Every escalated dossier of the view, as of now, most overdue first, as CSV (audited as
    an export; the escalation checks the viewer's unit scope before any SQL)."""
    if not n_clicks or not view:
        raise PreventUpdate
    v = UnitView.from_json(view)
    lang = lang_of(parse_search(search).get("lang"))
    now = datetime.now(UTC)
    listed = escalation_list(runtime().warehouse.cursor(), now, unit=v.unit, limit=EXPORT_LIMIT,
                             sectors=v.sectors, procedures=v.procedures)  # fmt: skip
    columns = [("level", t("sla.level", lang)), ("dossier_id", t("units.dossier", lang)),
               ("unit_code", "unit_code"), ("unit", t("unit", lang)),
               ("procedure_code", "procedure_code"), ("procedure", t("procedure", lang)),
               ("received_at", t("units.received", lang)), ("due_at", t("units.due", lang)),
               ("hours_overdue", "hours_overdue"), ("action", t("sla.action", lang))]  # fmt: skip
    rows = [
        {**r, "level": t(f"sla.word.{r['level']}", lang), "unit": label("unit", r["unit_code"], lang),
         "procedure": label("procedure", r["procedure_code"], lang),
         "received_at": local(r["received_at"]).isoformat(timespec="minutes"),
         "due_at": local(r["due_at"]).isoformat(timespec="minutes"),
         "action": ESCALATE_TO[r["level"]][lang]}
        for r in listed.iter_rows(named=True)
    ]  # fmt: skip
    meta = [("unit", v.unit), ("sector", v.sector or "-"), ("procedure", v.procedure or "-"),
            ("as_of", local(now).isoformat(timespec="minutes") + " (Asia/Ho_Chi_Minh)"),
            *((f"level {level}", t(f"sla.{level}", lang)) for level, _ in LEVELS),
            ("hours_overdue", "negative: hours left before the due time"),
            ("rows", str(len(rows)))]  # fmt: skip
    return dcc.send_bytes(to_csv(columns, rows, meta), f"ho-so-can-don-doc_{v.unit}.csv")
