"""Runtime settings from IOC_* environment variables, overridable by app.py flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8050
    data_dir: Path = Path("data")
    demo: bool = True  # load the demo city into an empty warehouse and serve demo feeds
    config_dir: Path | None = None
    scheduler: bool = True

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "ioc.duckdb"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        s = cls()
        return replace(
            s,
            host=env.get("IOC_HOST", s.host),
            port=int(env.get("IOC_PORT", s.port)),
            data_dir=Path(env.get("IOC_DATA_DIR", s.data_dir)),
            demo=_flag(env["IOC_DEMO"]) if "IOC_DEMO" in env else s.demo,
            config_dir=Path(env["IOC_CONFIG_DIR"]) if env.get("IOC_CONFIG_DIR") else None,
            scheduler=_flag(env["IOC_SCHEDULER"]) if "IOC_SCHEDULER" in env else s.scheduler,
        )
