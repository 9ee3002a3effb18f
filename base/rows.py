"""Row types shared between the layer that computes them and the one that stores them.

`AlertState` is computed by the alert engine (metrics/alerts/engine.py) and persisted by the
alert store (warehouse/alerts_store.py); it lives here so the store can rebuild it without
importing the engine (warehouse sits below metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# States in which a firing episode is only interrupted, not over (see metrics/alerts/engine.py).
GAP_STATES = ("no_data", "insufficient_data", "error")


@dataclass(frozen=True)
class AlertState:
    """The remembered state of one alert instance (all instants timezone-aware)."""

    state: str = "ok"
    severity: str | None = None  # warning | critical while pending/firing; held through gaps
    since: datetime | None = None  # when `state` was entered
    pending_count: int = 0
    pending_since: datetime | None = None
    started_at: datetime | None = None  # when the current episode began firing
    resolved_at: datetime | None = None
    peak_value: float | None = None  # the worst value of the current/last episode
    value: float | None = None
    denominator: float | None = None
    target: float | None = None
    threshold: float | None = None  # the threshold the value was compared with
    reason: str = ""  # English, as notifications carry it

    @property
    def held(self) -> bool:
        """A firing episode interrupted by a data gap."""
        return (
            self.state in GAP_STATES and self.started_at is not None and self.severity is not None
        )
