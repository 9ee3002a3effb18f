"""The connector protocol and the registry of source kinds.

A connector turns one configured feed into *pulls*: canonical polars frames plus the cursor that
follows them. The runner turns each pull into one warehouse load batch, so a pull's rows and its
cursor commit together (exactly once) and a crash between pulls resumes from the last commit.
Connectors never compute rates and never touch the warehouse.

A configured feed (`Feed`, read from `config/feeds.toml` by connectors/feeds.py) is defined
here, with the schema of options each kind declares (`Connector.options`): the feeds loader
checks every feed against its kind's schema, so it depends on this module and never the reverse.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar, Literal

import polars as pl

from base.tz import LOCAL_TZ
from config import Config
from warehouse.loading import Batch, Reject

# Modules that register the built-in kinds (imported on first use of the registry).
BUILTIN_MODULES = ("connectors.files", "connectors.rest", "connectors.sql",
                   "connectors.national_portal", "connectors.cases")  # fmt: skip
_REGISTRY: dict[str, type[Connector]] = {}

# (source_key, content_hash) -> already loaded by an ok batch? Lets a file feed skip what it has.
Seen = Callable[[str, str], bool]


@dataclass(frozen=True)
class Schedule:
    cron: str | None = None  # crontab (minute hour day month day-of-week), local time
    every: timedelta | None = None
    jitter_seconds: int = 0

    @property
    def cadence(self) -> timedelta:
        """How often a run is expected: the interval, or a rough reading of the crontab."""
        if self.every is not None:
            return self.every
        minute, hour = (self.cron or "* *").split()[:2]
        if hour.startswith("*/"):
            return timedelta(hours=int(hour[2:]))
        if hour == "*":
            return (
                timedelta(minutes=int(minute[2:]))
                if minute.startswith("*/")
                else timedelta(hours=1)
            )
        return timedelta(days=1)


@dataclass(frozen=True)
class Parse:
    """How a source writes values: the feed's locale, not ours."""

    date_format: str | None = None  # e.g. "%d/%m/%Y %H:%M"; None: ISO 8601
    decimal_comma: bool = False  # "1.234,5" means 1234.5
    timezone: str = LOCAL_TZ  # for timestamps written without an offset
    true_values: tuple[str, ...] = ("true", "1", "yes", "x", "có", "co", "đã", "y")
    false_values: tuple[str, ...] = ("false", "0", "no", "không", "khong", "chưa", "n")


@dataclass(frozen=True)
class Feed:
    """One `[feeds.<name>]` of config/feeds.toml, validated (connectors/feeds.py)."""

    name: str
    kind: str
    shape: str
    enabled: bool
    schedule: Schedule
    stale_after: timedelta
    options: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # source column -> canonical field
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {raw: canonical}
    measures: dict[str, str] = field(default_factory=dict)  # wide report column -> measure code
    parse: Parse = field(default_factory=Parse)
    description: dict[str, str] = field(default_factory=dict)  # language -> text (sources page)


# What an option's value may be, as TOML writes it: "whole" an integer, "number" an integer or a
# float, "duration" '90s' / '15m' / '2h' / '1d' or seconds, "table" a TOML table.
OptionType = Literal["text", "whole", "number", "bool", "list", "table", "duration"]


@dataclass(frozen=True)
class OptionSpec:
    """One key a connector kind reads from its feed's `options` table. Declared beside the
    connector (`Connector.options`) so that a typo, a missing key or a wrong type stops the app
    at start (connectors/feeds.py) rather than failing the feed's first run."""

    type: OptionType
    default: Any = None  # what the connector uses when the key is absent (None: nothing)
    required: bool = False
    choices: tuple[str, ...] = ()  # the allowed values (of each item, for a list)
    minimum: float | None = None  # the smallest allowed number


@dataclass(frozen=True)
class Window:
    """A backfill range of local calendar days, both ends inclusive."""

    start: date
    end: date


@dataclass
class Pull:
    """One unit of work for the loader: rows (and parse rejects) plus the cursor after them."""

    dossiers: pl.DataFrame | None = None
    reports: pl.DataFrame | None = None
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    state: dict[str, Any] | None = None  # None: leave the feed's cursor as it is (backfills)
    source_key: str | None = None
    content_hash: str | None = None
    # The source's row number of each row of `dossiers` or `reports` (a file's), for reasons.
    source_rows: pl.Series | None = None
    # Set when this unit of work could not be read for a reason that may pass (an I/O error, a
    # reader stopped from outside): the runner records a failed batch with it and goes on.
    failed: str | None = None

    def batch(self, source: str) -> Batch:
        # An empty frame is "nothing": conform() would broadcast its defaults into a phantom row.
        dossiers = self.dossiers if self.dossiers is not None and self.dossiers.height else None
        reports = self.reports if self.reports is not None and self.reports.height else None
        rows = self.source_rows if dossiers is not None or reports is not None else None
        return Batch(source=source, dossiers=dossiers, reports=reports,
                      rejects=list(self.rejects), rows_read=self.rows_read,
                      source_key=self.source_key, content_hash=self.content_hash,
                      state=self.state, source_rows=rows)  # fmt: skip

    @property
    def independent(self) -> bool:
        """A unit of its own (a file: it names its `source_key` and moves no cursor): when it
        fails, nothing after it depends on it, so the run records it and goes on."""
        return self.source_key is not None and self.state is None


class SourceError(RuntimeError):
    """The source could not be read (down, refused, malformed): the run fails, data is kept."""


class Connector(ABC):
    kind: ClassVar[str]
    # Every key the kind reads from `feed.options`; any other key is refused at load.
    options: ClassVar[dict[str, OptionSpec]] = {}

    def __init__(self, feed: Feed, config: Config):
        self.feed, self.config = feed, config

    @abstractmethod
    def pulls(
        self, state: dict[str, Any], window: Window | None = None, seen: Seen | None = None
    ) -> Iterator[Pull]:
        """Pulls from the cursor in `state` on (or over `window`, leaving the cursor alone)."""

    def close(self) -> None:
        """Release connections (called by the runner after every run)."""


def register(cls: type[Connector]) -> type[Connector]:
    _REGISTRY[cls.kind] = cls
    return cls


def registry() -> dict[str, type[Connector]]:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    return dict(_REGISTRY)


def make_connector(feed: Feed, config: Config) -> Connector:
    kinds = registry()
    if feed.kind not in kinds:
        raise KeyError(f"no connector for kind {feed.kind!r}")
    return kinds[feed.kind](feed, config)
