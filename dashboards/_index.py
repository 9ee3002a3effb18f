"""The HTML page every screen starts from, without the data-grid bundle where no grid can appear.

Dash lists every component library's script on every page. dash-ag-grid's is 1.3 MB of the
~4.5 MB of script a wall screen compiles before its first graph (~0.25 s of a cold start), and
the wall boards hold no grid. On those paths the script tag is left out; `assets/gridless.js`
then turns any in-app navigation away from them into a full page load, which brings the grid
bundle back for the pages that need it.
"""

from __future__ import annotations

import re

import dash
import flask

GRIDLESS_PATHS = ("/wall",)
_GRID_SCRIPT = re.compile(r'<script src="[^"]*/dash_ag_grid/[^"]*"></script>\s*')


def without_grid(scripts: str) -> str:
    """The page's script tags minus dash-ag-grid's (its async chunks load only with a grid)."""
    return _GRID_SCRIPT.sub("", scripts)


def gridless(path: str) -> bool:
    path = path.rstrip("/") or "/"
    return any(path == p or path.startswith(p + "/") for p in GRIDLESS_PATHS)


class IocDash(dash.Dash):
    def interpolate_index(self, **kwargs) -> str:
        if flask.has_request_context() and gridless(flask.request.path):
            kwargs["scripts"] = without_grid(kwargs.get("scripts", ""))
        return super().interpolate_index(**kwargs)
