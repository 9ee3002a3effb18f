"""Who may read which units: the check every metrics read goes through.

The web layer (`access/web.py`) sets the scope once per request from the signed-in person: a
department head reads their unit's subtree only, on every page and callback; everyone else (and
background jobs, which never set it) reads the whole city. Only a board of city aggregates lifts
it, by its own decorator (`city_wide`). `metrics.query.query` and `metrics.dossiers.overdue` call
`check_unit` before any SQL runs, so a crafted request for a unit outside the scope gets a
`ScopeError` and none of that unit's numbers.

A unit is inside the scope when every validity period of it sits under the scope's unit: a ward
that moved from one district to another is inside neither district's head's scope as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import ParamSpec, TypeVar

from config import Config

P = ParamSpec("P")
R = TypeVar("R")
_scope: ContextVar[str | None] = ContextVar("ioc_unit_scope", default=None)
_config: Config | None = None  # the hierarchy for reads that do not pass a Config


def use_config(config: Config) -> None:
    """The unit hierarchy `check_code` uses (set once at start-up)."""
    global _config
    _config = config


class ScopeError(ValueError):
    """A read of a unit outside the reader's scope (shown as is; carries no data)."""


def current_unit() -> str | None:
    """The unit whose subtree this request may read, or None for the whole city."""
    return _scope.get()


def set_unit(unit: str | None) -> object:
    """Restrict this context to `unit`'s subtree (None: unrestricted); returns a reset token."""
    return _scope.set(unit)


def reset(token: object) -> None:
    _scope.reset(token)  # type: ignore[arg-type]


@contextmanager
def restricted(unit: str | None) -> Iterator[None]:
    token = _scope.set(unit)
    try:
        yield
    finally:
        _scope.reset(token)


def city_wide(read: Callable[P, R]) -> Callable[P, R]:
    """`read` sees the whole city whatever the scope: for boards of city aggregates that take
    no unit from the request (the wall), which a department head may watch. The scope is
    otherwise always on for them, so lifting it is this explicit, local choice of the page that
    reads, never a decision made from what a request claims to be."""

    @wraps(read)
    def lifted(*args: P.args, **kwargs: P.kwargs) -> R:
        with restricted(None):
            return read(*args, **kwargs)

    return lifted


_cache: dict[tuple[int, str, str], bool] = {}


def inside(config: Config, code: str, allowed: str) -> bool:
    """Whether `code` is `allowed` or below it, in every version of the hierarchy it has."""
    key = (id(config.units), code, allowed)
    if key not in _cache:
        rows = [u for u in config.units if u.code == code]
        _cache[key] = code == allowed or (
            bool(rows) and all(allowed in config.ancestors(code, u.valid_from) for u in rows)
        )
        if len(_cache) > 65536:
            _cache.clear()
    return _cache[key]


def allows(config: Config, unit: str | None) -> bool:
    """Whether the current scope may read `unit` (None = the city)."""
    allowed = _scope.get()
    if allowed is None:
        return True
    return inside(config, unit or config.root.code, allowed)


def check_unit(config: Config, unit: str | None) -> None:
    """Raise ScopeError unless the current scope may read `unit`'s subtree (None = the city)."""
    if not allows(config, unit):
        raise ScopeError(
            f"unit {unit or config.root.code!r} is outside your access (unit {_scope.get()!r})"
        )


def check_code(unit: str) -> None:
    """`check_unit` against the configuration given to `use_config` (fails closed without it)."""
    if _scope.get() is None:
        return
    if _config is None:
        raise ScopeError("no unit hierarchy to check the access against")
    check_unit(_config, unit)
