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
                                 token only locks accounts)
  chunk_rows                     records per load batch
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import requests

from connectors.base import Connector, Pull, Seen, SourceError, Window, register
from connectors.mapping import parse_dossiers, parse_reports

log = logging.getLogger(__name__)


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


class HttpClient:
    """requests with timeouts, bounded retries with backoff, and secrets from the environment."""

    def __init__(self, options: dict[str, Any]):
        self.timeout = float(options.get("timeout_seconds", 10))
        self.retries = int(options.get("retries", 3))
        self.backoff = float(options.get("backoff_seconds", 0.5))
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if options.get("token_env"):
            self.session.headers["Authorization"] = f"Bearer {_secret(options['token_env'])}"
        if options.get("api_key_env"):
            header = options.get("api_key_header", "X-API-Key")
            self.session.headers[header] = _secret(options["api_key_env"])

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer; SourceError after the last retry or on a 4xx."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                resp = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as e:
                last = f"{type(e).__name__} from {url}"
                log.warning("%s (attempt %d)", last, attempt + 1)
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                last = f"HTTP {resp.status_code} from {url}"
                log.warning("%s (attempt %d)", last, attempt + 1)
                continue
            if resp.status_code >= 400:
                raise SourceError(f"HTTP {resp.status_code} from {url} (not retried)")
            try:
                return resp.json()
            except ValueError as e:
                raise SourceError(f"malformed JSON from {url}: {e}") from None
        raise SourceError(f"{last}; gave up after {self.retries + 1} attempts")

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
            t = t.replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
        if best is None or t > best[0]:
            best = (t, v)
    return best[1] if best else None
