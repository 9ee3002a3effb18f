"""Who may open which page, fire which action and call which API: the one table.

Pages are named by their module (`dashboards/<name>.py`); a Dash component id starts with its
page's name (`"explore-grid"`), which is how a callback request is tied to a page. A page can
declare its own rule in `dash.register_page(..., access="public")` (anyone, no sign-in) or
`access=("leader", "admin")`; otherwise the table below applies, and a page not in it is open
to every signed-in role (never to wall displays or anonymous visitors).
"""

from __future__ import annotations

from dataclasses import dataclass

from access.store import ROLES

WALL = "wall"  # a wall-display token: the wall boards, read-only
PUBLIC = "public"

LEADER, HEAD, ANALYST, ADMIN = ROLES
READERS = (LEADER, ANALYST, ADMIN)

PAGE_ROLES: dict[str, tuple[str, ...]] = {
    "home": ROLES,
    "wall": (*ROLES, WALL),  # department heads too: the wall shows city aggregates
    "units": ROLES,  # department heads: their subtree (metrics/scope.py)
    "explore": ROLES,  # department heads: their subtree, exports included
    "sources": READERS,
    "alerts": READERS,
}
DEFAULT_PAGE_ROLES = ROLES
# Component id prefixes shared by every page (the navbar's language switch).
COMMON_PREFIXES = frozenset({"app", "_pages"})

# State-changing callbacks, by the component that triggers them (a pattern id by its `type`),
# whichever of its properties a request names: the callbacks act on the triggering component.
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alerts-ack": ("alert.acknowledge", (LEADER, ADMIN)),
    "alerts-silence": ("alert.silence", (ADMIN,)),
    "sources-run": ("feed.run", (ADMIN,)),
}
# Plain Flask routes anyone may GET without signing in (the public DTI page and its open data,
# dashboards/_public.py). Read-only: a POST there is refused like anywhere else.
PUBLIC_PREFIXES = ("/public/",)
# Exports: callbacks writing to a dcc.Download whose id ends with this.
DOWNLOAD_SUFFIX = "-download"

# Flask API routes: (method, path prefix) -> (audited action or None, roles), first match wins.
API_RULES: list[tuple[str, str, str | None, tuple[str, ...]]] = [
    ("POST", "/api/feeds/", "feed.run", (ADMIN,)),
    ("GET", "/api/", None, READERS),
]


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, a wall display, the local CLI or a proxy-signed user."""

    name: str
    role: str
    unit: str | None = None  # department heads: the unit whose subtree they may read
    kind: str = "user"  # user | wall | cli | proxy

    def may(self, roles: tuple[str, ...] | frozenset[str]) -> bool:
        return self.role in roles


def page_roles(name: str, declared: object = None) -> tuple[str, ...] | str:
    """The roles for page `name`, or PUBLIC; `declared` is the page's own `access=` value."""
    if declared == PUBLIC:
        return PUBLIC
    if isinstance(declared, list | tuple | set | frozenset):
        return tuple(declared)
    return PAGE_ROLES.get(name, DEFAULT_PAGE_ROLES)


def may_act(principal: Principal | None, component: str) -> bool:
    """Whether `principal` may fire the action of `component` (True for any other component).
    The callbacks ask it again before they act: the guard is not the only check."""
    if component not in ACTIONS:
        return True
    return principal is not None and principal.may(ACTIONS[component][1])


def may_open(principal: Principal | None, roles: tuple[str, ...] | str) -> bool:
    if roles == PUBLIC:
        return True
    return principal is not None and principal.may(roles)  # type: ignore[arg-type]
