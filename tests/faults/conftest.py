"""Fault tests reuse the connector fixtures: the configuration and a fresh warehouse."""

from tests.connectors.conftest import config, wh  # noqa: F401 — fixtures
