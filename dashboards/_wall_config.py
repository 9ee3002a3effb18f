"""config/wall.toml: the boards the wall's playlist rotates through and its refresh interval.

(Outside the page module: Dash imports pages without registering them in sys.modules, which
dataclasses need.)
"""

from __future__ import annotations

from dataclasses import dataclass
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


def load_wall(path: Path, metrics: set[str]) -> WallConfig:
    """Read and check config/wall.toml (errors name the file and the key)."""
    doc = read_toml(path)
    boards = []
    for i, raw in enumerate(doc.get("boards", [])):
        where = f"boards[{i}]"
        missing = {"key", "tiles", "map_metric"} - set(raw)
        if missing:
            raise ConfigError(path, where, f"missing key(s) {', '.join(sorted(missing))}")
        for m in [*raw["tiles"], raw["map_metric"]]:
            if m not in metrics:
                raise ConfigError(path, where, f"unknown metric {m!r}")
        boards.append(
            Board(
                key=str(raw["key"]),
                title_vi=str(raw.get("title_vi", raw["key"])),
                title_en=str(raw.get("title_en", raw.get("title_vi", raw["key"]))),
                tiles=tuple(raw["tiles"]),
                map_metric=raw["map_metric"],
                seconds=max(5, int(raw.get("seconds", 40))),
                kind=_kind(path, where, raw.get("kind", "metrics")),
            )
        )
    if not boards:
        raise ConfigError(path, "boards", "needs at least one [[boards]] entry")
    return WallConfig(max(MIN_REFRESH, int(doc.get("refresh_seconds", 30))), tuple(boards))


BOARD_KINDS = ("metrics", "programmes")


def _kind(path: Path, where: str, value: object) -> str:
    if value not in BOARD_KINDS:
        raise ConfigError(path, f"{where}.kind", f"must be one of {BOARD_KINDS}, not {value!r}")
    return str(value)


@lru_cache(maxsize=1)
def wall_config() -> WallConfig:
    rt = runtime()
    folder = rt.settings.config_dir or CONFIG_DIR
    return load_wall(Path(folder) / WALL_FILE, set(rt.config.metrics))
