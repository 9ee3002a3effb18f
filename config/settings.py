"""Runtime settings from IOC_* environment variables, overridable by app.py flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _count(name: str, value: str) -> int:
    if not value.strip().isdigit():
        raise ValueError(f"{name} must be a whole number of 0 or more, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8050
    data_dir: Path = Path("data")
    demo: bool = True  # load the demo city into an empty warehouse and serve demo feeds
    config_dir: Path | None = None
    scheduler: bool = True
    # Access (access/): production refuses to start without a secret; see docs/access.md.
    env: str = "development"  # IOC_ENV: development | production
    secret_key: str | None = None  # IOC_SECRET_KEY: signs the session cookies
    users_url: str | None = None  # IOC_USERS_URL: SQLAlchemy URL (default <data dir>/users.sqlite)
    trusted_user_header: str | None = None  # IOC_TRUSTED_USER_HEADER: SSO proxy header, off
    # IOC_PROXY_HOPS: reverse proxies in front that set X-Forwarded-For/-Proto/-Host (0: none,
    # the headers are ignored, so a client cannot choose its own address)
    proxy_hops: int = 0

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def users_db_url(self) -> str:
        return self.users_url or f"sqlite:///{(self.data_dir / 'users.sqlite').resolve()}"

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
            env=env.get("IOC_ENV", s.env).strip().lower() or s.env,
            secret_key=env.get("IOC_SECRET_KEY") or None,
            users_url=env.get("IOC_USERS_URL") or None,
            trusted_user_header=env.get("IOC_TRUSTED_USER_HEADER") or None,
            proxy_hops=_count("IOC_PROXY_HOPS", env.get("IOC_PROXY_HOPS", "0")),
        )
