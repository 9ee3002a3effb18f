"""Pieces every board shares: navbar with the language switch, kiosk mode, "as of" and stale
state, status badges, breadcrumbs, the alerts strip hook, and the URL helpers.

Ids are prefixed "app-" for app-wide pieces (the pages use their own prefixes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, clientside_callback, dcc, html

from base.tz import local_today, local_wall
from config import LANGS
from dashboards import _format as fmt
from dashboards._i18n import t
from metrics.freshness import SourceFreshness, as_of

# Navbar entries: path -> i18n key (pages not listed keep their registered name).
NAV_KEYS = {
    "/": "nav.home",
    "/wall": "nav.wall",
    "/units": "nav.units",
    "/explore": "nav.explore",
    "/sources": "nav.sources",
    "/alerts": "nav.alerts",
}


def label(dim: str, code, lang: str) -> str:
    """A unit, sector, procedure or channel code as its name in `lang`; the code itself when the
    configuration does not know it, "–" for none."""
    from dashboards._runtime import runtime  # the app's, once it has started

    cfg = runtime().config
    if code is None:
        return "–"
    if dim == "unit" and code in cfg.unit_codes():
        return cfg.unit_name(code, lang, local_today())
    if dim == "sector" and code in cfg.sectors:
        return cfg.sectors[code].name(lang)
    if dim == "procedure" and code in cfg.procedures:
        return cfg.procedures[code].name(lang)
    if dim == "channel":
        return t(f"channel.{code}", lang)
    return str(code)


def local(ts: datetime | None) -> datetime | None:
    """A stored (UTC or aware) time as Ho Chi Minh City wall-clock time."""
    return None if ts is None else local_wall(ts)


# ---------------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------------


def with_query(path: str, params: Mapping[str, object]) -> str:
    """`path?k=v&...` with empty values left out (lists as comma-joined values)."""
    clean: dict[str, str] = {}
    for k, v in params.items():
        if v is None or v == "" or v == [] or v == ():
            continue
        clean[k] = ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v)
    return f"{path}?{urlencode(clean)}" if clean else path


def parse_search(search: str | None) -> dict[str, str]:
    return dict(parse_qsl((search or "").lstrip("?")))


def split_list(value: object) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v)
    return tuple(v for v in str(value).split(",") if v)


# ---------------------------------------------------------------------------------------------
# Navbar, language switch, kiosk mode (used by app.py's layout)
# ---------------------------------------------------------------------------------------------


def navbar(may_open: Callable[[dict], bool] = lambda _page: True) -> dbc.Navbar:
    """The app's navbar: the pages of the registry the viewer `may_open`, names per language, and
    a vi/en switch."""
    links = []
    names: dict[str, dict[str, str]] = {}
    for page in dash.page_registry.values():
        if page.get("hidden") or not may_open(page):
            continue
        path = page["relative_path"]
        key = NAV_KEYS.get(path)
        names[path] = {lang: (t(key, lang) if key else page["name"]) for lang in LANGS}
        links.append(
            dbc.NavItem(
                dbc.NavLink(
                    names[path]["vi"],
                    href=path,
                    id={"type": "app-link", "path": path},
                    active="exact" if path == "/" else "partial",
                )
            )
        )
    switch = html.Div(
        [
            dbc.Button(
                "VI",
                id="app-lang-vi",
                size="sm",
                color="light",
                outline=True,
                className="me-1",
                title="Tiếng Việt",
            ),
            dbc.Button(
                "EN", id="app-lang-en", size="sm", color="light", outline=True, title="English"
            ),
            # Plain links (full page loads): the account page and sign-out are Flask routes.
            # Glyphs every Debian font has (an emoji needs an emoji font a city PC may lack).
            html.A(
                "⚙",
                href="/account",
                id="app-account",
                title="Tài khoản · Account",
                className="btn btn-sm btn-outline-light ms-2",
            ),
            html.A(
                "⎋",
                href="/logout",
                id="app-logout",
                title="Đăng xuất · Sign out",
                className="btn btn-sm btn-outline-light ms-1",
            ),
        ],
        className="ms-auto d-flex align-items-center",
        id="app-lang-switch",
    )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("IOC · TP.HCM", href="/", id="app-brand"),
                dbc.Nav(links, navbar=True),
                switch,
                dcc.Location(id="app-nav", refresh="callback-nav"),
                dcc.Store(id="app-lang", storage_type="local"),
                html.Script(id="app-nav-names", children=json.dumps(names), hidden=True),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        id="app-navbar",
        className="py-1",
    )


_NAMES_JS = "JSON.parse(document.getElementById('app-nav-names').textContent || '{}')"

# The switch rewrites the current URL's `lang` (the page re-renders from the URL) and remembers
# the choice; a visit without `lang` follows the remembered choice.
clientside_callback(
    """
    function(nVi, nEn, search, pathname, stored) {
        const ctx = dash_clientside.callback_context;
        // The address bar, not `search`: a page may have written its view there since it
        // opened (the explorer does), and the new language keeps that view.
        const params = new URLSearchParams(window.location.search || search || "");
        const trig = ctx.triggered.length ? ctx.triggered[0].prop_id : "";
        let lang = null;
        if (trig.startsWith("app-lang-vi")) { lang = "vi"; }
        else if (trig.startsWith("app-lang-en")) { lang = "en"; }
        else if (!params.get("lang") && stored && stored !== "vi") { lang = stored; }
        if (!lang || params.get("lang") === lang) {
            return [dash_clientside.no_update, lang || dash_clientside.no_update];
        }
        params.set("lang", lang);
        return [pathname + "?" + params.toString(), lang];
    }
    """,
    Output("app-nav", "href"),
    Output("app-lang", "data"),
    Input("app-lang-vi", "n_clicks"),
    Input("app-lang-en", "n_clicks"),
    Input("_pages_location", "search"),
    State("_pages_location", "pathname"),
    State("app-lang", "data"),
)

# Navbar links keep the language; the active button shows it; `?kiosk=1` hides the chrome.
clientside_callback(
    f"""
    function(search, ids) {{
        const params = new URLSearchParams(search || "");
        const lang = params.get("lang") === "en" ? "en" : "vi";
        const kiosk = params.get("kiosk") === "1";
        document.body.classList.toggle("kiosk", kiosk);
        document.documentElement.lang = lang;
        const names = {_NAMES_JS};
        const hrefs = ids.map(i => lang === "vi" ? i.path : i.path + "?lang=en");
        const texts = ids.map(i => (names[i.path] || {{}})[lang] || i.path);
        return [hrefs, texts, kiosk ? "app-root kiosk" : "app-root",
                lang === "vi" ? false : true, lang === "en" ? false : true];
    }}
    """,
    Output({"type": "app-link", "path": ALL}, "href"),
    Output({"type": "app-link", "path": ALL}, "children"),
    Output("app-root", "className"),
    Output("app-lang-vi", "outline"),
    Output("app-lang-en", "outline"),
    Input("_pages_location", "search"),
    State({"type": "app-link", "path": ALL}, "id"),
)


# ---------------------------------------------------------------------------------------------
# Status, as-of, breadcrumbs, alerts
# ---------------------------------------------------------------------------------------------


def status_badge(status: str, lang: str, className: str = "") -> html.Span:
    """Status by colour *and* icon and word (for colour-blind viewers and grey-scale screens)."""
    return html.Span(
        [
            html.Span(fmt.STATUS_ICON[status], className="status-icon"),
            fmt.STATUS_TEXT[status][lang],
        ],
        className=f"status-badge status-{status} {className}".strip(),
    )


def as_of_line(fresh: Mapping[str, SourceFreshness], lang: str, id_: str) -> html.Div:
    """ "Data as of <newest data time>", and a visible warning naming late feeds."""
    newest = local(as_of(dict(fresh)))
    late = sorted(f.source for f in fresh.values() if f.stale)
    parts: list = [
        html.Span(f"{t('as_of', lang)}: {fmt.moment(newest, lang)}", className="as-of-time")
    ]
    if late:
        parts.append(
            html.Span(
                f"⚠ {t('stale', lang)} · {t('stale.sources', lang)}: {', '.join(late)}",
                className="stale-flag",
            )
        )
    return html.Div(parts, id=id_, className="as-of" + (" is-stale" if late else " is-fresh"),
                    **{"data-stale": "1" if late else "0"})  # fmt: skip


def breadcrumbs(items: Iterable[tuple[str, str | None]], id_: str) -> dbc.Breadcrumb:
    """(label, href) pairs from the top; the last one is the current view (no link)."""
    items = list(items)
    return dbc.Breadcrumb(
        items=[
            {"label": label, "href": href, "external_link": False}
            if href and i < len(items) - 1
            else {"label": label, "active": True}
            for i, (label, href) in enumerate(items)
        ],
        id=id_,
        className="ioc-breadcrumbs",
    )


SEVERITY_ICON = {"critical": "✖", "warning": "▲", "info": "●", "ok": "✔"}


def alert_strip(items: Iterable[tuple[str, str, str | None]], lang: str, id_: str) -> html.Div:
    """The active-alerts strip: (severity, text, link) items, most severe first.

    The hook the alert engine feeds; until it lands the wall passes the threshold status of its
    tiles (metrics.targets.status). Severity: critical | warning | info.
    """
    order = {"critical": 0, "warning": 1, "info": 2}
    items = sorted(items, key=lambda it: order.get(it[0], 3))
    if not items:
        body: list = [html.Span(f"✔ {t('wall.no_alerts', lang)}", className="alert-item alert-ok")]
    else:
        body = [
            html.A(
                [html.Span(SEVERITY_ICON.get(sev, "●"), className="alert-icon"), text],
                href=link,
                className=f"alert-item alert-{sev}",
            )
            if link
            else html.Span(
                [SEVERITY_ICON.get(sev, "●"), " ", text], className=f"alert-item alert-{sev}"
            )
            for sev, text, link in items
        ]
    return html.Div(
        [
            html.Span(t("wall.alerts", lang), className="alert-label"),
            html.Div(body, className="alert-items"),
        ],
        id=id_,
        className="alert-strip",
    )


# ---------------------------------------------------------------------------------------------
# Feeds and freshness (read-only)
# ---------------------------------------------------------------------------------------------


def declared_feeds() -> dict:
    """The feeds the app started (config/feeds.toml, checked at start): {} before they are."""
    from dashboards._runtime import runtime

    service = runtime().feeds
    return dict(service.feeds) if service is not None else {}


def per_request(key: tuple, compute):
    """`compute()` once per HTTP request (a page render asks the same question several times:
    freshness for the "as of" line and the wall token, the alert strip); outside a request,
    every time."""
    from flask import g, has_request_context

    if not has_request_context():
        return compute()
    memo = g.setdefault("_ioc_per_request", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def current_freshness(
    now: datetime | None = None, include_never_run: bool = False
) -> dict[str, SourceFreshness]:
    """Freshness of every source that has loaded (and of enabled declared feeds that never ran,
    when asked: the sources page lists them, the boards' "as of" only counts what loaded)."""
    from dashboards._runtime import runtime
    from metrics.freshness import freshness

    def compute():
        feeds = declared_feeds()
        limits = {name: f.stale_after for name, f in feeds.items()}
        enabled = [name for name, f in feeds.items() if f.enabled] if include_never_run else []
        return freshness(runtime().warehouse.cursor(), limits, now, enabled)

    if now is not None:
        return compute()
    return dict(per_request(("freshness", include_never_run), compute))
