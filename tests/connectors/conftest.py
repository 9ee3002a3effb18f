"""Fixtures for the connector tests: the configuration, a fresh warehouse, real loopback servers.

Servers are real `http.server` instances on 127.0.0.1 (port 0): a `Script` says what each
request gets (pages, failures, delays), and records what was asked, so tests read like the
behaviour they protect.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from config import Config, load_config
from connectors.feeds import Feed, Parse, Schedule
from warehouse import Warehouse, open_warehouse

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def config() -> Config:
    return load_config()


@pytest.fixture
def wh(tmp_path: Path, config: Config) -> Iterator[Warehouse]:
    w = open_warehouse(tmp_path / "ioc.duckdb", config)
    yield w
    w.close()


def make_feed(name: str, kind: str, shape: str = "dossier", **kw: Any) -> Feed:
    return Feed(name=name, kind=kind, shape=shape, enabled=True,
                schedule=Schedule(every=timedelta(minutes=5)), stale_after=timedelta(hours=1),
                options=kw.pop("options", {}), columns=kw.pop("columns", {}),
                values=kw.pop("values", {}), measures=kw.pop("measures", {}),
                parse=kw.pop("parse", Parse()))  # fmt: skip


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Script:
    """What the server answers: `handler(request) -> (status, body or raw bytes, delay s)`."""

    handler: Callable[[Request], tuple[int, Any, float]]
    requests: list[Request] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        req = Request(self.command, url.path, {k: v[0] for k, v in parse_qs(url.query).items()},
                      json.loads(raw) if raw else None, dict(self.headers))  # fmt: skip
        self.server.script.requests.append(req)
        status, body, delay = self.server.script.handler(req)
        if delay:
            time.sleep(delay)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    do_GET = do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    script: Script


@pytest.fixture
def serve() -> Iterator[Callable[[Script], str]]:
    """serve(script) -> base URL of a real HTTP server on 127.0.0.1 answering by the script."""
    servers: list[_Server] = []

    def start(script: Script) -> str:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.script = script
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
