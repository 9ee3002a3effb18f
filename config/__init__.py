"""Declarative configuration (CSV and TOML files in this folder) and its validated model."""

from config.loader import CONFIG_DIR, ConfigError, load_config
from config.model import LANGS, Config, Measure, Metric, Procedure, Sector, Target, Unit

__all__ = [
    "CONFIG_DIR",
    "LANGS",
    "Config",
    "ConfigError",
    "Measure",
    "Metric",
    "Procedure",
    "Sector",
    "Target",
    "Unit",
    "load_config",
]
