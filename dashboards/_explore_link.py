"""The explorer's view as URL state, so a view can be bookmarked, shared and reloaded:
`/explore?metrics=a,b&grain=&start=&end=&group=&unit=&sectors=&procedures=&channels=&chart=`
(and `compare=`, `lang=`, `view=`).

The page writes the URL as its controls change (a parameter at its default is left out, so a
link without dates keeps meaning "the last twelve months"), and reads it when it opens.
`view` (the view of time, issue 25: `today`, the default, or `as_was`) is the page's as `lang` is:
its control rewrites the URL and the page renders again from it (`view_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from base.calendar import QUERY_GRAINS as GRAINS
from base.calendar import add_months
from config import Config
from dashboards._components import split_list
from metrics.query import DIMENSIONS, VIEWS
from warehouse.shapes import CHANNELS

GROUPS = tuple(DIMENSIONS)
CHARTS = ("line", "bar")
COMPARES = ("prev", "yoy")  # the bucket (or whole range) before, the same a year before
DEFAULT_METRICS = ["online_rate"]


def defaults(today: date, unit: str | None) -> dict:
    """The controls of an explorer opened without a view: one metric by month, the last twelve
    months, the viewer's own unit (None: the city)."""
    return {
        "metrics": DEFAULT_METRICS,
        "grain": "month",
        "start": add_months(today.replace(day=1), -11).isoformat(),
        "end": today.isoformat(),
        "group": None,
        "unit": unit,
        "sectors": [],
        "procedures": [],
        "channels": [],
        "chart": "line",
        "compare": None,
    }


def view_of(query: Mapping[str, str]) -> str:
    """The view of time a URL asks for; an unknown one is today's (`controls_from_query` says
    it was left out)."""
    view = query.get("view") or "today"
    return view if view in VIEWS else "today"


def _day(text: str) -> str | None:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def controls_from_query(
    config: Config,
    query: Mapping[str, str],
    base: dict,
    allowed_unit: Callable[[str], bool],
) -> tuple[dict, list[str]]:
    """The controls a URL asks for, on top of `base` (`defaults`), and the `name=value` parts it
    had that do not exist here (a metric since renamed, a unit outside the viewer's scope):
    those keep their default, so the rest of a shared link still opens."""
    values = dict(base)
    ignored: list[str] = []

    def keep(name: str, wanted: list[str], known: Callable[[str], bool]) -> list[str]:
        good = [w for w in wanted if known(w)]
        ignored.extend(f"{name}={w}" for w in wanted if not known(w))
        return good

    if "metrics" in query:
        metrics = keep("metrics", list(split_list(query["metrics"])), config.metrics.__contains__)
        values["metrics"] = metrics or base["metrics"]
    for name, choices in (("grain", GRAINS), ("group", GROUPS), ("chart", CHARTS),
                          ("compare", COMPARES)):  # fmt: skip
        if query.get(name):
            chosen = keep(name, [query[name]], choices.__contains__)
            values[name] = chosen[0] if chosen else base[name]
    if query.get("unit"):
        units = keep("unit", [query["unit"]], allowed_unit)
        values["unit"] = units[0] if units else base["unit"]
    for name, known in (("sectors", config.sectors.__contains__),
                        ("procedures", config.procedures.__contains__),
                        ("channels", CHANNELS.__contains__)):  # fmt: skip
        if name in query:
            values[name] = keep(name, list(split_list(query[name])), known)
    for name in ("start", "end"):
        day = _day(query.get(name) or "")
        if query.get(name) and day is None:
            ignored.append(f"{name}={query[name]}")
        values[name] = day or base[name]
    if values["start"] > values["end"]:
        ignored.append(f"start={values['start']}")
        values["start"] = min(base["start"], values["end"])
    if query.get("view") and query["view"] not in VIEWS:  # read by `view_of`, not a control
        ignored.append(f"view={query['view']}")
    return values, ignored
