"""The drill-down view as URL state:
`/units/<unit>?metric=&grain=&start=&end=&sector=&procedure=&lang=&view=`.

`view`: the view of time (issue 25, metrics/query.py VIEWS): "today" (today's units, the default,
left out of links) or "as_was" (the hierarchy in force on each fact's date).

(A module of its own: Dash imports page modules outside sys.modules, which dataclasses need.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from base.calendar import QUERY_GRAINS, add_months
from config import Config
from dashboards._components import with_query
from dashboards._i18n import lang_of
from metrics.query import VIEWS

DEFAULT_METRIC = "on_time_rate"
DEFAULT_GRAIN = "month"
DEFAULT_VIEW = "today"


def view_param(view: str) -> str | None:
    """The view of time as a link writes it: left out at its default."""
    return view if view != DEFAULT_VIEW else None


@dataclass(frozen=True)
class UnitView:
    unit: str
    metric: str
    grain: str
    start: date
    end: date
    sector: str | None = None
    procedure: str | None = None
    lang: str = "vi"
    view: str = DEFAULT_VIEW  # a key of metrics.query.VIEWS

    @property
    def sectors(self) -> list[str]:
        """The sector as the metrics layer's filters take it: none, or one."""
        return [self.sector] if self.sector else []

    @property
    def procedures(self) -> list[str]:
        return [self.procedure] if self.procedure else []

    def replace(self, **changes: Any) -> UnitView:
        return replace(self, **changes)

    def href(self) -> str:
        return with_query(
            f"/units/{self.unit}",
            {
                "metric": self.metric,
                "grain": self.grain,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "sector": self.sector,
                "procedure": self.procedure,
                "lang": self.lang if self.lang != "vi" else None,
                "view": view_param(self.view),
            },
        )

    def explorer_href(self, root: str) -> str:
        """The same figures in the explorer (`dashboards/_explore_link.py`), to compare, filter
        and export them."""
        return with_query(
            "/explore",
            {
                "metrics": self.metric,
                "grain": self.grain,
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "unit": self.unit if self.unit != root else None,
                "sectors": self.sector,
                "procedures": self.procedure,
                "lang": self.lang if self.lang != "vi" else None,
                "view": view_param(self.view),
            },
        )

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"], d["end"] = self.start.isoformat(), self.end.isoformat()
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> UnitView:
        return cls(
            **{**d, "start": date.fromisoformat(d["start"]), "end": date.fromisoformat(d["end"])}
        )


def default_start(end: date) -> date:
    """A view's first day when its URL names none: the twelve months to `end`."""
    return add_months(end.replace(day=1), -11)


def opening_view(unit: str, today: date) -> UnitView:
    """The view `/units/<unit>` opens with, its URL naming nothing else."""
    return UnitView(unit, DEFAULT_METRIC, DEFAULT_GRAIN, default_start(today), today)


def view_from_query(config: Config, unit: str, q: dict[str, Any], today: date) -> UnitView:
    """The view a URL asks for, checked against the configuration (KeyError/ValueError if not)."""
    if unit not in config.unit_codes():
        raise KeyError(unit)
    metric = q.get("metric") or DEFAULT_METRIC
    if metric not in config.metrics:
        raise ValueError(f"unknown metric {metric!r}")
    grain = q.get("grain") or DEFAULT_GRAIN
    if grain not in QUERY_GRAINS or grain == "total":
        raise ValueError(f"unknown grain {grain!r}")
    end = date.fromisoformat(q["end"]) if q.get("end") else today
    start = date.fromisoformat(q["start"]) if q.get("start") else default_start(end)
    if end < start:
        raise ValueError("the end date is before the start date")
    sector = q.get("sector") or None
    procedure = q.get("procedure") or None
    if sector is not None and sector not in config.sectors:
        raise ValueError(f"unknown sector {sector!r}")
    if procedure is not None and procedure not in config.procedures:
        raise ValueError(f"unknown procedure {procedure!r}")
    view = q.get("view") or DEFAULT_VIEW
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    lang = lang_of(q.get("lang"))
    return UnitView(unit, metric, grain, start, end, sector, procedure, lang, view)
