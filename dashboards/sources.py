"""Data sources: each feed's kind, description, last run, rows loaded and quarantined, next run,
stale or healthy, last error; the quarantined rows with their reasons; a "run now" button.

Read-only except "run now", which goes through the connectors' service (the same code the
scheduler runs), never through SQL here. The table refreshes every few seconds.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from access.policy import may_act
from access.web import current as current_principal
from connectors.runner import FeedBusy
from dashboards import _format as fmt
from dashboards._components import (
    as_of_line,
    current_freshness,
    local,
    parse_search,
)
from dashboards._export import to_csv
from dashboards._i18n import TEXT_FILTER, grid_options, lang_of, number_filter, t
from dashboards._runtime import runtime
from metrics.freshness import quarantine_reasons, quarantined
from warehouse.messages import words

dash.register_page(__name__, path="/sources", name="Sources", order=5, title="IOC · Sources")

REFRESH_MS = 5000


def _ts(value, lang: str) -> str:
    if value is None:
        return t("sources.never", lang)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return fmt.moment(local(value), lang)


def _service():
    """The app's FeedService when app.py wired the connectors in (None otherwise)."""
    return getattr(runtime(), "feeds", None)


def feed_rows() -> list[dict]:
    """One row per declared feed, plus sources that loaded without being declared (the demo)."""
    service = _service()
    rows = service.status() if service is not None else []
    known = {r["name"] for r in rows}
    for name, f in current_freshness().items():
        if name in known:
            continue
        rows.append({
            "name": name, "kind": "—", "enabled": True, "description": {},
            "next_run_at": None, "last_run_at": f.last_run_at, "last_status": f.last_status,
            "last_error": f.last_error, "last_rows_loaded": f.rows_loaded,
            "last_rows_quarantined": f.rows_quarantined, "total_rows_loaded": f.total_loaded,
            "total_rows_quarantined": f.total_quarantined, "newest_data_at": f.newest_data_at,
            "stale": f.stale, "running": False, "manual": False,
        })  # fmt: skip
    return rows


def _health(row: dict, lang: str) -> html.Span:
    if not row.get("enabled", True):
        return html.Span(
            ["○ ", t("sources.disabled", lang)], className="status-badge status-no_data"
        )
    if row.get("last_status") == "failed":
        return html.Span(
            ["✖ ", t("sources.failed", lang)], className="status-badge status-critical"
        )
    if row.get("stale"):
        return html.Span(["▲ ", t("sources.stale", lang)], className="status-badge status-warning")
    return html.Span(["✔ ", t("sources.healthy", lang)], className="status-badge status-ok")


def _loaded(loaded: int | None, remapped: int | None, lang: str) -> list:
    """The rows the last run loaded; under it, when some named a retired unit after its last
    day, how many of them loaded under its successor."""
    cell: list = [fmt.number(loaded, 0, lang) if loaded is not None else "—"]
    if remapped:
        text = f"{t('sources.remapped', lang)}: {fmt.number(remapped, 0, lang)}"
        cell.append(html.Div(text, className="small text-muted sources-remapped"))
    return cell


def feeds_table(lang: str) -> dbc.Table:
    head = [t(k, lang) for k in ("sources.feed", "sources.kind", "sources.department",
                                 "sources.last_run", "sources.newest", "sources.loaded",
                                 "sources.quarantined", "sources.next_run", "sources.health",
                                 "sources.last_error")] + [""]  # fmt: skip
    body = []
    for r in feed_rows():
        loaded = r.get("last_rows_loaded")
        quarantined_ = r.get("last_rows_quarantined")
        can_run = r.get("manual", True) and r.get("enabled", True)
        body.append(
            html.Tr(
                [
                    html.Td(html.Code(r["name"])),
                    html.Td(r.get("kind") or "—"),
                    html.Td((r.get("description") or {}).get(lang) or "—", className="small"),
                    html.Td(_ts(r.get("last_run_at"), lang)),
                    html.Td(_ts(r.get("newest_data_at"), lang)),
                    html.Td(
                        _loaded(loaded, r.get("last_rows_remapped"), lang), className="text-end"
                    ),
                    html.Td(
                        fmt.number(quarantined_, 0, lang) if quarantined_ is not None else "—",
                        className="text-end",
                    ),
                    html.Td(_ts(r.get("next_run_at"), lang) if r.get("next_run_at") else "—"),
                    html.Td(_health(r, lang)),
                    html.Td(r.get("last_error") or "", className="small text-danger sources-error"),
                    html.Td(
                        dbc.Button(
                            t("sources.run_now", lang),
                            size="sm",
                            color="primary",
                            id={"type": "sources-run", "feed": r["name"]},
                            disabled=not can_run or bool(r.get("running")),
                        )
                    ),
                ],
                id=f"sources-row-{r['name']}",
            )
        )
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
                     striped=True, hover=True, responsive=True, size="sm",
                     id="sources-table")  # fmt: skip


def _quarantine_rows(lang: str) -> list[dict]:
    """The newest 1,000 quarantined rows, as the grid shows them."""
    return [
        {**r, "quarantined_at": fmt.moment(local(r["quarantined_at"]), lang),
         "reason": words(r["reason"], lang)}
        for r in quarantined(runtime().warehouse.cursor(), limit=1000)
    ]  # fmt: skip


def _quarantine_head(lang: str, rows: list[dict]) -> html.Div:
    return html.Div(
        [html.H2(t("sources.quarantine", lang), className="h5 mb-0"),
         dbc.Button(t("export_list", lang), id="sources-quarantine-csv", size="sm",
                    color="secondary", outline=True, className="ms-3", disabled=not rows),
         dcc.Download(id="sources-quarantine-download")],
        className="d-flex align-items-center mt-4 mb-2",
    )  # fmt: skip


def quarantine_grid(lang: str, rows: list[dict] | None = None) -> html.Div:
    cur = runtime().warehouse.cursor()
    rows = _quarantine_rows(lang) if rows is None else rows
    reasons = quarantine_reasons(cur)[:8]
    summary = html.Ul(
        [
            html.Li(f"{src} · {words(reason, lang)}: {fmt.number(n, 0, lang)}")
            for src, reason, n in reasons
        ],
        className="small mb-2",
    )
    cols = [("batch_id", t("sources.batch", lang), 90), ("source", t("source", lang), 180),
            ("quarantined_at", t("sources.time", lang), 160),
            ("reason", t("sources.reason", lang), 320), ("raw", t("sources.raw", lang), 600)]  # fmt: skip
    defs = [{"field": f, "headerName": h, "width": w,
             **(number_filter(lang) if f == "batch_id" else {})} for f, h, w in cols]  # fmt: skip
    return html.Div(
        [
            summary,
            dag.AgGrid(
                id="sources-quarantine",
                columnSize="responsiveSizeToFit",
                rowData=rows,
                columnDefs=defs,
                defaultColDef={"sortable": True, **TEXT_FILTER, "resizable": True},
                dashGridOptions=grid_options(
                    lang,
                    pagination=True,
                    paginationPageSize=25,
                    paginationPageSizeSelector=[25, 50, 100],
                ),
                style={"height": "420px"},
                className="ag-theme-alpine",
            ),
        ]
    )


def layout(lang: str = "vi", **_query) -> html.Div:
    lang = lang_of(lang)
    quarantine = _quarantine_rows(lang)  # read once: the grid, and whether to offer an export
    return html.Div(
        [
            html.Div(
                [
                    html.H1(t("sources.title", lang), className="page-title mb-0"),
                    html.Div(
                        as_of_line(current_freshness(), lang, "sources-as-of"),
                        id="sources-as-of-box",
                    ),
                ],
                className="d-flex justify-content-between align-items-baseline flex-wrap mb-2",
            ),
            dcc.Interval(id="sources-tick", interval=REFRESH_MS),
            html.Div(id="sources-message"),
            html.Div(feeds_table(lang), id="sources-feeds"),
            _quarantine_head(lang, quarantine),
            quarantine_grid(lang, quarantine),
        ],
        className="container-fluid py-3",
    )


@callback(
    Output("sources-feeds", "children"),
    Output("sources-as-of-box", "children"),
    Input("sources-tick", "n_intervals"),
    State("_pages_location", "search"),
    prevent_initial_call=True,
)
def refresh(_n, search):
    lang = lang_of(parse_search(search).get("lang"))
    return feeds_table(lang), as_of_line(current_freshness(), lang, "sources-as-of")


EXPORT_ROWS = 100_000  # the grid shows the newest 1,000; a feed's owner may need them all


@callback(
    Output("sources-quarantine-download", "data"),
    Input("sources-quarantine-csv", "n_clicks"),
    State("_pages_location", "search"),
    prevent_initial_call=True,
)
def export_quarantine(n, search):
    """Every quarantined row (the newest 100,000) with its reason, to send to the feed's owner."""
    if not n:
        raise PreventUpdate
    lang = lang_of(parse_search(search).get("lang"))
    found = quarantined(runtime().warehouse.cursor(), limit=EXPORT_ROWS + 1)
    rows = [{**r, "quarantined_at": local(r["quarantined_at"]).isoformat(timespec="seconds"),
             "reason_text": words(r["reason"], lang)} for r in found[:EXPORT_ROWS]]  # fmt: skip
    columns = [("batch_id", t("sources.batch", lang)), ("source", t("source", lang)),
               ("quarantined_at", t("sources.time", lang)), ("reason", "reason"),
               ("reason_text", t("sources.reason", lang)),
               ("raw", t("sources.raw", lang))]  # fmt: skip
    meta = [("title", t("sources.quarantine", lang)),
            ("generated_at", datetime.now(UTC).isoformat(timespec="seconds")),
            ("rows", f"{len(rows)}" + (f" (the newest {EXPORT_ROWS}; more are stored)"
                                       if len(found) > EXPORT_ROWS else "")),
            ("times", "Asia/Ho_Chi_Minh"),
            ("reason", "the stored reason code; the next column says it in words")]  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return dcc.send_bytes(to_csv(columns, rows, meta), f"ioc-quarantine-{stamp}.csv")


def _run_in_background(name: str) -> bool:
    service = _service()
    if service is None or name not in service.feeds:
        return False
    threading.Thread(
        target=_run_quietly, args=(service, name), daemon=True, name=f"run-now-{name}"
    ).start()
    return True


def _run_quietly(service, name: str) -> None:
    try:
        service.run_now(name)
    except FeedBusy:  # already running: the page shows it running
        pass


@callback(
    Output("sources-message", "children"),
    Input({"type": "sources-run", "feed": ALL}, "n_clicks"),
    State("_pages_location", "search"),
    prevent_initial_call=True,
)
def run_now(clicks, search):
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    lang = lang_of(parse_search(search).get("lang"))
    if not may_act(current_principal(), "sources-run"):  # the guard checked too
        return dbc.Alert(t("sources.run_not_allowed", lang), color="danger", duration=6000)
    name = ctx.triggered_id["feed"]
    if not _run_in_background(name):
        return dbc.Alert(t("sources.run_unavailable", lang), color="warning", duration=6000)
    return dbc.Alert(f"{t('sources.run_started', lang)}: {name}", color="info", duration=6000)
