"""The wall screen: a TV across the room, nobody touching it.

`/wall?kiosk=1` hides the navigation; the page is dark, sized to the screen (vw/vh units, figure
fonts scaled by the screen width) and rotates through the boards of config/wall.toml. Every
`refresh_seconds` it asks the server whether the warehouse changed (data version, stale feeds,
the date) and re-renders only then, in place: no spinner, no flicker. assets/wall.js shows an
"unreachable" notice while the server is down and reloads the page when it is back.
URL: `lang`, `kiosk`, `board` (pin one board), `refresh` (seconds), `rotate=0` (stop rotating).
"""

from __future__ import annotations

import math
from datetime import date

import dash
import flask
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from base.calendar import add_months
from base.tz import local_today
from dashboards import _figures as figs
from dashboards import _format as fmt
from dashboards._alerts import strip_items
from dashboards._components import alert_strip, as_of_line, current_freshness, status_badge
from dashboards._i18n import lang_of, t
from dashboards._parallel import gather
from dashboards._runtime import runtime
from dashboards._wall_config import MIN_REFRESH, Board, wall_config
from metrics import scope
from metrics.kpi import Kpi, kpis
from metrics.query import query, rank_units
from metrics.targets import status as status_of

dash.register_page(__name__, path="/wall", name="Wall", order=1, title="IOC · Wall")

RANKED = 10  # the ranking names this many units, the lowest ones
SCALE_COOKIE = "ioc_screen_scale"  # set by assets/screen_scale.js before the first request


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _tile(k: Kpi, spark: tuple[list, list], lang: str, scale: float) -> html.Div:
    m = runtime().config.metrics[k.metric]
    target = fmt.metric_value(m, k.target, lang) if k.target is not None else t("no_target", lang)
    color = figs.STATUS_COLOR_DARK[k.status] if k.status not in ("no_data",) else "#9aa4b2"
    if k.status == "no_target":
        color = "#7fb2ff"
    better = None
    if k.change is not None and k.change != 0:
        better = (k.change > 0) == (m.direction == "higher")
    return html.Div(
        [
            html.Div(m.name(lang), className="wall-tile-name"),
            html.Div(
                [
                    html.Span(
                        fmt.metric_value(m, k.value, lang),
                        className="wall-tile-value",
                        id=f"wall-value-{k.metric}",
                    ),
                    status_badge(k.status, lang, "wall-tile-status"),
                ],
                className="wall-tile-main",
            ),
            html.Div(
                [
                    html.Span(f"{t('target', lang)}: {target}", className="wall-tile-target"),
                    html.Span(
                        f"{fmt.delta(m, k.change, lang)} {t('vs_prev', lang)}",
                        className="wall-tile-change"
                        + ("" if better is None else (" good" if better else " bad")),
                    ),
                ],
                className="wall-tile-sub",
            ),
            dcc.Graph(
                figure=figs.sparkline(spark[0], spark[1], color, scale),
                config=figs.WALL_CONFIG,
                className="wall-spark",
                id=f"wall-spark-{k.metric}",
            ),
        ],
        className=f"wall-tile wall-status-{k.status}",
        id=f"wall-tile-{k.metric}",
    )


def render_board(board: Board, lang: str, scale: float = 1.0) -> html.Div:
    if board.kind == "programmes":
        from dashboards._programmes import render_wall

        return render_wall(board, lang, scale)
    rt = runtime()
    cfg = rt.config
    today = local_today()
    start = today.replace(day=1)

    cur = rt.warehouse.cursor  # called in the thread the section runs in (its own cursor)
    tiles, history, ranked_frame, fresh, alerts = gather(
        lambda: kpis(cur(), cfg, today, board.tiles),
        lambda: query(cur(), cfg, board.tiles, "month", add_months(start, -11), today,
                      targets=False),
        lambda: rank_units(cur(), cfg, board.map_metric, start, today, {"unit_kind": "district"}),
        current_freshness,
        lambda: strip_items(lang),
    )  # fmt: skip
    periods = history["period"].to_list()
    sparks = {m: (periods, history[m].to_list()) for m in board.tiles}

    metric = cfg.metrics[board.map_metric]
    ranked = [
        {
            "code": r["unit_code"],
            "name": figs.short_name(cfg.unit(r["unit_code"], today).name(lang), lang),
            "value": r[board.map_metric],
            "target": r[f"{board.map_metric}_target"],
            "status": status_of(metric, r[board.map_metric], r[f"{board.map_metric}_target"]),
            "rank": r["rank"],
        }
        for r in ranked_frame.iter_rows(named=True)
    ]
    values = {r["code"]: r["value"] for r in ranked}
    targets = {r["code"]: r["target"] for r in ranked}
    # The lowest units: no-data ones first (they report nothing), then the worst values.
    worst = [r for r in ranked if r["value"] is None] + [
        r for r in ranked if r["value"] is not None
    ][::-1]
    lowest = sorted(worst[:RANKED], key=lambda r: r["rank"])
    worst_names = ", ".join(r["name"] for r in worst[:3])
    city_target = tiles[0].target if tiles and tiles[0].metric == board.map_metric else None

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
            html.Div(
                [_tile(k, sparks[k.metric], lang, scale) for k in tiles], className="wall-tiles"
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Span(f"{t('wall.map', lang)} · {metric.name(lang)}"),
                                    html.Span(
                                        f"{t('wall.worst', lang)}: {worst_names}",
                                        className="wall-worst",
                                        id="wall-worst",
                                    ),
                                ],
                                className="wall-panel-title",
                            ),
                            dcc.Graph(
                                figure=figs.tile_map(
                                    cfg, metric, values, targets, lang, True, scale, today
                                ),
                                config=figs.WALL_CONFIG,
                                className="wall-graph",
                                id="wall-map",
                            ),
                        ],
                        className="wall-panel wall-map-panel",
                    ),
                    html.Div(
                        [
                            html.Div(
                                f"{t('wall.ranking', lang)} · {len(lowest)} {t('wall.worst', lang).lower()}",
                                className="wall-panel-title",
                            ),
                            dcc.Graph(
                                figure=figs.ranking(
                                    [f"{r['rank']}. {r['name']}" for r in lowest],
                                    [r["value"] for r in lowest],
                                    [r["status"] for r in lowest],
                                    metric,
                                    lang,
                                    target=city_target,
                                    scale=scale,
                                    codes=[r["code"] for r in lowest],
                                ),
                                config=figs.WALL_CONFIG,
                                className="wall-graph",
                                id="wall-ranking",
                            ),
                        ],
                        className="wall-panel wall-ranking-panel",
                    ),
                ],
                className="wall-bottom",
            ),
            alert_strip(alerts, lang, "wall-alerts"),
        ],
        className="wall-board",
        id=f"wall-board-{board.key}",
        **{"data-version": str(rt.warehouse.data_version())},
    )


def _token(version: int | None = None, today: date | None = None) -> str:
    """What decides whether the wall must re-render: data version, late feeds, the date and the
    firing alerts (they change between loads: scheduled evaluations, acknowledgements).

    The page passes the version and the date it read before drawing its board, and builds the
    token after it from the same answers the board drew (kept for the request): a load or a
    midnight in between then moves the token once more, so the next poll redraws, never the
    other way round."""
    version = runtime().warehouse.data_version() if version is None else version
    today = local_today() if today is None else today
    fresh, strip = gather(current_freshness, lambda: strip_items("en"))
    late = sorted(s for s, f in fresh.items() if f.stale)
    alerts = "|".join(text for _, text, _ in strip)
    return f"{version}|{','.join(late)}|{today.isoformat()}|{hash(alerts)}"


def screen_scale(cookie: str | None) -> float:
    """The figure-font scale the screen's script computed (1920 px wide = 1, in quarter steps),
    so the first render already fits a 4K wall instead of re-rendering once it is known."""
    try:
        value = float(cookie) if cookie else 1.0
    except ValueError:
        return 1.0
    return min(4.0, max(0.75, round(value * 4) / 4)) if math.isfinite(value) else 1.0


def _board_index(boards: tuple[Board, ...], key: str | None) -> int:
    for i, b in enumerate(boards):
        if b.key == key:
            return i
    return 0


@scope.city_wide  # city aggregates only: a department head watches the same wall
def layout(lang: str = "vi", board: str | None = None, refresh: str | None = None,
           rotate: str = "1", kiosk: str = "0", **_query) -> html.Div:  # fmt: skip
    lang = lang_of(lang)
    wc = wall_config()
    try:
        refresh_s = max(MIN_REFRESH, int(refresh)) if refresh else wc.refresh_seconds
    except ValueError:
        refresh_s = wc.refresh_seconds
    pinned = board is not None and any(b.key == board for b in wc.boards)
    scale = screen_scale(flask.request.cookies.get(SCALE_COOKIE) if flask.has_request_context()
                         else None)  # fmt: skip
    index = _board_index(wc.boards, board)
    rotating = not pinned and rotate != "0" and len(wc.boards) > 1
    version, today = runtime().warehouse.data_version(), local_today()
    body = render_board(wc.boards[index], lang, scale)
    return html.Div(
        [
            dcc.Store(id="wall-params", data={"lang": lang, "pinned": pinned}),
            dcc.Store(id="wall-version", data=_token(version, today)),
            dcc.Store(id="wall-board", data=index),
            dcc.Store(id="wall-scale", data=scale),
            dcc.Interval(id="wall-poll", interval=refresh_s * 1000),
            dcc.Interval(
                id="wall-rotate", interval=wc.boards[index].seconds * 1000, disabled=not rotating
            ),
            html.Div(t("wall.offline", lang), id="wall-offline", className="wall-offline"),
            html.Div(body, id="wall-body"),
        ],
        className="wall" + (" wall-kiosk" if kiosk == "1" else ""),
        id="wall-root",
        **{"data-refresh": str(refresh_s)},
    )


@callback(
    Output("wall-version", "data"),
    Input("wall-poll", "n_intervals"),
    State("wall-version", "data"),
    prevent_initial_call=True,
)
@scope.city_wide
def poll(_n: int, seen: str | None) -> str:
    token = _token()
    if token == seen:
        raise PreventUpdate  # nothing new: leave the screen exactly as it is
    return token


@callback(
    Output("wall-board", "data"),
    Output("wall-rotate", "interval"),
    Input("wall-rotate", "n_intervals"),
    State("wall-board", "data"),
    prevent_initial_call=True,
)
def rotate(_n: int, index: int | None) -> tuple[int, int]:
    boards = wall_config().boards
    nxt = ((index or 0) + 1) % len(boards)
    return nxt, boards[nxt].seconds * 1000


@callback(
    Output("wall-body", "children"),
    Input("wall-version", "data"),
    Input("wall-board", "data"),
    Input("wall-scale", "data"),
    State("wall-params", "data"),
    prevent_initial_call=True,
)
@scope.city_wide
def refresh_board(_token_: str, index: int | None, scale: float | None, params: dict):
    boards = wall_config().boards
    board = boards[(index or 0) % len(boards)]
    return render_board(board, lang_of(params.get("lang")), float(scale or 1.0))


# Figure fonts are pixels: scale them with the screen (1920 px wide = 1). The page is normally
# rendered at the right scale already (SCALE_COOKIE); this catches a screen without cookies.
clientside_callback(
    """
    function(_id, rendered) {
        const s = Math.max(0.75, Math.round(window.innerWidth / 1920 * 4) / 4);
        return s === rendered ? dash_clientside.no_update : s;
    }
    """,
    Output("wall-scale", "data"),
    Input("wall-root", "id"),
    State("wall-scale", "data"),
)
