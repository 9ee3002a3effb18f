"""What the pages read from: the warehouse and configuration the app opened at start-up.

Pages never write warehouse data; they read through cursors of this one process's connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import Config
from config.settings import Settings
from warehouse import Warehouse


@dataclass
class Runtime:
    settings: Settings
    config: Config
    warehouse: Warehouse
    feeds: Any = None  # connectors.service.FeedService once the feeds are started
    access: Any = None  # access.web.AccessControl once sign-in is installed


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def runtime() -> Runtime:
    if _current is None:
        raise RuntimeError("the app has not opened its warehouse yet")
    return _current
