"""Build a page's independent sections at the same time.

A board section is mostly DuckDB running its statements, and the small scans of one section
keep one core busy at a time (a few row groups each): on a cold cache, two sections at once
use both. Sections run in the caller's context (the request, the viewer's unit scope), so
every scope check and every cached result is the same as when they run one after another.
Background work (the cache warm-up) runs its sections `in_line`, one after another in its own
thread, so it takes one core at most and leaves the pool to the people asking.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

_in_line = threading.local()


def _mark() -> None:
    _in_line.on = True


_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ioc-section", initializer=_mark)


@contextmanager
def in_line() -> Iterator[None]:
    """Within it, this thread's `gather` runs the sections itself, one after another."""
    before = getattr(_in_line, "on", False)
    _in_line.on = True
    try:
        yield
    finally:
        _in_line.on = before


def gather(*sections: Callable[[], Any]) -> list[Any]:
    """Each section's result, in order; the first runs in this thread. A section's exception is
    raised here, once every section has ended. Called from a section itself, the sections run
    in line: a pool thread waiting on the pool could otherwise wait for ever once every thread
    of it waits."""
    if getattr(_in_line, "on", False):
        return [s() for s in sections]
    futures = [_submit(s) for s in sections[1:]]
    try:
        first = sections[0]()
    finally:
        # Every section has ended before this returns or raises: one failing must not leave
        # the others reading the warehouse after their request (or while it closes).
        wait(futures)
    return [first, *(f.result() for f in futures)]


def _submit(section: Callable[[], Any]) -> Future:
    try:
        return _POOL.submit(contextvars.copy_context().run, section)
    except RuntimeError:  # the interpreter is exiting (the pool takes no new work): in line
        done: Future = Future()
        try:
            done.set_result(section())
        except Exception as e:  # noqa: BLE001 — raised by gather, as from the pool
            done.set_exception(e)
        return done
