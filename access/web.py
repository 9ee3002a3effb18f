"""Access control on the Flask server under Dash: every request passes `_guard` first.

    access = install(dash_app, settings, config)      # in app.create_app, after the pages exist

What it does, in order, for each request:
  1. who is asking (`_principal`): the local CLI's bearer token, a trusted proxy header (when
     configured), a wall token in the URL, or the signed session cookie;
  2. CSRF: any POST authenticated by a cookie must carry the session's token (Dash sends the
     `_csrf_token` cookie back as `X-CSRFToken`; forms post it as `csrf_token`), and a foreign
     `Origin` is refused;
  3. authorization: pages (Dash index pages and the callback requests tied to a page by their
     component ids, see access/policy.py), state-changing callbacks (ACTIONS) and the HTTP API;
  4. the unit scope for this request (metrics/scope.py): a department head's subtree, on every
     callback (a board of city aggregates, the wall, lifts it in its own code).
After the request: audit entries (sign-ins, actions, exports), security headers, CSRF cookie.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import dash
from dash import html
from dash._pages import _path_to_page
from flask import Flask, Response, g, has_app_context, redirect, request, session
from markupsafe import escape
from werkzeug.middleware.proxy_fix import ProxyFix

from access import callbacks, policy
from access.policy import Principal
from access.ratelimit import SignInLimits
from access.store import ROLES, AccountError, UserStore
from base.tz import LOCAL_TZ
from config import Config
from config.settings import Settings
from metrics import scope

log = logging.getLogger("ioc.access")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Served to anyone: static files and Dash's own plumbing (no data in any of them), and /public/:
# the DTI page and its open data (dashboards/_public.py, GET only, public by design).
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_dash-layout", "/_dash-dependencies",
                 "/_reload-hash", "/_favicon.ico", "/favicon.ico", "/healthz",
                 "/public/")  # fmt: skip
CALLBACK_PATH = "/_dash-update-component"
CSRF_COOKIE = "_csrf_token"  # the name dash-renderer reads (and sends back as X-CSRFToken)
CSRF_HEADER = "X-CSRFToken"
CLI_TOKEN_FILE = "cli.token"
SECRET_FILE = "secret.key"
USER_SESSION_HOURS = 12
CACHE_SECONDS = 5.0  # a disabled user or a revoked wall token stops working within this time
DEMO_PASSWORD = "ioc-demo-password"
DEMO_USERS = (("admin", "admin", None), ("leader", "leader", None), ("analyst", "analyst", None),
              ("head.q8", "department_head", "Q8"))  # fmt: skip


class AccessError(Exception):
    """The app cannot start with these access settings (e.g. production without a secret)."""


@dataclass
class AccessControl:
    settings: Settings
    config: Config
    store: UserStore
    cli_token: str
    limits: SignInLimits = field(default_factory=SignInLimits)
    _cache: dict[tuple[str, Any], tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _csp: str | None = None

    def cached(self, key: tuple[str, Any], load) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            self._cache[key] = (now + CACHE_SECONDS, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def audit(self, action: str, target: str | None = None, ok: bool = True, **detail) -> None:
        p: Principal | None = getattr(g, "principal", None)
        actor = p.name if p else (detail.pop("actor", None) or "-")
        try:
            self.store.audit(actor, action, target, ok, _client(), detail or None)
        except Exception:
            log.exception("audit write failed: %s %s", action, target)


def current() -> Principal | None:
    """Who is asking in this request (None: nobody signed in)."""
    return getattr(g, "principal", None)


def may_open_page(page: dict) -> bool:
    """Whether whoever makes this request may open the registered Dash `page` (the navbar lists
    only those). Outside a request nobody asks: no page."""
    if not has_app_context():
        return False
    roles = policy.page_roles(_page_name(page["module"]), page.get("access"))
    return policy.may_open(current(), roles)


# ---------------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------------


def check_settings(settings: Settings) -> None:
    """Refuse at once (before any data loads) what `install` would refuse."""
    if settings.production and not settings.secret_key:
        raise AccessError("IOC_ENV=production needs IOC_SECRET_KEY (32+ random characters)")
    if settings.secret_key and len(settings.secret_key) < 32:
        raise AccessError("IOC_SECRET_KEY must be at least 32 characters")
    if settings.env not in ("development", "production"):
        raise AccessError(f"IOC_ENV must be development or production, not {settings.env!r}")


def _secret(settings: Settings) -> str:
    if settings.secret_key:
        if len(settings.secret_key) < 32:
            raise AccessError("IOC_SECRET_KEY must be at least 32 characters")
        return settings.secret_key
    if settings.production:
        raise AccessError("IOC_ENV=production needs IOC_SECRET_KEY (32+ random characters)")
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48))
    log.warning("IOC_SECRET_KEY is not set: using a random key kept in %s (development only)", path)
    return path.read_text().strip()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")


def _cli_token(settings: Settings) -> str:
    """The bearer token the local CLI (`python -m connectors`) uses: a file only the account
    that can already open the warehouse can read."""
    path = settings.data_dir / CLI_TOKEN_FILE
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(32))
    return path.read_text().strip()


def seed_demo_users(store: UserStore) -> None:
    if store.count():
        return
    for name, role, unit in DEMO_USERS:
        store.create_user(name, DEMO_PASSWORD, role, unit)
    log.warning("demo mode: created accounts %s, password %r (demo only; never in production)",
                ", ".join(f"{n} ({r}{' ' + u if u else ''})" for n, r, u in DEMO_USERS),
                DEMO_PASSWORD)  # fmt: skip


def install(dash_app: dash.Dash, settings: Settings, config: Config) -> AccessControl:
    """Sessions, sign-in routes, the request guard and security headers on `dash_app.server`."""
    server: Flask = dash_app.server
    check_settings(settings)
    secret = _secret(settings)
    store = UserStore(settings.users_db_url, config.unit_codes())
    if settings.demo and not settings.production:
        seed_demo_users(store)
    ac = AccessControl(settings, config, store, _cli_token(settings))
    scope.use_config(config)
    server.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_NAME="ioc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=USER_SESSION_HOURS),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,  # no callback or form needs more
    )
    server.extensions["ioc_access"] = ac
    if settings.proxy_hops:  # client address (limits, audit), scheme and host as the proxy saw them
        hops = settings.proxy_hops
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    _routes(server, ac)
    _guard_layouts(ac)
    server.before_request(lambda: _guard(ac, dash_app))
    server.after_request(lambda resp: _after(ac, dash_app, resp))
    server.teardown_request(_teardown)
    server.register_error_handler(scope.ScopeError, _scope_refused)
    server.register_error_handler(Exception, _callback_failed)
    return ac


def _guard_layouts(ac: AccessControl) -> None:
    """Every page's layout asks, as it renders, whether its viewer may open it: the router's
    check in the guard is then not the only one."""
    for page in dash.page_registry.values():
        layout = page.get("layout")
        if not getattr(layout, "ioc_guarded", False):
            page["layout"] = _guarded_layout(ac, page, layout)


def _guarded_layout(ac: AccessControl, page: dict, layout: Any):
    def guarded(**kwargs):
        if not may_open_page(page):
            ac.audit("page_refused", page.get("path"), ok=False, where="layout")
            return html.Div("Trang này không mở cho vai trò của bạn · This page is not open to "
                            "your role", className="alert alert-warning", id="app-refused")  # fmt: skip
        return layout(**kwargs) if callable(layout) else layout

    guarded.ioc_guarded = True  # type: ignore[attr-defined]
    return guarded


# ---------------------------------------------------------------------------------------------
# Who is asking
# ---------------------------------------------------------------------------------------------


def _client() -> str | None:
    try:
        return request.remote_addr
    except RuntimeError:
        return None


def _principal(ac: AccessControl) -> Principal | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        if secrets.compare_digest(auth[7:].strip(), ac.cli_token):
            g.bearer = True
            return Principal("cli", policy.ADMIN, kind="cli")
        return None
    header = ac.settings.trusted_user_header
    if header and request.headers.get(header):
        name = request.headers[header].strip().lower()
        u = ac.cached(("name", name), lambda: ac.store.get(name))
        return Principal(u.username, u.role, u.unit_code, "proxy") if u and u.active else None
    token = request.args.get("token") if request.method == "GET" else None
    if token and session.get("k") != "user":
        return _wall_from_token(ac, token)
    kind = session.get("k")
    if kind == "user":
        if time.time() - float(session.get("i", 0)) > USER_SESSION_HOURS * 3600:
            return None
        sid = str(session.get("sid") or "")
        owner = ac.cached(("sid", sid), lambda: ac.store.session_user(sid)) if sid else None
        if owner is None or owner != session.get("u"):
            return None  # signed out, or ended by a new password, role or state
        u = ac.cached(("id", owner), lambda: ac.store.get_by_id(owner))
        return Principal(u.username, u.role, u.unit_code, "user") if u and u.active else None
    if kind == "wall":
        t = ac.cached(("tid", session.get("t")), lambda: ac.store.get_token(int(session["t"])))
        if t and t.revoked_at is None:
            return Principal(f"wall:{t.name}", policy.WALL, None, "wall")
    return None


def _wall_from_token(ac: AccessControl, token: str) -> Principal | None:
    t = ac.cached(("token", token), lambda: ac.store.find_token(token))
    if t is None:
        return None
    if session.get("k") != "wall" or session.get("t") != t.id:
        session.clear()
        session.update(k="wall", t=t.id, c=secrets.token_urlsafe(24))
        session.permanent = True
        ac.store.audit(f"wall:{t.name}", "wall.open", str(t.id), True, _client())
    return Principal(f"wall:{t.name}", policy.WALL, None, "wall")


# ---------------------------------------------------------------------------------------------
# Pages and callbacks
# ---------------------------------------------------------------------------------------------


def _page_name(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _page_for_path(path: str) -> tuple[str, tuple[str, ...] | str]:
    """(page name, roles) of the page Dash's router renders at a URL path (its own lookup, so
    the check and the page agree); an unknown path needs a signed-in role."""
    app = dash.get_app()
    page, _ = _path_to_page(app.strip_relative_path(path) or "")
    if not page:
        return "?", policy.DEFAULT_PAGE_ROLES
    name = _page_name(page["module"])
    return name, policy.page_roles(name, page.get("access"))


def _page_for_prefix(prefix: str) -> tuple[str, tuple[str, ...] | str]:
    for p in dash.page_registry.values():
        name = _page_name(p["module"])
        if name == prefix:
            return name, policy.page_roles(name, p.get("access"))
    return "?", policy.DEFAULT_PAGE_ROLES


def _walk(entries: Any):
    if isinstance(entries, dict) and "id" in entries:
        yield entries
    elif isinstance(entries, list | tuple):
        for e in entries:
            yield from _walk(e)


@dataclass
class CallbackRequest:
    pages: dict[str, tuple[str, ...] | str]
    actions: list[tuple[str, tuple[str, ...]]]
    download: bool
    body: dict


def _callback_request(body: dict, callback_map: dict[str, dict]) -> CallbackRequest:
    """The pages, actions and export of the callback `body` runs, from its declaration
    (AmbiguousRequest when the body does not match it)."""
    call = callbacks.check(body, callback_map)
    pages: dict[str, tuple[str, ...] | str] = {}
    download = False
    for out in call.outputs:
        if out.component.startswith("_pages"):  # the page router: the page is the requested path
            path = call.values.get(("_pages_location", "pathname"))
            if not (path is None or isinstance(path, str) and path.startswith("/")):
                raise callbacks.AmbiguousRequest("the page path is not a path")
            name, roles = _page_for_path(path or "/")
            pages[name] = roles
            continue
        prefix = out.component.split("-", 1)[0]
        if prefix in policy.COMMON_PREFIXES:
            continue
        name, roles = _page_for_prefix(prefix)
        pages[name] = roles
        download = download or out.component.endswith(policy.DOWNLOAD_SUFFIX)
    actions = [policy.ACTIONS[c] for c in dict.fromkeys(call.changed) if c in policy.ACTIONS]
    return CallbackRequest(pages, actions, download, body)


# ---------------------------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------------------------


def _deny(status: int, message: str, html: bool = False) -> Response:
    if html:
        return Response(_page("IOC", f'<div class="alert alert-warning">{escape(message)}</div>'
                              '<a href="/">Trang chủ · Home</a> · <a href="/logout">Đăng xuất · '
                              "Sign out</a>"), status, mimetype="text/html")  # fmt: skip
    return Response(json.dumps({"error": message}), status, mimetype="application/json")


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def _csrf_ok() -> bool:
    want = session.get("c")
    got = request.headers.get(CSRF_HEADER) or request.form.get("csrf_token")
    return bool(want) and bool(got) and secrets.compare_digest(str(want), str(got))


def _guard(ac: AccessControl, dash_app: dash.Dash) -> Response | None:
    g.principal = p = _principal(ac)
    g.scope_token = scope.set_unit(None)
    path = request.path
    if path.startswith(OPEN_PREFIXES):
        return None
    if "c" not in session and not getattr(g, "bearer", False):
        session["c"] = secrets.token_urlsafe(24)  # every visitor's CSRF token (forms, Dash)
    unsafe = request.method not in SAFE_METHODS and not getattr(g, "bearer", False)
    if unsafe and (not _same_origin() or not _csrf_ok()):
        ac.audit("csrf_refused", path, ok=False)
        return _deny(403, "missing or wrong CSRF token")
    if path.startswith(policy.PUBLIC_PREFIXES) and request.method in SAFE_METHODS:
        return None
    if path in ("/login", "/logout") or path.startswith("/account"):
        return None  # the routes check for themselves
    if path.startswith("/api/"):
        for method, prefix, action, roles in policy.API_RULES:
            if request.method == method and path.startswith(prefix):
                if p is None:
                    return _deny(401, "sign in first")
                if not p.may(roles):
                    ac.audit(action or "api", path, ok=False)
                    return _deny(403, "not allowed for your role")
                if action:
                    ac.audit(action, path)
                return None
        return _deny(403, "not allowed")
    if path == CALLBACK_PATH:
        return _guard_callback(ac, dash_app, p)
    if request.method not in SAFE_METHODS:
        return _deny(405, "method not allowed")
    _, roles = _page_for_path(path)  # a Dash page (the index HTML; data comes by callback)
    if policy.may_open(p, roles):
        if p is not None and p.kind == "wall" and "token" in request.args:
            # The session holds the wall now: the token leaves the address bar, the history and
            # the access log of every reload (it is logged once, for this request).
            return redirect(_without_token())
        return None
    if p is None:
        return redirect("/login?" + _q(next=request.full_path.rstrip("?")))
    ac.audit("page_refused", path, ok=False)
    return _deny(403, "this page is not open to your role", html=True)


def _without_token() -> str:
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
    return request.path + (f"?{urlencode(rest)}" if rest else "")


def _guard_callback(ac: AccessControl, dash_app: dash.Dash, p: Principal | None) -> Response | None:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _deny(400, "a callback request is a JSON object")
    try:
        cb = _callback_request(body, dash_app.callback_map)
    except callbacks.AmbiguousRequest as e:
        ac.audit("callback_refused", None, ok=False, reason=str(e), request=_summary(body))
        return _deny(400, f"malformed callback request: {e}")
    for name, roles in cb.pages.items():
        if not policy.may_open(p, roles):
            ac.audit("callback_refused", name, ok=False)
            return _deny(401 if p is None else 403, f"page {name!r} is not open to you")
    if not cb.pages and p is None:  # only shared pieces (the navbar): fine for anyone
        return None
    for action, roles in cb.actions:
        if p is None or not p.may(roles):
            ac.audit(action, None, ok=False, request=_summary(cb.body))
            return _deny(403, f"{action} is not allowed for your role")
    for action, _ in cb.actions:
        ac.audit(action, None, ok=True, request=_summary(cb.body))
    g.export = cb.download
    if p is not None and p.role == policy.HEAD:  # the wall lifts it itself (scope.city_wide)
        scope.reset(g.scope_token)
        g.scope_token = scope.set_unit(p.unit)
    return None


def _summary(body: dict) -> dict:
    """What a callback was asked to do, small enough for the audit log."""
    values = {}
    for e in _walk([body.get("inputs"), body.get("state")]):
        v = e.get("value")
        if (
            v is None
            or isinstance(v, bool | int | float | str)
            or (isinstance(v, list | dict) and len(json.dumps(v, default=str)) < 300)
        ):
            values[f"{callbacks.component_name(e['id'])}.{e.get('property')}"] = v
    return {"changed": body.get("changedPropIds"), "values": values}


def _teardown(_exc=None) -> None:
    token = g.pop("scope_token", None)
    if token is not None:
        try:
            scope.reset(token)
        except ValueError:  # set in another context: nothing to undo here
            pass


# What a callback raises when a crafted request hands it a value of the wrong shape (a dict for
# a code, text for a number): the request was bad, not the server.
MALFORMED = (TypeError, ValueError, KeyError, IndexError, AttributeError)


def _callback_failed(e: Exception):
    """400 for a callback that a malformed value broke, 500 for anything else (both logged)."""
    from werkzeug.exceptions import HTTPException

    if isinstance(e, HTTPException):
        return e
    if request.path == CALLBACK_PATH and isinstance(e, MALFORMED):
        log.warning("callback refused a malformed request: %s: %s", type(e).__name__, e,
                    exc_info=e)  # fmt: skip
        _ac().audit("callback_malformed", None, ok=False, reason=f"{type(e).__name__}: {e}"[:500])
        return _deny(400, "malformed callback request")
    log.error("request failed: %s %s", request.method, request.path, exc_info=e)
    return _deny(500, "internal error")


def _scope_refused(e: scope.ScopeError):
    _ac().audit("scope_refused", request.path, ok=False, reason=str(e))
    return _deny(403, str(e))


def _ac() -> AccessControl:
    from flask import current_app

    return current_app.extensions["ioc_access"]


# ---------------------------------------------------------------------------------------------
# After the request: audit of exports, headers, CSRF cookie
# ---------------------------------------------------------------------------------------------


def _csp(ac: AccessControl, dash_app: dash.Dash) -> str:
    if ac._csp is None:
        hashes = " ".join(dash_app.csp_hashes())  # already quoted: 'sha256-...'
        ac._csp = "; ".join([
            "default-src 'self'",
            f"script-src 'self' {hashes}",
            "style-src 'self' 'unsafe-inline'",  # Dash and plotly set style attributes
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ])  # fmt: skip
    return ac._csp


def _after(ac: AccessControl, dash_app: dash.Dash, resp: Response) -> Response:
    if getattr(g, "export", False) and resp.status_code == 200:
        ac.audit("export", None, ok=True, request=_summary(request.get_json(silent=True) or {}))
    h = resp.headers
    h.setdefault("Content-Security-Policy", _csp(ac, dash_app))
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    # Wall token URLs never leak to other sites; "no-referrer" would make Chrome send "Origin:
    # null" on same-site form posts, which the CSRF check refuses.
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if ac.settings.production:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not request.path.startswith(("/assets/", "/_dash-component-suites/")):
        h.setdefault("Cache-Control", "no-store")
    token = session.get("c")
    if token and request.cookies.get(CSRF_COOKIE) != token:
        resp.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="Lax",
                        secure=ac.settings.production, path="/")  # fmt: skip
    return resp


# ---------------------------------------------------------------------------------------------
# Sign-in, sign-out, account pages
# ---------------------------------------------------------------------------------------------


def _q(**kw: str) -> str:
    return urlencode(kw)


def _safe_next(value: str | None) -> str:
    """A path of this site to go to after signing in, else "/". Browsers drop tabs and line
    breaks from URLs and read a backslash as a slash: "/<tab>/evil" would leave the site."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2000:
        return "/"
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if value.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return value


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/assets/vendor/bootstrap.min.css">'
        '<link rel="stylesheet" href="/assets/app.css"></head>'
        f'<body class="bg-light"><main class="container py-4" style="max-width: 60rem">{body}'
        "</main></body></html>"
    )


def _csrf_field() -> str:
    return f'<input type="hidden" name="csrf_token" value="{escape(session.get("c", ""))}">'


def _login_form(message: str = "", next_: str = "/", username: str = "") -> str:
    alert = (
        f'<div class="alert alert-danger" id="login-error">{escape(message)}</div>'
        if message
        else ""
    )
    return _page("IOC · Đăng nhập", f"""
<h1 class="h3 mb-3">IOC · TP.HCM</h1>
<form method="post" action="/login" class="card card-body" style="max-width: 24rem" id="login-form">
  {alert}{_csrf_field()}
  <input type="hidden" name="next" value="{escape(next_)}">
  <label class="form-label" for="username">Tài khoản · Username</label>
  <input class="form-control mb-2" id="username" name="username" value="{escape(username)}"
         autocomplete="username" required autofocus>
  <label class="form-label" for="password">Mật khẩu · Password</label>
  <input class="form-control mb-3" id="password" name="password" type="password"
         autocomplete="current-password" required>
  <button class="btn btn-primary" type="submit" id="login-submit">Đăng nhập · Sign in</button>
</form>""")  # fmt: skip


def sign_in(ac: AccessControl, user) -> None:
    session.clear()  # a new session: nothing from before the sign-in survives (fixation)
    session.update(k="user", u=user.id, sid=ac.store.open_session(user.id), i=time.time(),
                   c=secrets.token_urlsafe(24))  # fmt: skip
    session.permanent = True


def _routes(server: Flask, ac: AccessControl) -> None:
    @server.get("/login")
    def login_page():
        return _login_form(next_=_safe_next(request.args.get("next")))

    @server.post("/login")
    def login():
        username = (request.form.get("username") or "").strip().lower()[:64]
        next_ = _safe_next(request.form.get("next"))
        client = _client()
        # Counted before the password is checked: concurrent tries cannot all pass the limit.
        wait = ac.limits.begin(username, client, lambda: ac.store.known_address(username, client))
        if wait:
            ac.audit("sign_in_blocked", username, ok=False, actor=username)
            msg = f"Quá nhiều lần đăng nhập sai · Too many failed sign-ins: try again in {int(wait // 60) + 1} min"
            resp = Response(_login_form(msg, next_, username), 429, mimetype="text/html")
            resp.headers["Retry-After"] = str(int(wait) + 1)
            return resp
        user = ac.store.authenticate(username, request.form.get("password") or "")
        if user is None:
            ac.audit("sign_in_failed", username, ok=False, actor=username)
            msg = "Sai tài khoản hoặc mật khẩu · Wrong username or password"
            return Response(_login_form(msg, next_, username), 401, mimetype="text/html")
        ac.limits.succeeded(username, client)
        ac.store.remember_address(user.username, client)
        sign_in(ac, user)
        g.principal = Principal(user.username, user.role, user.unit_code)
        ac.audit("sign_in", user.username)
        return redirect(next_)

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        if current() is not None and current().kind == "user":
            ac.audit("sign_out", current().name)
        if session.get("k") == "user" and session.get("sid"):
            ac.store.end_session(str(session["sid"]))  # the cookie, wherever copied, is dead
            ac.forget()
        session.clear()
        return redirect("/login")

    @server.get("/account")
    def account():
        p = current()
        if p is None or p.kind not in ("user", "proxy"):
            return redirect("/login?" + _q(next="/account"))
        return _account_page(ac, p)

    @server.post("/account/password")
    def own_password():
        p = current()
        if p is None or p.kind != "user":
            return _deny(401, "sign in first")
        if ac.store.authenticate(p.name, request.form.get("current") or "") is None:
            ac.audit("password_change", p.name, ok=False)
            return _account_page(ac, p, "Mật khẩu hiện tại sai · Wrong current password", 400)
        try:
            user = ac.store.set_password(p.name, request.form.get("new") or "")
        except AccountError as e:
            return _account_page(ac, p, str(e), 400)
        ac.audit("password_change", p.name)
        ac.forget()
        sign_in(ac, user)  # this session continues; the user's others end
        return _account_page(ac, p, "OK")

    @server.post("/account/users")
    def users_action():
        p = current()
        if p is None or p.role != policy.ADMIN or p.kind not in ("user", "proxy"):
            ac.audit("user_change", request.form.get("username"), ok=False)
            return _deny(403, "only an admin changes accounts", html=True)
        f = request.form
        action, name = f.get("action", ""), (f.get("username") or "").strip().lower()
        issued = None
        try:
            if action == "create":
                ac.store.create_user(name, f.get("password") or None, f.get("role", ""),
                                     f.get("unit") or None)  # fmt: skip
            elif action == "reset":
                ac.store.set_password(name, f.get("password") or "")
            elif action in ("disable", "enable"):
                if name == p.name and action == "disable":
                    raise AccountError("you cannot disable yourself")
                ac.store.set_active(name, action == "enable")
            elif action == "role":
                ac.store.set_role(name, f.get("role", ""), f.get("unit") or None)
            elif action == "issue_token":
                tok, plain = ac.store.issue_token(f.get("name", ""), p.name)
                name, issued = f"token {tok.id}", f"{request.host_url}wall?kiosk=1&token={plain}"
            elif action == "revoke_token":
                ac.store.revoke_token(int(f.get("token_id") or 0))
                name = f"token {f.get('token_id')}"
            else:
                raise AccountError(f"unknown action {action!r}")
        except (AccountError, ValueError) as e:
            ac.audit(f"user.{action}"[:64], name, ok=False, reason=str(e))
            return _account_page(ac, p, str(e), 400)
        ac.audit(f"user.{action}"[:64], name)
        ac.forget()
        return _account_page(ac, p, "OK", issued=issued)


def _local(ts: datetime) -> str:
    """An instant as the pages write it: local time, "18:34:05 01/12/2026"."""
    aware = ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(LOCAL_TZ)).strftime("%H:%M:%S %d/%m/%Y")


def _account_page(ac: AccessControl, p: Principal, message: str = "", status: int = 200,
                  issued: str | None = None) -> Response:  # fmt: skip
    e = escape
    parts = [(f'<h1 class="h3">{e(p.name)} <small class="text-muted">{e(p.role)}'
              f'{" · " + e(p.unit) if p.unit else ""}</small></h1>'),
             '<p><a href="/">Trang chủ · Home</a> · <a href="/logout">Đăng xuất · Sign out</a></p>']  # fmt: skip
    if message:
        color = "success" if message == "OK" else "danger"
        parts.append(f'<div class="alert alert-{color}" id="account-message">{e(message)}</div>')
    if issued:
        parts.append('<div class="alert alert-info">Địa chỉ màn hình (chỉ hiện một lần) · Wall URL (shown once): '
                     f'<code id="account-token-url">{e(issued)}</code></div>')  # fmt: skip
    csrf = _csrf_field()
    if p.kind == "user":
        parts.append(f"""<h2 class="h5 mt-4">Đổi mật khẩu · Change password</h2>
<form method="post" action="/account/password" class="row g-2">{csrf}
 <div class="col-md-4"><input class="form-control" type="password" name="current" placeholder="mật khẩu hiện tại · current" required></div>
 <div class="col-md-4"><input class="form-control" type="password" name="new" placeholder="mật khẩu mới · new (10+)" required></div>
 <div class="col-md-2"><button class="btn btn-secondary">OK</button></div></form>""")  # fmt: skip
    if p.role == policy.ADMIN:
        rows = "".join(
            f"<tr><td>{e(u.username)}</td><td>{e(u.role)}</td><td>{e(u.unit_code or '')}</td>"
            f"<td>{'✓' if u.active else '✗'}</td></tr>"
            for u in ac.store.list_users()
        )
        toks = "".join(
            f"<tr><td>{t.id}</td><td>{e(t.name)}</td><td>{e(t.created_by)}</td>"
            f"<td>{e('đã thu hồi · revoked ' + _local(t.revoked_at) if t.revoked_at else 'đang dùng · active')}</td></tr>"
            for t in ac.store.list_tokens()
        )
        roles = "".join(f"<option>{r}</option>" for r in ROLES)
        audit = "".join(
            f"<tr><td>{e(_local(a['at']))}</td><td>{e(a['actor'])}</td>"
            f"<td>{e(a['action'])}</td><td>{e(a['target'] or '')}</td><td>{'✓' if a['ok'] else '✗'}</td></tr>"
            for a in ac.store.audit_entries(50))  # fmt: skip
        parts.append(f"""
<h2 class="h5 mt-4">Người dùng · Users</h2>
<table class="table table-sm" id="account-users"><tr><th>Tài khoản · user</th><th>Vai trò · role</th><th>Đơn vị · unit</th><th>Hoạt động · active</th></tr>{rows}</table>
<form method="post" action="/account/users" class="row g-2">{csrf}
 <div class="col-md-2"><select class="form-select" name="action"><option value="create">Tạo · create</option>
   <option value="reset">Đặt lại mật khẩu · reset</option><option value="role">Đổi vai trò · role</option>
   <option value="disable">Khóa · disable</option><option value="enable">Mở khóa · enable</option></select></div>
 <div class="col-md-2"><input class="form-control" name="username" placeholder="tài khoản" title="tài khoản · username" required></div>
 <div class="col-md-2"><input class="form-control" type="password" name="password" placeholder="mật khẩu" title="mật khẩu · password"></div>
 <div class="col-md-2"><select class="form-select" name="role">{roles}</select></div>
 <div class="col-md-2"><input class="form-control" name="unit" placeholder="mã đơn vị" title="mã đơn vị (trưởng đơn vị) · unit code (department head)"></div>
 <div class="col-md-2"><button class="btn btn-primary">OK</button></div></form>
<h2 class="h5 mt-4">Màn hình tường · Wall tokens</h2>
<table class="table table-sm" id="account-tokens"><tr><th>Mã · id</th><th>Tên · name</th><th>Người cấp · by</th><th>Trạng thái · state</th></tr>{toks}</table>
<form method="post" action="/account/users" class="row g-2 mb-2">{csrf}<input type="hidden" name="action" value="issue_token">
 <div class="col-md-4"><input class="form-control" name="name" placeholder="tên màn hình · display name" required></div>
 <div class="col-md-2"><button class="btn btn-primary">Cấp · Issue</button></div></form>
<form method="post" action="/account/users" class="row g-2">{csrf}<input type="hidden" name="action" value="revoke_token">
 <div class="col-md-4"><input class="form-control" name="token_id" placeholder="mã · token id" required></div>
 <div class="col-md-2"><button class="btn btn-danger">Thu hồi · Revoke</button></div></form>
<h2 class="h5 mt-4">Nhật ký · Audit log (50)</h2>
<table class="table table-sm small" id="account-audit"><tr><th>Lúc · at</th><th>Người · actor</th>
<th>Hành động · action</th><th>Đối tượng · target</th><th>OK</th></tr>{audit}</table>""")  # fmt: skip
    return Response(_page("IOC · Account", "".join(parts)), status, mimetype="text/html")
