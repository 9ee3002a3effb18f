"""Slow and endless HTTP sources (issue #24, class 6): every exchange has a wall-clock deadline.

requests' timeout bounds each socket read, so a server sending one byte a second never trips
it. These servers are real `http.server` instances on 127.0.0.1 that write their answer by
hand: a byte per second (headers or body), or an endless body as fast as they can. Each one
stops by itself: a bounded number of ticks, an event set when the test ends, or the client
hanging up. Limits are generous (a busy 2-core machine): a 2 s deadline must end a run in 15 s.
"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import FIXTURES, make_feed

from connectors.base import SourceError
from connectors.rest import HttpClient
from connectors.runner import run_feed

TICK = 1.0  # seconds between two trickled bytes
MAX_TICKS = 60  # a trickle ends by itself after a minute, whatever happens to the client
ENDLESS_CAP = 64 * 1024 * 1024  # an "endless" body stops there (the client's cap is 1 MB)
DEADLINE = 2  # the feeds' timeout_seconds
WITHIN = 15.0  # seconds a run with that deadline may take here, retries included

ROW = {"dossier_id": "R1", "unit_code": "Q1", "procedure_code": "2.000815", "channel": "online",
       "received_at": "2026-09-01T08:00:00+07:00", "due_at": "2026-09-04T08:00:00+07:00",
       "updated_at": "2026-09-01T08:00:00+07:00"}  # fmt: skip

# What a request gets: handler(server, query) writes the whole answer on the socket itself.
Answer = Callable[["_Handler", dict[str, str]], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    answer: Answer
    stop: threading.Event
    requests: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests.append(self.path)
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        try:
            self.server.answer(self, query)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up and left: what the tests want
        self.close_connection = True

    do_GET = do_POST = _serve

    def trickle(self, data: bytes) -> None:
        """`data`, one byte per tick, for at most MAX_TICKS ticks or until the test ends."""
        for i in range(min(len(data), MAX_TICKS)):
            self.wfile.write(data[i : i + 1])
            if self.server.stop.wait(TICK):
                return

    def head(self, length: int | None, status: int = 200) -> bytes:
        lines = [f"HTTP/1.1 {status} OK", "Content-Type: application/json", "Connection: close"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def whole(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.wfile.write(self.head(len(data)) + data)


@pytest.fixture
def slow() -> Iterator[Callable[..., tuple[str, _Server]]]:
    """slow(answer, tls=None) -> (base URL, server); every server stops when the test ends."""
    servers: list[_Server] = []

    def start(answer: Answer, tls: ssl.SSLContext | None = None) -> tuple[str, _Server]:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.answer, server.stop, server.requests = answer, threading.Event(), []
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        scheme = "https" if tls is not None else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}", server

    yield start
    for s in servers:
        s.stop.set()
        s.shutdown()
        s.server_close()


def body_trickled(h: _Handler, query: dict[str, str]) -> None:
    """Headers at once (a large Content-Length), then the body a byte per tick."""
    data = json.dumps({"items": [ROW] * 1000}).encode()
    h.wfile.write(h.head(len(data)))
    h.trickle(data)


def headers_trickled(h: _Handler, query: dict[str, str]) -> None:
    """The status line and then header after header, a byte per tick: no header end, ever."""
    h.trickle(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: still-coming\r\n" * 100)


def endless_body(h: _Handler, query: dict[str, str]) -> None:
    """No length, as fast as the socket takes it (a closed connection would end it)."""
    h.wfile.write(h.head(None))
    chunk = b"[" * 65536
    for _ in range(ENDLESS_CAP // len(chunk)):
        if h.server.stop.is_set():
            return
        h.wfile.write(chunk)


def oversize_declared(h: _Handler, query: dict[str, str]) -> None:
    """A Content-Length of 10 GB: refused on the header alone."""
    h.wfile.write(h.head(10 * 1024**3))
    h.server.stop.wait(MAX_TICKS * TICK)


def rest_feed(url: str, **options: Any):
    return make_feed("api", "rest", options={"base_url": url, "path": "/d", "page_size": 2,
                                             "retries": 1, "backoff_seconds": 0.01,
                                             "timeout_seconds": DEADLINE, **options})  # fmt: skip


def timed_run(wh, feed) -> tuple[list, float]:
    started = time.monotonic()
    results = run_feed(wh, feed)
    return results, time.monotonic() - started


def assert_deadline_failure(results: list, seconds: float) -> None:
    assert results[-1].status == "failed"
    assert f"did not answer within {DEADLINE} s" in results[-1].error, results[-1].error
    assert "gave up after 2 attempts" in results[-1].error
    assert DEADLINE <= seconds < WITHIN


@pytest.mark.parametrize("answer", [body_trickled, headers_trickled], ids=["body", "headers"])
def test_a_trickling_server_fails_the_run_at_the_deadline(slow, wh, answer):
    url, server = slow(answer)
    results, seconds = timed_run(wh, rest_feed(url))
    assert_deadline_failure(results, seconds)
    assert len(server.requests) == 2  # a late answer is retried like a timeout, then given up
    assert wh.cursor().execute("SELECT count(*) FROM dossier").fetchone()[0] == 0


@pytest.mark.parametrize("answer", [endless_body, oversize_declared], ids=["endless", "declared"])
def test_a_body_over_the_size_cap_fails_at_once_and_is_not_retried(slow, wh, answer):
    url, server = slow(answer)
    results, seconds = timed_run(wh, rest_feed(url, max_response_mb=1))
    assert results[-1].status == "failed"
    assert "is larger than 1 MB (max_response_mb)" in results[-1].error, results[-1].error
    assert len(server.requests) == 1  # the same endless body would come again
    assert seconds < WITHIN


def test_a_slow_second_page_keeps_the_first_and_records_the_deadline(slow, wh):
    def paged(h: _Handler, query: dict[str, str]) -> None:
        if query["page"] == "1":
            h.whole({"items": [ROW | {"dossier_id": "P1"}, ROW | {"dossier_id": "P2"}]})
        else:
            body_trickled(h, query)

    url, server = slow(paged)
    results, seconds = timed_run(wh, rest_feed(url, chunk_rows=2))
    assert [r.status for r in results] == ["ok", "failed"]
    assert_deadline_failure(results, seconds)
    assert [p.split("page=")[1][0] for p in server.requests] == ["1", "2", "2"]
    ids = wh.cursor().execute("SELECT dossier_id FROM dossier ORDER BY 1").fetchall()
    assert ids == [("P1",), ("P2",)]  # the batch loaded before the slow page stays


def test_a_run_longer_than_run_timeout_seconds_stops(slow, wh):
    # Each page answers in time, but the pages never end: the run's own limit ends it.
    def endless_pages(h: _Handler, query: dict[str, str]) -> None:
        h.server.stop.wait(0.3)
        h.whole({"items": [ROW | {"dossier_id": f"C{query.get('cursor', '0')}"}],
                 "next": str(int(query.get("cursor", "0")) + 1)})  # fmt: skip

    url, _ = slow(endless_pages)
    feed = rest_feed(url, paging="cursor", next_cursor_path="next", run_timeout_seconds=DEADLINE)
    results, seconds = timed_run(wh, feed)
    assert results[-1].status == "failed"
    assert f"the run took longer than its {DEADLINE} s (run_timeout_seconds)" in results[-1].error
    assert seconds < WITHIN


def test_the_national_portal_fails_at_the_deadline_too(slow, wh):
    url, server = slow(body_trickled)
    feed = make_feed("portal", "national_portal", "report", options={
        "base_url": url, "root_department_id": "root", "endpoints": ["dvc-progress-tree"],
        "units_file": str(FIXTURES / "national-portal" / "portal_units.csv"),
        "timeout_seconds": DEADLINE, "retries": 1, "backoff_seconds": 0.01})  # fmt: skip
    results, seconds = timed_run(wh, feed)
    assert_deadline_failure(results, seconds)
    assert len(server.requests) == 2


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a throwaway certificate for 127.0.0.1, trusted by requests."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_a_trickle_over_tls_ends_at_the_deadline(slow, tls):
    # The deadline shuts a TLS socket down under a blocked read as it does a plain one.
    url, server = slow(body_trickled, tls)
    client = HttpClient({"timeout_seconds": DEADLINE, "retries": 0})
    started = time.monotonic()
    with pytest.raises(SourceError, match=f"did not answer within {DEADLINE} s"):
        client.request("GET", url + "/d")
    assert DEADLINE <= time.monotonic() - started < WITHIN
    assert len(server.requests) == 1
    client.close()


def test_an_answer_in_time_still_reads_whole(slow):
    # The deadline does not cut a good answer short, nor the next ones on the same client.
    url, _ = slow(lambda h, q: h.whole({"items": [ROW] * 5000}))
    client = HttpClient({"timeout_seconds": DEADLINE, "retries": 0})
    for _ in range(3):
        assert len(client.request("GET", url + "/d")["items"]) == 5000
    client.close()
