"""Read and validate `config/feeds.toml`: which sources to pull, how, and how often.

Every problem raises ConfigError naming the file, the feed key and what is wrong. Secrets never
live in the file: a feed names the *environment variable* that holds a token, key or database URL
(`token_env`, `api_key_env`, `url_env`), and a literal secret in the file is refused.

Strings may contain `{data_dir}`, `{config_dir}` and `{demo_api}` (the loopback address of the
demo department API): they are filled in at load time, so one file serves every deployment.

A feed's `options` are checked against the schema its kind declares (`Connector.options`, beside
each connector class): an unknown key, a missing required one or a wrong type is a ConfigError
naming `feeds.<name>.options.<key>`, for every feed, enabled or not.

The data model (Feed, Schedule, Parse) lives in connectors/base.py, which connectors build on;
it is re-exported here, where most code has always imported it from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config import CONFIG_DIR, LANGS, ConfigError
from config.loader import read_toml
from connectors.base import Feed, OptionSpec, Parse, Schedule, registry

__all__ = ["FEEDS_FILE", "SHAPES", "Feed", "Parse", "Schedule", "check_options", "duration",
           "load_feeds", "parse_feed"]  # fmt: skip

FEEDS_FILE = "feeds.toml"
SHAPES = ("dossier", "report", "case")  # case: identification-paper cases (connectors/cases.py)
_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# Option keys that would hold a secret if given literally.
_SECRET_KEYS = ("token", "password", "api_key", "secret", "apikey")
_FEED_KEYS = {"kind", "enabled", "shape", "schedule", "stale_after", "options", "columns",
              "values", "measures", "parse", "description"}  # fmt: skip
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


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
        try:
            ZoneInfo(values["timezone"])
        except Exception:  # noqa: BLE001 — any lookup failure is a bad name
            raise ConfigError(
                file, f"{where}.timezone", f"unknown time zone {values['timezone']!r}"
            ) from None
    return Parse(**values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)  # TOML true is no 1


# Each option type: does a value fit, and how the reason names the type.
_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "text": (lambda v: isinstance(v, str), "text"),
    "whole": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "number": (_is_number, "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "list": (lambda v: isinstance(v, list), "a list"),
    "table": (lambda v: isinstance(v, dict), "a table"),
    "duration": (lambda v: isinstance(v, str) or _is_number(v), "a duration"),
}


def _check_value(value: Any, spec: OptionSpec, file: Path, where: str) -> None:
    fits, name = _TYPES[spec.type]
    if not fits(value):
        raise ConfigError(file, where, f"must be {name}, not {value!r}")
    if spec.type == "duration":
        duration(value, file, where)
    if spec.minimum is not None and _is_number(value) and value < spec.minimum:
        raise ConfigError(file, where, f"must be at least {spec.minimum:g}, not {value!r}")
    items = value if isinstance(value, list) else [value]
    for item in items if spec.choices else ():
        if item not in spec.choices:
            raise ConfigError(file, where, f"{item!r} is not one of {', '.join(spec.choices)}")


def check_options(
    options: Mapping[str, Any], schema: Mapping[str, OptionSpec], file: Path, where: str
) -> None:
    """`options` against a kind's declared schema: no unknown key, every required one, types."""
    for key in options:
        if key not in schema:
            near = get_close_matches(key, schema, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(sorted(schema))}"
            raise ConfigError(file, f"{where}.{key}", f"unknown option ({hint})")
    for key, spec in schema.items():
        if key in options:
            _check_value(options[key], spec, file, f"{where}.{key}")
        elif spec.required:
            raise ConfigError(file, f"{where}.{key}", "is required and missing")


def parse_feed(name: str, raw: dict[str, Any], file: Path, kinds: Collection[str]) -> Feed:
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
    _check_no_secrets(options, file, f"{where}.options")  # first: its reason says what to do
    check_options(options, registry()[raw["kind"]].options, file, f"{where}.options")
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
