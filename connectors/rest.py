"""REST JSON APIs: paginated, authenticated from the environment, incremental by "updated since".

Options:
  base_url, path                 where the records are (GET)
  records_path                   dot path to the list in each page ("items", "data.rows"; "" = the page)
  paging                         "page" (page/size params), "cursor" (next-cursor token) or "none"
  page_param, size_param, page_size, first_page         page style
  cursor_param, next_cursor_path                         cursor style
  since_param, until_param, cursor_field                 incremental: the API is asked for records
                                 updated at or after the saved cursor; the new cursor is the
                                 largest `cursor_field` seen (inclusive, so ties are re-read and
                                 upserted rather than lost)
  token_env (Bearer) or api_key_env + api_key_header    secrets come from the environment only
  timeout_seconds, retries, backoff_seconds             5xx, 429 and timeouts are retried with
                                 exponential backoff; other 4xx fail at once (retrying a refused
                                 token only locks accounts). timeout_seconds (default 10) is the
                                 whole exchange's: connect, headers and every byte of the body,
                                 so a server trickling its answer fails "did not answer within N s"
  max_response_mb                the largest answer read (default 200); an endless or larger body
                                 fails the run at once (not retried)
  run_timeout_seconds            optional limit on the whole run (loads between pages included),
                                 off by default: backfills may rightly take long
  chunk_rows                     records per load batch
  sorted_by_cursor, max_pages, grain
Each option's type and default are declared in REST_OPTIONS (checked when feeds.toml loads).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo

import polars as pl
import requests
import urllib3
from requests.adapters import HTTPAdapter

from base.calendar import GRAINS
from base.tz import LOCAL_TZ
from connectors.base import Connector, OptionSpec, Pull, Seen, SourceError, Window, register
from connectors.mapping import parse_dossiers, parse_reports

log = logging.getLogger(__name__)

# What HttpClient reads: every kind built on it (rest, national_portal) declares these.
HTTP_OPTIONS: dict[str, OptionSpec] = {
    "timeout_seconds": OptionSpec("number", default=10, minimum=0.01),
    "retries": OptionSpec("whole", default=3, minimum=0),
    "backoff_seconds": OptionSpec("number", default=0.5, minimum=0),
    "max_response_mb": OptionSpec("number", default=200, minimum=0.001),
    "run_timeout_seconds": OptionSpec("number", minimum=0.01),  # None: no limit on the run
    "token_env": OptionSpec("text"),
    "api_key_env": OptionSpec("text"),
    "api_key_header": OptionSpec("text", default="X-API-Key"),
}
REST_OPTIONS: dict[str, OptionSpec] = {
    "base_url": OptionSpec("text", required=True),
    "path": OptionSpec("text", default=""),
    "records_path": OptionSpec("text", default="items"),
    "paging": OptionSpec("text", default="page", choices=("page", "cursor", "none")),
    "page_param": OptionSpec("text", default="page"),
    "size_param": OptionSpec("text", default="size"),
    "page_size": OptionSpec("whole", default=500, minimum=1),
    "first_page": OptionSpec("whole", default=1),
    "max_pages": OptionSpec("whole", default=100_000, minimum=1),
    "cursor_param": OptionSpec("text", default="cursor"),
    "next_cursor_path": OptionSpec("text", default="next_cursor"),
    "since_param": OptionSpec("text", default="updated_since"),
    "until_param": OptionSpec("text"),  # None: a backfill sends only its start
    "cursor_field": OptionSpec("text", default="updated_at"),
    "sorted_by_cursor": OptionSpec("bool", default=False),
    "chunk_rows": OptionSpec("whole", default=50_000, minimum=1),
    "grain": OptionSpec("text", default="month", choices=GRAINS),
    **HTTP_OPTIONS,
}


def dig(doc: Any, path: str) -> Any:
    """`doc` at a dot path ("" = the document itself); None when a step is missing."""
    for step in [s for s in path.split(".") if s]:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(step)
    return doc


def records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records → a frame of text columns (JSON types vary by source; the mapping reads them)."""
    columns: dict[str, None] = {}
    for r in records:
        columns.update(dict.fromkeys(r))

    def text(v: Any) -> str | None:
        if v is None:
            return None
        if isinstance(v, dict | list):
            return json.dumps(v, ensure_ascii=False)
        return str(v).lower() if isinstance(v, bool) else str(v)

    data = {c: [text(r.get(c)) for r in records] for c in columns}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


# ---- HTTP with a deadline -------------------------------------------------------------------
# requests' `timeout` bounds each socket read, not the exchange: a server sending a byte a
# second (status line, headers or body) never trips it and holds the run forever, and one
# sending an endless body fills the memory. Every exchange here therefore has a wall-clock
# deadline (connect, headers and the whole body) and a size cap on the body.

MB = 1024 * 1024
_CHUNK = 64 * 1024
_current = threading.local()  # the Deadline of the exchange this thread is in, if any


class Late(Exception):
    """The exchange passed its deadline (its sockets were shut down, or the body came late)."""


class Deadline:
    """A wall-clock limit on one HTTP exchange, enforced from outside the blocked read.

    When it passes, a timer thread shuts the exchange's sockets down: a read blocked in the
    requesting thread then returns at once, plain or TLS, and the exchange fails. Used as a
    context manager around the exchange; connections register their socket with it (below).
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.fired or self.left() <= 0

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if not self.fired:
                self._sockets.append(sock)
                return
        _shut(sock)  # registered after the deadline: the exchange is already over

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> Self:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown even on a TLS socket: SSLSocket.shutdown also drops its TLS
    # state, and the read blocked in the other thread would then fail with a ValueError that no
    # HTTP layer expects. Shutting the descriptor down makes that read see the end of the stream.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: nothing left to wake


class _Watched:
    """Mixed into urllib3's connections: the status line and headers are read from here on."""

    sock: socket.socket | None

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


_WATCHED: dict[type, type] = {
    urllib3.connection.HTTPConnection: _WatchedHTTPConnection,
    urllib3.connection.HTTPSConnection: _WatchedHTTPSConnection,
}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections (direct or through a proxy) report their socket to
    the thread's Deadline. The hook requests documents for subclasses: the pool to use."""

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        pool.ConnectionCls = _WATCHED.get(pool.ConnectionCls, pool.ConnectionCls)
        return pool


# What a broken exchange raises: requests' own errors, and the lower layers' when a socket shut
# down by the Deadline surprises them mid-read.
_BROKEN = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class HttpClient:
    """requests with a deadline per exchange (and optionally per run), a cap on the size of an
    answer, bounded retries with backoff, and secrets from the environment."""

    def __init__(self, options: dict[str, Any]):
        self.timeout = float(options.get("timeout_seconds", 10))
        self.retries = int(options.get("retries", 3))
        self.backoff = float(options.get("backoff_seconds", 0.5))
        self.max_bytes = int(float(options.get("max_response_mb", 200)) * MB)
        run_limit = options.get("run_timeout_seconds")
        self.run_limit = float(run_limit) if run_limit else None
        # From the client's creation, which is the start of the run: loads between pages count.
        self.run_ends = time.monotonic() + self.run_limit if self.run_limit else None
        self.session = requests.Session()
        for prefix in ("http://", "https://"):
            self.session.mount(prefix, _WatchedAdapter())
        self.session.headers["Accept"] = "application/json"
        if options.get("token_env"):
            self.session.headers["Authorization"] = f"Bearer {_secret(options['token_env'])}"
        if options.get("api_key_env"):
            header = options.get("api_key_header", "X-API-Key")
            self.session.headers[header] = _secret(options["api_key_env"])

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer; SourceError after the last retry, on a 4xx, on an
        answer over the size cap, or when the run passes its own limit."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(max(0.0, min(self.backoff * 2 ** (attempt - 1), self._run_left())))
            try:
                status, body = self._exchange(method, url, **kwargs)
            except Late:
                if self._run_left() <= 0:
                    raise SourceError(self._run_over()) from None
                last = f"{url} did not answer within {self.timeout:g} s"
                log.warning("%s (attempt %d)", last, attempt + 1)
                continue
            except (requests.ConnectionError, requests.Timeout) as e:
                last = f"{type(e).__name__} from {url}"
                log.warning("%s (attempt %d)", last, attempt + 1)
                continue
            if status >= 500 or status == 429:
                last = f"HTTP {status} from {url}"
                log.warning("%s (attempt %d)", last, attempt + 1)
                continue
            if status >= 400:
                raise SourceError(f"HTTP {status} from {url} (not retried)")
            try:
                return json.loads(body)
            except ValueError as e:
                raise SourceError(f"malformed JSON from {url}: {e}") from None
        raise SourceError(f"{last}; gave up after {self.retries + 1} attempts")

    def _exchange(self, method: str, url: str, **kwargs: Any) -> tuple[int, bytes | bytearray]:
        """(status, body) of one request, within the deadline; Late when it passes. The body of
        an error status is not read (only its status is used)."""
        seconds = min(self.timeout, self._run_left())
        if seconds <= 0:
            raise SourceError(self._run_over())
        with Deadline(seconds) as deadline:
            try:
                # The per-read timeout stays: it ends a silent connection even if a socket
                # escaped the deadline's watch.
                resp = self.session.request(method, url, timeout=seconds, stream=True, **kwargs)
                with resp:
                    if resp.status_code >= 400:
                        return resp.status_code, b""
                    return resp.status_code, self._body(resp, url, deadline)
            except _BROKEN as e:
                if deadline.passed() or isinstance(e, requests.Timeout):
                    raise Late from None
                if isinstance(e, requests.RequestException):
                    raise
                raise requests.ConnectionError(f"{type(e).__name__}: {e}") from e

    def _body(self, resp: requests.Response, url: str, deadline: Deadline) -> bytearray:
        """The whole body, read in chunks: Late past the deadline, SourceError over the cap (an
        endless body is refused before it fills the memory; not retried, it would come again)."""
        too_big = (
            f"the answer from {url} is larger than {self.max_bytes / MB:g} MB (max_response_mb)"
        )
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise SourceError(too_big)
        body = bytearray()
        for chunk in resp.iter_content(_CHUNK):  # decoded: a compressed bomb counts in full
            body += chunk
            if len(body) > self.max_bytes:
                raise SourceError(too_big)
            if deadline.passed():
                raise Late
        return body

    def _run_left(self) -> float:
        return float("inf") if self.run_ends is None else self.run_ends - time.monotonic()

    def _run_over(self) -> str:
        return f"the run took longer than its {self.run_limit:g} s (run_timeout_seconds)"

    def close(self) -> None:
        self.session.close()


def _secret(env: str) -> str:
    value = os.environ.get(env)
    if not value:
        raise SourceError(f"environment variable {env} is not set")
    return value


@register
class RestConnector(Connector):
    kind = "rest"
    options = REST_OPTIONS

    def __init__(self, feed, config):
        super().__init__(feed, config)
        self.client: HttpClient | None = None

    def pages(self, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        opts = self.feed.options
        url = opts["base_url"].rstrip("/") + "/" + opts.get("path", "").lstrip("/")
        paging = opts.get("paging", "page")
        size = int(opts.get("page_size", 500))
        page, token = int(opts.get("first_page", 1)), None
        for _ in range(int(opts.get("max_pages", 100_000))):
            query = dict(params)
            if paging == "page":
                query[opts.get("page_param", "page")] = page
                query[opts.get("size_param", "size")] = size
            elif paging == "cursor" and token is not None:
                query[opts.get("cursor_param", "cursor")] = token
            body = self.client.request("GET", url, params=query)
            records = dig(body, opts.get("records_path", "items"))
            if not isinstance(records, list):
                raise SourceError(f"no list at {opts.get('records_path', 'items')!r} in {url}")
            if records:
                yield records
            if paging == "page":
                if len(records) < size:
                    return
                page += 1
            elif paging == "cursor":
                token = dig(body, opts.get("next_cursor_path", "next_cursor"))
                if not token:
                    return
            else:
                return
        raise SourceError(f"{url}: more than max_pages pages")

    def pulls(
        self, state: dict[str, Any], window: Window | None = None, seen: Seen | None = None
    ) -> Iterator[Pull]:
        opts = self.feed.options
        self.client = HttpClient(opts)
        since_param, until_param = opts.get("since_param", "updated_since"), opts.get("until_param")
        field = opts.get("cursor_field", "updated_at")
        chunk_rows = int(opts.get("chunk_rows", 50_000))
        params: dict[str, Any] = {}
        cursor = state.get("cursor")
        if window is not None:
            tz = ZoneInfo(self.feed.parse.timezone)
            start = datetime(window.start.year, window.start.month, window.start.day, tzinfo=tz)
            params[since_param] = start.isoformat()
            if until_param:
                end = datetime(window.end.year, window.end.month, window.end.day, tzinfo=tz)
                params[until_param] = (end + timedelta(days=1)).isoformat()
        elif cursor:
            params[since_param] = cursor
        pending: list[dict[str, Any]] = []
        newest = cursor
        for records in self.pages(params):
            pending.extend(records)
            newest = _max_text([newest, *(str(r.get(field)) for r in records if r.get(field))])
            if len(pending) >= chunk_rows:
                # Mid-run chunks leave the cursor alone unless the API promises cursor order.
                keep = opts.get("sorted_by_cursor", False) and window is None
                yield self._pull(pending, {"cursor": newest} if keep else None)
                pending = []
        final = None if window is not None else {"cursor": newest}
        yield self._pull(pending, final)

    def _pull(self, records: list[dict[str, Any]], state: dict[str, Any] | None) -> Pull:
        frame = records_frame(records)
        if self.feed.shape == "dossier":
            good, rejects = parse_dossiers(frame, self.feed)
            return Pull(dossiers=good, rejects=rejects, rows_read=len(records), state=state)
        good, rejects = parse_reports(frame, self.feed, self.feed.options.get("grain", "month"))
        return Pull(reports=good, rejects=rejects, rows_read=len(records), state=state)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _max_text(values: list[str | None]) -> str | None:
    """The latest of ISO timestamps given as text (compared as instants when they parse)."""
    best: tuple[datetime, str] | None = None
    for v in values:
        if not v:
            continue
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=ZoneInfo(LOCAL_TZ))
        if best is None or t > best[0]:
            best = (t, v)
    return best[1] if best else None
