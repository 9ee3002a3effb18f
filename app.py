"""The operations center web app: `python app.py` or `gunicorn --workers 1 --threads 16 app:server`.

Start-up: validate the configuration (refuse to start on any error), open the DuckDB file and
migrate it, load the demo city into an empty warehouse when demo mode is on, then serve the pages.
One worker only: DuckDB allows a single read-write process on the file.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import dash
from dash import html
from flask import Flask, jsonify

from access.web import AccessError, may_open_page
from access.web import check_settings as check_access_settings
from access.web import current as current_principal
from access.web import install as install_access
from config import CONFIG_DIR, ConfigError, load_config
from config.settings import Settings
from connectors.demo_city import load_demo
from connectors.demo_sources import owned_units
from connectors.service import DEMO_PREFIX, FeedService, check_feeds, start_feeds
from dashboards._index import IocDash
from dashboards._runtime import Runtime, install, runtime
from dashboards._wall_config import WALL_FILE, load_wall
from dashboards._warm import Warmer
from metrics.alerts.rules import load_alerts
from metrics.alerts.service import configure, evaluate_after_load
from metrics.query import CACHE
from warehouse import Warehouse, open_warehouse
from warehouse.db import forget_answers

log = logging.getLogger("ioc")


def _layout() -> html.Div:
    """The page every screen starts from, built per page load: its navbar lists the pages the
    viewer's role may open (dash.page_registry, names per language, the vi/en switch; hidden in
    kiosk mode, ?kiosk=1: see dashboards/_components.py)."""
    from dashboards._components import navbar

    return html.Div([navbar(may_open_page), dash.page_container], id="app-root",
                    className="app-root")  # fmt: skip


ALERTS_EVERY_MINUTES = 15


def _load_demo_city(wh: Warehouse) -> None:
    log.info("empty warehouse: loading the demo city")
    # The demo department feeds (files, REST, SQL) deliver their own units' dossiers.
    own = frozenset().union(*owned_units(wh.config).values())
    result = load_demo(wh, exclude=own)
    log.info("demo city loaded: %s rows in %.1f s", result.rows_loaded, result.seconds)


def _start_feeds_and_alerts(
    server: Flask, wh: Warehouse, settings: Settings, fresh: bool, warmer: Warmer
) -> FeedService:
    """Feeds on their schedules, alerts evaluated after every run and every 15 minutes."""

    def after_load(_feed, _results) -> None:
        evaluate_after_load(wh)
        warmer()  # the boards' queries, cached before the first screen asks

    service = start_feeds(server, wh, settings, after_run=after_load)
    configure(
        wh,
        settings.config_dir,
        feed_stale_after={n: f.stale_after for n, f in service.feeds.items() if f.enabled},
    )
    if fresh and service.scheduler is None:
        # A new demo warehouse and no scheduler (which would run every feed at start): pull the
        # demo department feeds once so their units are not empty.
        for name, feed in service.feeds.items():
            if feed.enabled and name.startswith(DEMO_PREFIX):
                service.run_now(name)
    evaluate_after_load(wh)
    warmer()
    if service.scheduler is not None:
        service.scheduler.add_job(
            evaluate_after_load, "interval", minutes=ALERTS_EVERY_MINUTES, args=(wh,), id="alerts"
        )
    return service


def _closer(feeds: FeedService, warmer: Warmer, wh: Warehouse) -> Callable[[], None]:
    """What stopping does, once: no new warm-up or feed run, the ones running finish, then the
    warehouse closes and writes its checkpoint. Left open, the file kept its write-ahead log (up
    to 256 MB, replayed at the next start: ~0.5 s per 80 MB)."""
    done = threading.Event()

    def close() -> None:
        if done.is_set():
            return
        done.set()
        warmer.stop()  # first: a feed run finishing below would start another one
        feeds.stop(wait=True)
        wh.close()

    return close


def _terminate(close: Callable[[], None]) -> None:
    """SIGTERM (docker stop, systemd): close, then leave without Python's teardown. Tearing the
    interpreter down while a daemon thread (a request) is inside DuckDB can abort the process
    ("terminate called ... exception not rethrown"); with the file closed nothing is left to
    save. Python's default for SIGTERM would skip the close."""
    close()
    logging.shutdown()
    sys.stdout.flush()
    os._exit(0)


# Who may read /healthz's details (feed names, their data times, versions): the signed-in, an
# SSO proxy's user and the local CLI's token. Not a wall display: its token sits in the URL of a
# screen in a public place, and the wall never shows the feeds.
HEALTH_DETAIL_KINDS = frozenset({"user", "proxy", "cli"})


def _health_details_allowed() -> bool:
    p = current_principal()  # set by the access guard for every request, /healthz included
    return p is not None and p.kind in HEALTH_DETAIL_KINDS


def _private_data_dir(data_dir: Path) -> None:
    """Only the account running the app may read its data dir: the warehouse (every dossier),
    the accounts database (password hashes), the session secret and the CLI token.

    A umask of 077 for the whole process rather than a chmod after each file: DuckDB re-creates
    ioc.duckdb.wal after every checkpoint, SQLite its journal on every write, the demo loaders
    their files; each is then private from its first byte, with no file to chase and no moment
    readable by others. Nothing this process writes is meant for another account. The chmods
    repair a folder and files that an earlier version (or a CLI run) left readable to all.
    """
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    if data_dir.stat().st_mode & stat.S_IWOTH:  # /tmp and the like: not the app's own folder
        log.warning("data dir %s is writable by everyone: its modes are left alone", data_dir)
        return
    # Subfolders (demo/) are closed by the data dir itself; a link's target is not ours to change.
    files = [p for p in data_dir.iterdir() if p.is_file() and not p.is_symlink()]
    for path in [data_dir, *files]:
        try:
            path.chmod(stat.S_IMODE(path.stat().st_mode) & 0o700)  # 0755 → 0700, 0644 → 0600
        except OSError as e:  # another account's file, a read-only volume: say so, still start
            log.warning("cannot make %s private: %s", path, e)


def create_app(settings: Settings) -> dash.Dash:
    check_access_settings(settings)  # production without a secret: refuse before loading data
    _private_data_dir(settings.data_dir)  # before anything is written there
    config = load_config(settings.config_dir or CONFIG_DIR)
    load_alerts(config, settings.config_dir or CONFIG_DIR)  # refuse a bad alerts.toml up front
    # wall.toml too: read on the wall's first request, a mistake there left /healthz saying ok.
    load_wall(Path(settings.config_dir or CONFIG_DIR) / WALL_FILE, set(config.metrics))
    check_feeds(settings, set(config.measures))  # and feeds.toml, before the demo city loads
    wh = open_warehouse(settings.warehouse_path, config)
    fresh = settings.demo and wh.is_empty()
    if fresh:
        _load_demo_city(wh)
    install(Runtime(settings, config, wh))

    app = IocDash(
        __name__,
        use_pages=True,
        pages_folder=str(Path(__file__).resolve().parent / "dashboards"),
        external_stylesheets=[],  # Bootstrap ships in assets/vendor: nothing from the internet
        # plotly.js: assets/vendor/plotly-boards-<version>.min.js (npm plotly.js-cartesian-dist-min
        # of the version plotly.py ships, registering only scatter, bar and heatmap:
        # scripts/vendor_plotly.py) loads with the page and sets window.Plotly, so dcc.Graph never
        # fetches the full 4.8 MB bundle (~1 s of script on a wall before its first graph).
        title="IOC · TP.HCM",
        update_title=None,  # no "Updating..." flashing in the tab of a wall screen
        suppress_callback_exceptions=True,
    )
    app.layout = _layout
    # The public DTI page and its open data (no navbar, no sign-in): dashboards/_public.py.
    from dashboards._public import public_blueprint

    app.server.register_blueprint(public_blueprint())
    # Sign-in, roles, unit scope, CSRF, audit log, security headers: before any route serves.
    runtime().access = install_access(app, settings, config)
    if not CACHE.enabled:  # IOC_QUERY_CACHE=off, the bench's cold runs: every request is the
        app.server.before_request(forget_answers)  # first after a load
    warmer = Warmer(app.server, wh.data_version)
    runtime().feeds = _start_feeds_and_alerts(app.server, wh, settings, fresh, warmer)
    close = _closer(runtime().feeds, warmer, wh)
    atexit.register(close)  # Ctrl-C, gunicorn's worker exit
    app.server.extensions["ioc_close"] = close

    @app.server.get("/healthz")
    def healthz():
        # Anyone (a load balancer, docker's HEALTHCHECK) may learn that the app answers; what
        # it holds (feed names, data times, versions) is for the signed-in and the CLI only.
        if not _health_details_allowed():
            return jsonify(status="ok")
        newest = wh.newest_by_source()
        return jsonify(
            status="ok",
            data_version=wh.data_version(),
            schema_version=wh.db.schema_version(),
            newest_data={k: v.isoformat() for k, v in newest.items()},
            warm_up=warmer.state(),
        )

    return app


def parse_args(argv: list[str]) -> Settings:
    env = Settings.from_env()
    p = argparse.ArgumentParser(description="Ho Chi Minh City Intelligent Operations Center")
    p.add_argument("--host", default=env.host, help="IOC_HOST (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=env.port, help="IOC_PORT (default 8050)")
    p.add_argument("--data-dir", type=Path, default=env.data_dir, help="IOC_DATA_DIR (./data)")
    p.add_argument("--config-dir", type=Path, default=env.config_dir, help="IOC_CONFIG_DIR")
    p.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=env.demo,
        help="IOC_DEMO: load the demo city into an empty warehouse (default on)",
    )
    p.add_argument(
        "--scheduler",
        action=argparse.BooleanOptionalAction,
        default=env.scheduler,
        help="IOC_SCHEDULER: run the feeds on their schedules (default on)",
    )
    a = p.parse_args(argv)
    return replace(
        env,
        host=a.host,
        port=a.port,
        data_dir=a.data_dir,
        config_dir=a.config_dir,
        demo=a.demo,
        scheduler=a.scheduler,
    )


def _create_or_exit(settings: Settings) -> dash.Dash:
    try:
        return create_app(settings)
    except ConfigError as e:
        # Refuse to run half-configured: say which file, which row, what is wrong.
        print(f"configuration error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    except AccessError as e:
        print(f"access settings error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = parse_args(sys.argv[1:] if argv is None else argv)
    app = _create_or_exit(settings)
    close = app.server.extensions["ioc_close"]
    signal.signal(signal.SIGTERM, lambda *_: _terminate(close))
    app.run(host=settings.host, port=settings.port, debug=False)


_built: dash.Dash | None = None


def __getattr__(name: str):
    """`app:server` for gunicorn (and `app.app`): the app built from IOC_* variables on first
    use, so importing this module for `create_app` builds and starts nothing."""
    global _built
    if name not in ("app", "server"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _built is None:
        _built = _create_or_exit(Settings.from_env())
    return _built if name == "app" else _built.server


if __name__ == "__main__":
    main()
