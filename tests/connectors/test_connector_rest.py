"""The REST connector against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""

from __future__ import annotations

import time

import pytest
from conftest import Script, make_feed

from connectors.base import SourceError
from connectors.rest import HttpClient
from connectors.runner import run_feed

ROW = {"dossier_id": "R1", "unit_code": "Q1", "procedure_code": "2.000815", "channel": "online",
       "received_at": "2026-09-01T08:00:00+07:00", "due_at": "2026-09-04T08:00:00+07:00",
       "updated_at": "2026-09-01T08:00:00+07:00"}  # fmt: skip


def feed(url: str, **options):
    return make_feed("api", "rest", options={"base_url": url, "path": "/d", "page_size": 2,
                                             "retries": 2, "backoff_seconds": 0.01,
                                             "timeout_seconds": 0.5, **options})  # fmt: skip


def pages(n_rows: int):
    rows = [ROW | {"dossier_id": f"R{i}"} for i in range(n_rows)]
    return lambda page, size: rows[(page - 1) * size : page * size]


def test_a_flaky_page_is_retried_and_nothing_is_lost(serve, wh):
    rows, calls = pages(5), {"n": 0}

    def handler(req):
        calls["n"] += 1
        page = int(req.query["page"])
        if page == 2 and calls["n"] < 4:  # page 2 fails twice, then answers
            return 503, {"error": "busy"}, 0
        return 200, {"items": rows(page, 2)}, 0

    results = run_feed(wh, feed(serve(Script(handler))))
    assert [r.status for r in results] == ["ok"]
    assert wh.cursor().execute("SELECT count(*) FROM dossier").fetchone()[0] == 5


def test_500s_then_success(serve):
    answers = iter([(500, {}, 0), (502, {}, 0), (200, {"ok": 1}, 0)])
    client = HttpClient({"retries": 3, "backoff_seconds": 0.01})
    url = serve(Script(lambda req: next(answers)))
    assert client.request("GET", url + "/x") == {"ok": 1}


def test_500s_forever_fail_the_run_and_keep_the_data(serve, wh):
    ok = {"on": True}
    script = Script(lambda req: (200, {"items": pages(3)(int(req.query["page"]), 2)}, 0)
                    if ok["on"] else (500, {"error": "down"}, 0))  # fmt: skip
    f = feed(serve(script))
    assert run_feed(wh, f)[-1].status == "ok"
    ok["on"] = False
    results = run_feed(wh, f)
    assert results[-1].status == "failed" and "HTTP 500" in results[-1].error
    assert "gave up after 3 attempts" in results[-1].error
    assert wh.cursor().execute("SELECT count(*) FROM dossier").fetchone()[0] == 3
    assert len(script.requests) == 2 + 3  # two pages, then 1 + 2 retries


def test_a_slow_answer_times_out_and_is_retried(serve):
    script = Script(lambda req: (200, {"items": []}, 1.0))
    client = HttpClient({"retries": 1, "backoff_seconds": 0.01, "timeout_seconds": 0.2})
    url = serve(script)
    started = time.perf_counter()
    with pytest.raises(SourceError, match="did not answer within 0.2 s; gave up after 2"):
        client.request("GET", url + "/slow")
    assert time.perf_counter() - started < 1.0
    assert len(script.requests) == 2


def test_malformed_json_fails_the_run_with_the_reason(serve, wh):
    url = serve(Script(lambda req: (200, b'{"items": [{"dossier_id": ', 0)))
    result = run_feed(wh, feed(url))[-1]
    assert result.status == "failed" and "malformed JSON" in result.error


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures_are_not_retried(serve, wh, monkeypatch, status):
    monkeypatch.setenv("API_TOKEN", "wrong-token")
    script = Script(lambda req: (status, {"error": "denied"}, 0))
    result = run_feed(wh, feed(serve(script), token_env="API_TOKEN"))[-1]
    assert result.status == "failed" and f"HTTP {status}" in result.error
    assert len(script.requests) == 1
    assert "wrong-token" not in result.error  # secrets never reach logs or the batch table
    assert script.requests[0].headers["Authorization"] == "Bearer wrong-token"


def test_a_missing_token_variable_fails_clearly(serve, wh, monkeypatch):
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    script = Script(lambda req: (200, {"items": []}, 0))
    result = run_feed(wh, feed(serve(script), token_env="NOT_SET_TOKEN"))[-1]
    assert result.status == "failed" and "NOT_SET_TOKEN is not set" in result.error
    assert script.requests == []


def test_cursor_paging_follows_next_tokens(serve, wh):
    def handler(req):
        token = req.query.get("cursor")
        if token is None:
            return 200, {"items": [ROW | {"dossier_id": "A"}], "next": "t2"}, 0
        return 200, {"items": [ROW | {"dossier_id": "B"}], "next": None}, 0

    f = feed(serve(Script(handler)), paging="cursor", next_cursor_path="next")
    assert run_feed(wh, f)[-1].status == "ok"
    ids = wh.cursor().execute("SELECT dossier_id FROM dossier ORDER BY 1").fetchall()
    assert ids == [("A",), ("B",)]
