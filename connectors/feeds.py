"""Read and validate `config/feeds.toml`: which sources to pull, how, and how often.

Every problem raises ConfigError naming the file, the feed key and what is wrong. Secrets never
live in the file: a feed names the *environment variable* that holds a token, key or database URL
(`token_env`, `api_key_env`, `url_env`), and a literal secret in the file is refused.

Strings may contain `{data_dir}`, `{config_dir}` and `{demo_api}` (the loopback address of the
demo department API): they are filled in at load time, so one file serves every deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from config import CONFIG_DIR, LANGS, ConfigError
from config.loader import read_toml

FEEDS_FILE = "feeds.toml"
SHAPES = ("dossier", "report", "case")  # case: identification-paper cases (connectors/cases.py)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Option keys that would hold a secret if given literally.
_SECRET_KEYS = ("token", "password", "api_key", "secret", "apikey")
_FEED_KEYS = {"kind", "enabled", "shape", "schedule", "stale_after", "options", "columns",
              "values", "measures", "parse", "description"}  # fmt: skip
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


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
    timezone: str = "Asia/Ho_Chi_Minh"  # for timestamps written without an offset
    true_values: tuple[str, ...] = ("true", "1", "yes", "x", "có", "co", "đã", "y")
    false_values: tuple[str, ...] = ("false", "0", "no", "không", "khong", "chưa", "n")


@dataclass(frozen=True)
class Feed:
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


def duration(text: str | int, file: Path, where: str) -> timedelta:
    """'90s', '15m', '2h', '1d' (or a number of seconds)."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return timedelta(seconds=text)
    m = _DURATION.match(str(text))
    if not m or int(m.group(1)) == 0:
        raise ConfigError(file, where, f"{text!r} is not a duration like '90s', '15m', '2h', '1d'")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _schedule(raw: Any, file: Path, where: str) -> Schedule:
    if not isinstance(raw, dict):
        raise ConfigError(file, where, "must be a table, e.g. { every = '15m' } or { cron = '…' }")
    unknown = set(raw) - {"cron", "every", "jitter"}
    if unknown:
        raise ConfigError(file, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    if ("cron" in raw) == ("every" in raw):
        raise ConfigError(file, where, "give exactly one of 'cron' or 'every'")
    jitter = (
        int(duration(raw["jitter"], file, f"{where}.jitter").total_seconds())
        if raw.get("jitter")
        else 0
    )
    if "cron" in raw:
        cron = str(raw["cron"])
        if len(cron.split()) != 5:
            raise ConfigError(file, f"{where}.cron", f"{cron!r} is not a 5-field crontab")
        try:
            from apscheduler.triggers.cron import CronTrigger

            CronTrigger.from_crontab(cron)
        except ValueError as e:
            raise ConfigError(file, f"{where}.cron", f"{cron!r}: {e}") from None
        return Schedule(cron=cron, jitter_seconds=jitter)
    return Schedule(every=duration(raw["every"], file, f"{where}.every"), jitter_seconds=jitter)


def _check_no_secrets(options: dict[str, Any], file: Path, where: str) -> None:
    for key, value in options.items():
        lowered = key.lower()
        if lowered.endswith("_env"):
            if not isinstance(value, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
                raise ConfigError(file, f"{where}.{key}", "must name an environment variable "
                                  "(UPPER_CASE), not hold a value")  # fmt: skip
            continue
        if any(s in lowered for s in _SECRET_KEYS):
            raise ConfigError(file, f"{where}.{key}", f"secrets do not belong in the config: "
                              f"set {key}_env = \"SOME_ENV_VAR\" instead")  # fmt: skip
        if lowered == "url" and isinstance(value, str) and re.search(r"://[^/@]*:[^/@]+@", value):
            raise ConfigError(file, f"{where}.url", "the URL holds a password: use url_env")


def _substitute(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in subs.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, subs) for v in value]
    return value


def _str_table(raw: Any, file: Path, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(file, where, "must be a table of strings")
    return dict(raw)


def _description(raw: Any, file: Path, where: str) -> dict[str, str]:
    """A text for every language: one string for both, or a table { vi = "…", en = "…" }."""
    if isinstance(raw, str):
        return dict.fromkeys(LANGS, raw)
    texts = _str_table(raw, file, where)
    if set(texts) != set(LANGS):
        raise ConfigError(file, where, "one text, or a table with exactly the keys vi and en")
    return texts


def _parse(raw: Any, file: Path, where: str) -> Parse:
    if not isinstance(raw, dict):
        raise ConfigError(file, where, "must be a table")
    known = set(Parse.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(file, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    values = dict(raw)
    for key in ("true_values", "false_values"):
        if key in values:
            values[key] = tuple(str(v).lower() for v in values[key])
    if "timezone" in values:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(values["timezone"])
        except Exception:  # noqa: BLE001 — any lookup failure is a bad name
            raise ConfigError(
                file, f"{where}.timezone", f"unknown time zone {values['timezone']!r}"
            ) from None
    return Parse(**values)


def parse_feed(name: str, raw: dict[str, Any], file: Path, kinds: set[str]) -> Feed:
    where = f"feeds.{name}"
    if not _NAME.match(name):
        raise ConfigError(file, where, "a feed name is lower_snake_case (it names the source)")
    unknown = set(raw) - _FEED_KEYS
    if unknown:
        raise ConfigError(file, where, f"unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("kind", "schedule"):
        if key not in raw:
            raise ConfigError(file, where, f"missing key {key!r}")
    if raw["kind"] not in kinds:
        raise ConfigError(file, f"{where}.kind", f"unknown kind {raw['kind']!r} "
                          f"(one of {', '.join(sorted(kinds))})")  # fmt: skip
    shape = raw.get("shape", "report" if raw["kind"] == "national_portal" else "dossier")
    if shape not in SHAPES:
        raise ConfigError(file, f"{where}.shape", f"must be one of {SHAPES}, not {shape!r}")
    schedule = _schedule(raw["schedule"], file, f"{where}.schedule")
    options = raw.get("options", {})
    if not isinstance(options, dict):
        raise ConfigError(file, f"{where}.options", "must be a table")
    _check_no_secrets(options, file, f"{where}.options")
    values = raw.get("values", {})
    if not isinstance(values, dict):
        raise ConfigError(file, f"{where}.values", "must be a table of tables")
    stale = (
        duration(raw["stale_after"], file, f"{where}.stale_after")
        if "stale_after" in raw
        else max(2 * schedule.cadence, timedelta(minutes=30))
    )
    return Feed(
        name=name,
        kind=raw["kind"],
        shape=shape,
        enabled=bool(raw.get("enabled", True)),
        schedule=schedule,
        stale_after=stale,
        options=options,
        columns=_str_table(raw.get("columns", {}), file, f"{where}.columns"),
        values={k: _str_table(v, file, f"{where}.values.{k}") for k, v in values.items()},
        measures=_str_table(raw.get("measures", {}), file, f"{where}.measures"),
        parse=_parse(raw.get("parse", {}), file, f"{where}.parse"),
        description=_description(raw.get("description", ""), file, f"{where}.description"),
    )


def load_feeds(
    path: Path | str | None = None,
    *,
    data_dir: Path | str = "data",
    demo_api: str = "http://127.0.0.1:8765",
    measures: set[str] | None = None,
) -> dict[str, Feed]:
    """All feeds of the file (enabled or not), validated; placeholders filled in."""
    from connectors.base import registry

    file = Path(path) if path is not None else CONFIG_DIR / FEEDS_FILE
    doc = read_toml(file)
    section = doc.get("feeds", {})
    if not isinstance(section, dict) or not all(isinstance(v, dict) for v in section.values()):
        raise ConfigError(file, "feeds", "must be a table of tables ([feeds.<name>])")
    subs = {"data_dir": str(data_dir), "config_dir": str(file.parent), "demo_api": demo_api}
    feeds: dict[str, Feed] = {}
    kinds = set(registry())
    for name, raw in section.items():
        feed = parse_feed(name, _substitute(raw, subs), file, kinds)
        if measures is not None:
            for column, code in feed.measures.items():
                if code not in measures:
                    raise ConfigError(file, f"feeds.{name}.measures.{column}",
                                      f"unknown measure {code!r}")  # fmt: skip
        feeds[name] = feed
    return feeds
