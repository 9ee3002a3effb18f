"""Requests as the Dash renderer sends them, for scripts and tests that talk to a served app."""

from __future__ import annotations

from datetime import date

from base.tz import local_today
from dashboards._view import opening_view


def router_request(path: str, search: str = "") -> dict:
    """The body of the POST /_dash-update-component that renders the page at `path`?`search`."""
    return {
        "output": ".._pages_content.children..._pages_store.data..",
        "outputs": [
            {"id": "_pages_content", "property": "children"},
            {"id": "_pages_store", "property": "data"},
        ],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": path},
            {"id": "_pages_location", "property": "search", "value": search},
        ],
        "changedPropIds": ["_pages_location.pathname"],
        "state": [],
    }


def overdue_request(view: dict, sort: list[dict] | None = None) -> dict:
    """The body that asks the drill-down's overdue-dossier grid for its first 20 rows."""
    return {
        "output": "..units-overdue.getRowsResponse...units-overdue-total.children..",
        "outputs": [
            {"id": "units-overdue", "property": "getRowsResponse"},
            {"id": "units-overdue-total", "property": "children"},
        ],
        "inputs": [
            {
                "id": "units-overdue",
                "property": "getRowsRequest",
                "value": {"startRow": 0, "endRow": 20, "sortModel": sort or []},
            }
        ],
        "changedPropIds": ["units-overdue.getRowsRequest"],
        "state": [
            {"id": "units-view", "property": "data", "value": view},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
    }


# Panels filled once their page is drawn (dashboards/_panel.py): the store each is asked with,
# and its outputs.
PANELS = {"programmes": ("units-view", ("units-programmes-slot",)),
          "escalation": ("units-view", ("units-sla-slot", "units-escalation-slot")),
          "alerts projections": ("alerts-lang", ("alerts-forecast-slot",))}  # fmt: skip
UNIT_PANELS = tuple(p for p, (store, _) in PANELS.items() if store == "units-view")


def panel_request(panel: str, value: dict | str) -> dict:
    """The body that asks for one of the `PANELS` with its store's `value` (a drill-down's view,
    the alerts page's language), as the browser sends it."""
    store, slots = PANELS[panel]
    outs = [{"id": slot, "property": "children"} for slot in slots]
    names = [f"{o['id']}.children" for o in outs]
    return {
        "output": names[0] if len(outs) == 1 else ".." + "...".join(names) + "..",
        "outputs": outs[0] if len(outs) == 1 else outs,
        "inputs": [{"id": store, "property": "data", "value": value}],
        "changedPropIds": [f"{store}.data"],
    }


def opening_view_data(unit: str, today: date | None = None) -> dict:
    """The view store of `/units/<unit>` as it opens (today, local): what its later callbacks send."""
    return opening_view(unit, today or local_today()).to_json()
