"""Page sections built at the same time still run as the request that asked for them."""

from __future__ import annotations

import threading

import flask
import pytest

from dashboards._parallel import gather, in_line
from metrics import scope


def test_sections_keep_the_viewers_unit_scope_and_the_request():
    app = flask.Flask(__name__)
    threads: set[int] = set()

    def section():
        threads.add(threading.get_ident())
        return scope.current_unit(), flask.request.path

    with app.test_request_context("/units/Q8"), scope.restricted("Q8"):
        results = gather(*[section] * 6)
    assert results == [("Q8", "/units/Q8")] * 6
    assert len(threads) > 1  # they did run elsewhere
    # The pool's threads are reused: nothing of this viewer's scope stays behind in them.
    assert gather(*[scope.current_unit] * 6) == [None] * 6


def test_a_failing_section_fails_the_page_and_results_keep_their_order():
    def boom():
        raise scope.ScopeError("outside")

    with pytest.raises(scope.ScopeError):
        gather(lambda: 1, boom, lambda: 3)
    assert gather(lambda: "a", lambda: "b", lambda: "c") == ["a", "b", "c"]


def test_a_failing_section_is_raised_only_once_every_other_section_has_ended():
    """Else a failed page leaves sections reading after its request, even as the app closes."""
    ended = threading.Event()

    def slow():
        ended.wait(0.3)
        ended.set()

    def boom():
        raise scope.ScopeError("outside")

    for sections in ((boom, slow), (lambda: None, boom, slow)):
        ended.clear()
        with pytest.raises(scope.ScopeError):
            gather(*sections)
        assert ended.is_set()


def test_sections_inside_sections_run_in_line_and_cannot_starve_the_pool():
    # More nested gathers than the pool has threads: were they submitted, every pool thread
    # would wait on work queued behind it.
    def outer(i: int):
        return lambda: sum(gather(*[lambda: i] * 3))

    done: list = []
    runner = threading.Thread(target=lambda: done.append(gather(*[outer(i) for i in range(12)])),
                              daemon=True)  # fmt: skip
    runner.start()
    runner.join(timeout=20)
    assert done == [[3 * i for i in range(12)]], "nested sections deadlocked the pool"


def test_background_work_in_line_leaves_the_pool_to_requests():
    threads: set[int] = set()

    def section():
        threads.add(threading.get_ident())

    with in_line():
        gather(*[section] * 6)
    assert threads == {threading.get_ident()}  # the warm-up's own thread only
    threads.clear()
    gather(*[section] * 6)
    assert len(threads) > 1  # outside it, the pool again


def test_at_exit_the_sections_run_in_line_once_the_pool_is_shut_down(monkeypatch):
    # Python shuts thread pools down before the exit hooks run: a warm-up still finishing
    # then must not fail on "cannot schedule new futures after shutdown".
    from concurrent.futures import ThreadPoolExecutor

    from dashboards import _parallel

    closed = ThreadPoolExecutor(max_workers=2)
    closed.shutdown()
    monkeypatch.setattr(_parallel, "_POOL", closed)
    here = threading.get_ident()
    assert gather(*[threading.get_ident] * 3) == [here] * 3
    with pytest.raises(ZeroDivisionError):
        gather(lambda: 1, lambda: 1 / 0)
