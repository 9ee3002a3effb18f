"""A page section filled by its own callback once the page is drawn, as a Grafana dashboard
fills its panels: the figures above the fold come first, and a section that cannot be read says
so while the rest of the page stands."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import dash_bootstrap_components as dbc
from dash import html

from dashboards._i18n import t

log = logging.getLogger(__name__)
T = TypeVar("T")


def loading(lang: str, id_: str, min_height: str | None = None) -> html.Div:
    """What a section's place shows until its callback answers. `min_height`: about the filled
    section's, so what is below it does not jump down when it fills."""
    return html.Div(
        [dbc.Spinner(size="sm", spinner_class_name="me-2"), t("panel.loading", lang)],
        className="text-muted panel-loading", id=id_,
        style={"minHeight": min_height} if min_height else None,
    )  # fmt: skip


def failed(lang: str, id_: str) -> dbc.Alert:
    """A section's place when reading it failed: said, not a spinner for ever."""
    return dbc.Alert(t("panel.failed", lang), color="danger", className="mb-0", id=id_)


def filled(what: str, build: Callable[[], T], fallback: Callable[[], T]) -> T:
    """`build()`, or `fallback()` with the error logged: one section failing leaves the rest of
    the page standing."""
    try:
        return build()
    except Exception:
        log.exception("%s failed", what)
        return fallback()
