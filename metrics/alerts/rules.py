"""Read and validate `config/alerts.toml`: alert rules, feed staleness, notification channels.

Every problem raises ConfigError naming the file, the key (`rules.<id>.<key>`) and what is wrong,
so the app refuses to start with a rule that could never fire or fires on nonsense. Unknown keys
are refused too (a typo such as `min_denominater` must not silently mean "no minimum").
Secrets never live in the file: channels name the environment variables that hold them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from config import CONFIG_DIR, Config, ConfigError
from config.loader import read_toml
from config.model import UNIT_KINDS

ALERTS_FILE = "alerts.toml"
WINDOWS = (
    "month_to_date",
    "last_7_days",
    "last_30_days",
    "last_closed_month",
    "last_closed_quarter",
)
SEVERITIES = ("warning", "critical")
GAP_STATES = ("no_data", "keep")
ERROR_STATES = ("error", "keep")
EVENTS = ("firing", "escalated", "downgraded", "resolved", "stale", "error", "no_data",
          "insufficient_data")  # fmt: skip
CHANNEL_KINDS = ("webhook", "email")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_RULE_KEYS = {"name_vi", "name_en", "metric", "scope", "window", "warning", "critical",
              "below_target_by", "clear_margin", "min_denominator", "for_evaluations",
              "for_duration", "no_data_state", "error_state", "feeds", "channels", "notify_on",
              "description"}  # fmt: skip
_DEFAULT_KEYS = {"min_denominator", "for_evaluations", "for_duration", "clear_margin",
                 "no_data_state", "error_state", "channels", "notify_on"}  # fmt: skip
_SECRET_KEYS = ("password", "token", "secret", "api_key", "url")


@dataclass(frozen=True)
class Scope:
    """Which units a rule watches: one alert instance per unit (city and sector scopes: one)."""

    kind: Literal["city", "each", "units", "sector"]
    unit_kind: str | None = None  # kind == "each"
    units: tuple[str, ...] = ()  # kind == "units"
    sector: str | None = None  # kind == "sector", or a narrowing filter on the others

    def describe(self) -> str:
        base = {
            "city": "city",
            "each": f"each {self.unit_kind}",
            "units": ", ".join(self.units),
            "sector": "city",
        }[self.kind]
        return f"{base} · sector {self.sector}" if self.sector else base


@dataclass(frozen=True)
class Rule:
    id: str
    name_vi: str
    name_en: str
    metric: str
    direction: Literal["higher", "lower"]  # copied from the metric: which way is better
    scope: Scope
    window: str
    mode: Literal["absolute", "target"]  # thresholds as values, or as points short of target
    warning: float | None
    critical: float | None
    clear_margin: float = 0.0
    min_denominator: float = 0.0
    for_evaluations: int = 1
    for_duration: timedelta = timedelta(0)
    no_data_state: str = "no_data"
    error_state: str = "error"
    feeds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    notify_on: tuple[str, ...] = ("firing", "escalated", "resolved", "stale", "error")

    def name(self, lang: str) -> str:
        return self.name_vi if lang == "vi" else self.name_en


@dataclass(frozen=True)
class FeedWatch:
    """A feed expected to deliver every `expected_every`; stale after that plus `grace`."""

    source: str
    expected_every: timedelta
    grace: timedelta = timedelta(0)
    channels: tuple[str, ...] = ()

    @property
    def stale_after(self) -> timedelta:
        return self.expected_every + self.grace


@dataclass(frozen=True)
class Channel:
    """A notification channel. Values ending in `_env` name environment variables."""

    id: str
    kind: Literal["webhook", "email"]
    url_env: str | None = None
    timeout_seconds: float = 5.0
    attempts: int = 3
    backoff_seconds: float = 0.5
    host_env: str | None = None
    host: str | None = None
    port: int = 25
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    username_env: str | None = None
    password_env: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class AlertsConfig:
    rules: dict[str, Rule] = field(default_factory=dict)
    feeds: dict[str, FeedWatch] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)


def parse_duration(path: Path, where: str, value: Any) -> timedelta:
    """'90s', '15m', '2h', '1d' → timedelta."""
    m = _DURATION.match(str(value)) if isinstance(value, str) else None
    if not m:
        raise ConfigError(
            path, where, f"must be a duration such as '30m', '2h' or '1d', not {value!r}"
        )
    return timedelta(**{_DURATION_UNITS[m.group(2)]: float(m.group(1))})


def _num(path: Path, where: str, value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(path, where, f"must be a number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(path, where, f"must be at least {minimum:g}, not {value!r}")
    return float(value)


def _str_list(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(path, where, "must be a list of strings")
    return tuple(value)


def _scope(path: Path, where: str, value: Any, config: Config) -> Scope:
    if value == "city":
        return Scope("city")
    if not isinstance(value, dict):
        raise ConfigError(
            path, where, 'must be "city", {each = "<kind>"}, {units = [...]} or {sector = "<code>"}'
        )
    unknown = set(value) - {"each", "units", "sector"}
    if unknown:
        raise ConfigError(path, where, f"unknown scope key(s) {', '.join(sorted(unknown))}")
    sector = value.get("sector")
    if sector is not None and sector not in config.sectors:
        raise ConfigError(path, f"{where}.sector", f"unknown sector {sector!r}")
    if "each" in value and "units" in value:
        raise ConfigError(path, where, "give either `each` or `units`, not both")
    if "each" in value:
        kind = value["each"]
        if kind not in UNIT_KINDS or kind == "city":
            kinds = ", ".join(k for k in UNIT_KINDS if k != "city")
            raise ConfigError(path, f"{where}.each", f"unit kind {kind!r} is not one of {kinds}")
        return Scope("each", unit_kind=kind, sector=sector)
    if "units" in value:
        units = _str_list(path, f"{where}.units", value["units"])
        if not units:
            raise ConfigError(path, f"{where}.units", "is empty")
        known = config.unit_codes()
        for code in units:
            if code not in known:
                raise ConfigError(path, f"{where}.units", f"unknown unit {code!r}")
        return Scope("units", units=units, sector=sector)
    if sector is None:
        raise ConfigError(path, where, "is empty")
    return Scope("sector", sector=sector)


def _thresholds(
    path: Path, where: str, r: dict, direction: str
) -> tuple[str, float | None, float | None]:
    has_abs = "warning" in r or "critical" in r
    if has_abs and "below_target_by" in r:
        raise ConfigError(path, where, "give warning/critical or below_target_by, not both")
    if "below_target_by" in r:
        table = r["below_target_by"]
        if not isinstance(table, dict) or not table or set(table) - set(SEVERITIES):
            raise ConfigError(
                path, f"{where}.below_target_by", "must be a table {warning = N, critical = M}"
            )
        w = table.get("warning")
        c = table.get("critical")
        w = None if w is None else _num(path, f"{where}.below_target_by.warning", w, 0)
        c = None if c is None else _num(path, f"{where}.below_target_by.critical", c, 0)
        if w is not None and c is not None and c < w:
            raise ConfigError(
                path, f"{where}.below_target_by", "critical must be at least as far off as warning"
            )
        return "target", w, c
    if not has_abs:
        raise ConfigError(path, where, "needs thresholds: warning/critical or below_target_by")
    w = None if "warning" not in r else _num(path, f"{where}.warning", r["warning"])
    c = None if "critical" not in r else _num(path, f"{where}.critical", r["critical"])
    if w is not None and c is not None:
        if direction == "higher" and c > w:
            raise ConfigError(
                path, where, f"higher is better: critical ({c:g}) must not be above warning ({w:g})"
            )
        if direction == "lower" and c < w:
            raise ConfigError(
                path, where, f"lower is better: critical ({c:g}) must not be below warning ({w:g})"
            )
    return "absolute", w, c


def _rule(
    path: Path, rid: str, r: dict, defaults: dict, config: Config, feeds: dict, channels: dict
) -> Rule:
    where = f"rules.{rid}"
    if not _ID.match(rid):
        raise ConfigError(path, where, "rule ids are lower-case letters, digits and _")
    unknown = set(r) - _RULE_KEYS
    if unknown:
        raise ConfigError(path, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("metric", "scope", "window"):
        if key not in r:
            raise ConfigError(path, where, f"missing key {key!r}")
    metric = config.metrics.get(r["metric"])
    if metric is None:
        raise ConfigError(path, f"{where}.metric", f"unknown metric {r['metric']!r}")
    if r["window"] not in WINDOWS:
        raise ConfigError(
            path, f"{where}.window", f"{r['window']!r} is not one of {', '.join(WINDOWS)}"
        )
    mode, warning, critical = _thresholds(path, where, r, metric.direction)
    v = {**defaults, **r}
    if "below_target_by" in r and not any(t.metric == metric.code for t in config.targets):
        raise ConfigError(
            path, f"{where}.below_target_by", f"metric {metric.code} has no target in targets.csv"
        )
    for_evaluations = v.get("for_evaluations", 1)
    if isinstance(for_evaluations, bool) or not isinstance(for_evaluations, int):
        raise ConfigError(path, f"{where}.for_evaluations", "must be a whole number")
    if for_evaluations < 1:
        raise ConfigError(path, f"{where}.for_evaluations", "must be at least 1")
    for key, allowed in (("no_data_state", GAP_STATES), ("error_state", ERROR_STATES)):
        if v.get(key, allowed[0]) not in allowed:
            raise ConfigError(path, f"{where}.{key}", f"must be one of {', '.join(allowed)}")
    rule_feeds = _str_list(path, f"{where}.feeds", v.get("feeds", list(feeds)))
    for f in rule_feeds:
        if f not in feeds:
            raise ConfigError(path, f"{where}.feeds", f"unknown feed {f!r} (not under [feeds])")
    rule_channels = _str_list(path, f"{where}.channels", v.get("channels", []))
    for c in rule_channels:
        if c not in channels:
            raise ConfigError(path, f"{where}.channels", f"unknown channel {c!r}")
    notify_on = _str_list(path, f"{where}.notify_on", v.get("notify_on", list(Rule.notify_on)))
    for e in notify_on:
        if e not in EVENTS:
            raise ConfigError(
                path, f"{where}.notify_on", f"{e!r} is not one of {', '.join(EVENTS)}"
            )
    return Rule(
        id=rid,
        name_vi=str(r.get("name_vi", metric.name_vi)),
        name_en=str(r.get("name_en", metric.name_en)),
        metric=metric.code,
        direction=metric.direction,
        scope=_scope(path, f"{where}.scope", r["scope"], config),
        window=r["window"],
        mode=mode,
        warning=warning,
        critical=critical,
        clear_margin=_num(path, f"{where}.clear_margin", v.get("clear_margin", 0), 0),
        min_denominator=_num(path, f"{where}.min_denominator", v.get("min_denominator", 0), 0),
        for_evaluations=for_evaluations,
        for_duration=parse_duration(path, f"{where}.for_duration", v.get("for_duration", "0m")),
        no_data_state=v.get("no_data_state", "no_data"),
        error_state=v.get("error_state", "error"),
        feeds=rule_feeds,
        channels=rule_channels,
        notify_on=notify_on,
    )


def _env_name(path: Path, where: str, value: Any) -> str:
    if not isinstance(value, str) or not _ENV.match(value):
        raise ConfigError(
            path, where, f"must name an environment variable (A_Z_0_9), not {value!r}"
        )
    return value


def _channel(path: Path, cid: str, c: dict) -> Channel:
    where = f"channels.{cid}"
    kind = c.get("kind")
    if kind not in CHANNEL_KINDS:
        raise ConfigError(path, f"{where}.kind", f"must be one of {', '.join(CHANNEL_KINDS)}")
    for key in c:
        if any(s in key for s in _SECRET_KEYS) and not key.endswith("_env"):
            raise ConfigError(
                path,
                f"{where}.{key}",
                f"secrets and addresses with credentials come from the environment: use {key}_env",
            )
    known = {"kind", "url_env", "timeout_seconds", "attempts", "backoff_seconds", "host_env",
             "host", "port", "sender", "recipients", "username_env", "password_env", "starttls"}  # fmt: skip
    unknown = set(c) - known
    if unknown:
        raise ConfigError(path, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    envs = {k: _env_name(path, f"{where}.{k}", c[k]) for k in c if k.endswith("_env")}
    attempts = c.get("attempts", 3)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
        raise ConfigError(path, f"{where}.attempts", "must be a whole number from 1 to 10")
    if kind == "webhook":
        if "url_env" not in envs:
            raise ConfigError(path, where, "a webhook needs url_env")
    else:
        if "host_env" not in envs and "host" not in c:
            raise ConfigError(path, where, "an email channel needs host or host_env")
        if not c.get("sender"):
            raise ConfigError(path, where, "an email channel needs sender")
        recipients = _str_list(path, f"{where}.recipients", c.get("recipients", []))
        if not recipients or not all("@" in r for r in recipients):
            raise ConfigError(path, f"{where}.recipients", "must list e-mail addresses")
    port = c.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(path, f"{where}.port", f"must be a port number, not {port!r}")
    return Channel(
        id=cid,
        kind=kind,
        url_env=envs.get("url_env"),
        timeout_seconds=_num(path, f"{where}.timeout_seconds", c.get("timeout_seconds", 5), 0.1),
        attempts=attempts,
        backoff_seconds=_num(path, f"{where}.backoff_seconds", c.get("backoff_seconds", 0.5), 0),
        host_env=envs.get("host_env"),
        host=c.get("host"),
        port=port,
        sender=c.get("sender"),
        recipients=tuple(c.get("recipients", ())),
        username_env=envs.get("username_env"),
        password_env=envs.get("password_env"),
        starttls=bool(c.get("starttls", False)),
    )


def _feed(path: Path, source: str, f: dict, channels: dict) -> FeedWatch:
    where = f"feeds.{source}"
    unknown = set(f) - {"expected_every", "grace", "channels"}
    if unknown:
        raise ConfigError(path, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    if "expected_every" not in f:
        raise ConfigError(path, where, "missing key 'expected_every'")
    chans = _str_list(path, f"{where}.channels", f.get("channels", []))
    for c in chans:
        if c not in channels:
            raise ConfigError(path, f"{where}.channels", f"unknown channel {c!r}")
    every = parse_duration(path, f"{where}.expected_every", f["expected_every"])
    if every <= timedelta(0):
        raise ConfigError(path, f"{where}.expected_every", "must be longer than zero")
    return FeedWatch(
        source,
        every,
        parse_duration(path, f"{where}.grace", f.get("grace", "0m")),
        chans,
    )


def parse_alerts(doc: dict, config: Config, path: Path | str = ALERTS_FILE) -> AlertsConfig:
    """Validate an already-parsed alerts document (tests build these as dicts)."""
    path = Path(path)
    for key in doc:
        if key not in ("defaults", "rules", "feeds", "channels"):
            raise ConfigError(
                path, key, "unknown section (expected defaults, rules, feeds, channels)"
            )
    for key in ("rules", "feeds", "channels"):
        section = doc.get(key, {})
        if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
            raise ConfigError(path, key, f"must be a table of tables ([{key}.<id>])")
    defaults = doc.get("defaults", {})
    unknown = set(defaults) - _DEFAULT_KEYS
    if unknown:
        raise ConfigError(path, "defaults", f"unknown key(s) {', '.join(sorted(unknown))}")
    channels = {cid: _channel(path, cid, c) for cid, c in doc.get("channels", {}).items()}
    defaults_channels = _str_list(path, "defaults.channels", defaults.get("channels", []))
    for c in defaults_channels:
        if c not in channels:
            raise ConfigError(path, "defaults.channels", f"unknown channel {c!r}")
    feeds = {}
    for source, f in doc.get("feeds", {}).items():
        watch = _feed(path, source, f, channels)
        if not watch.channels:
            watch = FeedWatch(watch.source, watch.expected_every, watch.grace, defaults_channels)
        feeds[source] = watch
    rules = {
        rid: _rule(path, rid, r, defaults, config, feeds, channels)
        for rid, r in doc.get("rules", {}).items()
    }
    return AlertsConfig(rules=rules, feeds=feeds, channels=channels)


def load_alerts(config: Config, directory: Path | str = CONFIG_DIR) -> AlertsConfig:
    """Read `<directory>/alerts.toml`; a missing file means no alerts (not an error)."""
    path = Path(directory) / ALERTS_FILE
    if not path.exists():
        return AlertsConfig()
    doc = read_toml(path)
    return parse_alerts(doc, config, path)
