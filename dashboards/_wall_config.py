"""config/wall.toml: the boards the wall's playlist rotates through and its refresh interval.

(Outside the page module: Dash imports pages without registering them in sys.modules, which
dataclasses need.)
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from functools import lru_cache
from pathlib import Path

from config import CONFIG_DIR, ConfigError
from config.loader import read_toml
from dashboards._runtime import runtime

WALL_FILE = "wall.toml"
MIN_REFRESH = 2


@dataclass(frozen=True)
class Board:
    key: str
    title_vi: str
    title_en: str
    tiles: tuple[str, ...]
    map_metric: str
    seconds: int
    # "metrics": four KPI tiles, tile map and ranking; "programmes": the digital-government
    # programmes board (dashboards/_programmes.py), whose `tiles` name the programmes' metrics.
    kind: str = "metrics"

    def title(self, lang: str) -> str:
        return self.title_vi if lang == "vi" else self.title_en


@dataclass(frozen=True)
class WallConfig:
    refresh_seconds: int
    boards: tuple[Board, ...]


BOARD_KINDS = ("metrics", "programmes")
MIN_BOARD_SECONDS = 5  # a board shown for less cannot be read
_TOP_KEYS = {"refresh_seconds", "boards"}
_BOARD_KEYS = {"key", "kind", "title_vi", "title_en", "tiles", "map_metric", "seconds"}


def load_wall(path: Path, metrics: set[str]) -> WallConfig:
    """Read and check config/wall.toml: every mistake is a ConfigError naming the file, the key
    (`boards[1].tiles`) and the reason. create_app calls it before serving, so a bad file stops
    the app at start rather than the wall's first request."""
    doc = read_toml(path)
    _no_unknown(path, "", doc, _TOP_KEYS)
    raw_boards = doc.get("boards", [])
    if not isinstance(raw_boards, list) or not all(isinstance(b, dict) for b in raw_boards):
        raise ConfigError(path, "boards", "must be [[boards]] tables")
    boards = [_board(path, f"boards[{i}]", raw, metrics) for i, raw in enumerate(raw_boards)]
    if not boards:
        raise ConfigError(path, "boards", "needs at least one [[boards]] entry")
    keys = [b.key for b in boards]
    for i, key in enumerate(keys):
        if key in keys[:i]:  # /wall?board=<key> picks one: two would be ambiguous
            raise ConfigError(path, f"boards[{i}].key", f"{key!r} is already a board's key")
    refresh = _seconds(path, "refresh_seconds", doc.get("refresh_seconds", 30), MIN_REFRESH)
    return WallConfig(refresh, tuple(boards))


def _board(path: Path, where: str, raw: dict, metrics: set[str]) -> Board:
    _no_unknown(path, f"{where}.", raw, _BOARD_KEYS)
    for key in ("key", "tiles", "map_metric"):
        if key not in raw:
            raise ConfigError(path, f"{where}.{key}", "is required and missing")
    texts = {k: raw[k] for k in ("key", "title_vi", "title_en", "map_metric") if k in raw}
    for key, value in texts.items():
        if not isinstance(value, str) or not value:
            raise ConfigError(path, f"{where}.{key}", f"must be a text, not {value!r}")
    tiles = raw["tiles"]
    if not isinstance(tiles, list) or not tiles:
        raise ConfigError(path, f"{where}.tiles", "must be a non-empty list of metric codes")
    for i, metric in enumerate(tiles):
        _metric(path, f"{where}.tiles[{i}]", metric, metrics)
    _metric(path, f"{where}.map_metric", raw["map_metric"], metrics)
    return Board(
        key=raw["key"],
        title_vi=raw.get("title_vi", raw["key"]),
        title_en=raw.get("title_en", raw.get("title_vi", raw["key"])),
        tiles=tuple(tiles),
        map_metric=raw["map_metric"],
        seconds=_seconds(path, f"{where}.seconds", raw.get("seconds", 40), MIN_BOARD_SECONDS),
        kind=_kind(path, where, raw.get("kind", "metrics")),
    )


def _no_unknown(path: Path, prefix: str, raw: dict, known: set[str]) -> None:
    for key in raw:
        if key not in known:  # a typo would otherwise fall back to the default, silently
            near = get_close_matches(key, known, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"known: {', '.join(sorted(known))}"
            raise ConfigError(path, f"{prefix}{key}", f"unknown key ({hint})")


def _metric(path: Path, where: str, value: object, metrics: set[str]) -> None:
    if value not in metrics:
        raise ConfigError(path, where, f"unknown metric {value!r} (see config/metrics.toml)")


def _seconds(path: Path, where: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(path, where, f"must be a whole number of seconds ≥ {minimum}, "
                          f"not {value!r}")  # fmt: skip
    return value


def _kind(path: Path, where: str, value: object) -> str:
    if value not in BOARD_KINDS:
        raise ConfigError(path, f"{where}.kind", f"must be one of {BOARD_KINDS}, not {value!r}")
    return str(value)


@lru_cache(maxsize=1)
def wall_config() -> WallConfig:
    rt = runtime()
    folder = rt.settings.config_dir or CONFIG_DIR
    return load_wall(Path(folder) / WALL_FILE, set(rt.config.metrics))
