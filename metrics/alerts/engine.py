"""The alert state machine: a pure function of (previous state, observation, rule, now).

No I/O, no clock: everything it needs comes in as arguments, so a table of inputs fully
describes its behaviour (tests/alerts/test_engine.py).

States (one per alert instance, i.e. per (rule, unit) pair; feeds have their own instances):
  ok                 – the value is on the good side of the thresholds.
  pending            – breaching, but not yet for `for_evaluations` evaluations / `for_duration`.
  firing             – breaching long enough: notified once, on entry.
  resolved           – was firing, came back past the warning threshold by `clear_margin`
                       (hysteresis: a value hovering around a threshold fires once, not on every
                       crossing). Stays `resolved` until the next breach; history keeps episodes.
  no_data            – no value (zero denominator, no rows), a stale feed, or no target to
                       measure against. Never treated as a breach.
  insufficient_data  – fewer dossiers than `min_denominator`: a ward with 2 dossiers does not
                       fire at 50%.
  error              – the query failed.
  stale              – feed instances only: the feed did not deliver within its cadence.

A firing alert that loses its data (no_data / insufficient_data / error) remembers its severity
and start time: when data returns still breaching it goes back to `firing` without a new
notification, and when it returns healthy it resolves. Severity may escalate (warning →
critical, notified) or step down (critical → warning, only past the critical threshold by the
clear margin, not notified by default).

Silences are inputs: a silenced alert changes state exactly as an unsilenced one, but its
transitions are not notified. Acknowledgements never change state or notifications (an
acknowledged alert still reports its escalation and resolution); they only move it out of the
"active" list, and the store ends them when the episode ends.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

# AlertState is the row the alert store persists: defined below the warehouse so the store can
# rebuild it without importing this module.
from base.rows import AlertState
from metrics.alerts.reasons import Reason
from metrics.alerts.rules import FeedWatch, Rule

STATES = (
    "ok",
    "pending",
    "firing",
    "resolved",
    "no_data",
    "insufficient_data",
    "error",
    "stale",
)
SEVERITY_RANK = {None: 0, "warning": 1, "critical": 2}
NEW_INSTANCE_EVENTS = ("pending", "firing", "error", "stale")


@dataclass(frozen=True)
class Observation:
    """What one evaluation saw for one instance.

    kind "value": `value` in the metric's unit (e.g. percent), `denominator` the dossier count
    behind a ratio (None for sum metrics), `target` this year's target for the unit (or None).
    kind "error" / "stale": `detail` says why (the error text, the stale feeds); kind "no_data":
    `detail` is the key of its message in `metrics.alerts.reasons` ("no_dossiers", "no_value").
    """

    kind: Literal["value", "no_data", "error", "stale"]
    value: float | None = None
    denominator: float | None = None
    target: float | None = None
    detail: str = ""

    @classmethod
    def of(
        cls, value: float | None, denominator: float | None = None, target: float | None = None
    ) -> Observation:
        if value is None:
            return cls("no_data", None, denominator, target, "no_value")
        return cls("value", float(value), denominator, target)


@dataclass(frozen=True)
class Evaluation:
    """The new state, why, and whether it is a transition worth telling someone about."""

    state: AlertState
    previous: str
    why: Reason
    event: str | None  # firing | escalated | downgraded | resolved | stale | error | no_data …
    notify: bool
    silenced: bool = False

    @property
    def changed(self) -> bool:
        return self.event is not None

    @property
    def reason(self) -> str:
        return self.why.text("en")


def thresholds(rule: Rule, target: float | None) -> dict[str, float] | None:
    """The rule's thresholds as values in the metric's unit; None when they need a missing target."""
    if rule.mode == "absolute":
        levels = {"warning": rule.warning, "critical": rule.critical}
    else:
        if target is None:
            return None
        sign = -1 if rule.direction == "higher" else 1
        levels = {
            "warning": None if rule.warning is None else target + sign * rule.warning,
            "critical": None if rule.critical is None else target + sign * rule.critical,
        }
    return {k: v for k, v in levels.items() if v is not None}


def worse(direction: str, value: float, threshold: float) -> bool:
    """True when `value` is on the bad side of `threshold` (below for higher-is-better)."""
    return value < threshold if direction == "higher" else value > threshold


def _past(direction: str, value: float, threshold: float, margin: float) -> bool:
    """True when `value` is back on the good side of `threshold` by at least `margin`."""
    if direction == "higher":
        return value >= threshold + margin
    return value <= threshold - margin


def breach(rule: Rule, value: float, levels: dict[str, float]) -> str | None:
    if "critical" in levels and worse(rule.direction, value, levels["critical"]):
        return "critical"
    if "warning" in levels and worse(rule.direction, value, levels["warning"]):
        return "warning"
    return None


def _worst(direction: str, a: float | None, b: float) -> float:
    if a is None:
        return b
    return min(a, b) if direction == "higher" else max(a, b)


def evaluate(
    prev: AlertState | None,
    obs: Observation,
    rule: Rule,
    now: datetime,
    silenced_until: datetime | None = None,
    acknowledged: bool = False,
) -> Evaluation:
    """One evaluation step for one (rule, unit) instance. See the module docstring."""
    is_new = prev is None
    prev = prev or AlertState(since=now)
    silenced = silenced_until is not None and silenced_until > now
    if obs.kind == "error":
        new, reason = _gap(prev, rule, now, "error", Reason.of("error", detail=obs.detail), obs)
        if rule.error_state == "keep":
            new, reason = _keep(prev, now, reason)
    elif obs.kind == "stale":
        new, reason = _gap(prev, rule, now, "no_data", Reason.of("stale", detail=obs.detail), obs)
    elif obs.kind == "no_data" or obs.value is None:
        new, reason = _gap(prev, rule, now, "no_data", Reason.of(obs.detail or "no_value"), obs)
        if rule.no_data_state == "keep":
            new, reason = _keep(prev, now, reason)
    elif (
        obs.denominator is not None
        and rule.min_denominator > 0
        and obs.denominator < rule.min_denominator
    ):
        new, reason = _gap(
            prev,
            rule,
            now,
            "insufficient_data",
            Reason.of("few", denominator=obs.denominator, minimum=rule.min_denominator),
            obs,
        )
    else:
        levels = thresholds(rule, obs.target)
        if not levels:
            new, reason = _gap(prev, rule, now, "no_data", Reason.of("no_target"), obs)
        else:
            new, reason = _value(prev, obs, rule, now, levels)
    event = _event(prev, new)
    if is_new and event not in NEW_INSTANCE_EVENTS:
        event = None  # a new instance starting in no_data/insufficient_data is not news
    notify = event is not None and event in rule.notify_on and not silenced
    new = replace(new, reason=reason.text("en"))
    return Evaluation(new, prev.state, reason, event, notify, silenced)


def _keep(prev: AlertState, now: datetime, reason: Reason) -> tuple[AlertState, Reason]:
    return replace(prev), reason + Reason.of("keep", state=prev.state)


def _gap(
    prev: AlertState, rule: Rule, now: datetime, state: str, reason: Reason, obs: Observation
) -> tuple[AlertState, Reason]:
    firing = prev.state == "firing" or prev.held
    return (
        AlertState(
            state=state,
            severity=prev.severity if firing else None,
            since=prev.since if prev.state == state else now,
            started_at=prev.started_at if firing else None,
            resolved_at=prev.resolved_at,
            peak_value=prev.peak_value if firing else None,
            value=obs.value,
            denominator=obs.denominator,
            target=obs.target,
        ),
        reason + Reason.of("was_firing", severity=prev.severity, since=prev.started_at)
        if firing
        else reason,
    )


def _value(
    prev: AlertState, obs: Observation, rule: Rule, now: datetime, levels: dict[str, float]
) -> tuple[AlertState, Reason]:
    value, d = obs.value, rule.direction
    assert value is not None
    sev = breach(rule, value, levels)
    base = levels.get("warning", levels.get("critical"))
    side = "below" if d == "higher" else "above"
    common = {"value": value, "denominator": obs.denominator, "target": obs.target}
    if prev.state == "firing" or prev.held:
        held = prev.severity or "warning"
        if _past(d, value, base, rule.clear_margin):
            clear_at = base + (rule.clear_margin if d == "higher" else -rule.clear_margin)
            return (
                AlertState(
                    state="resolved",
                    since=now,
                    resolved_at=now,
                    started_at=prev.started_at,
                    peak_value=prev.peak_value,
                    threshold=base,
                    **common,
                ),
                Reason.of("recovered", value=value, clear_at=clear_at),
            )
        new_sev = held
        if SEVERITY_RANK[sev] > SEVERITY_RANK[held]:
            new_sev = sev
        elif (
            held == "critical"
            and "critical" in levels
            and sev != "critical"
            and _past(d, value, levels["critical"], rule.clear_margin)
        ):
            new_sev = "warning" if "warning" in levels else "critical"
        threshold = levels.get(new_sev, base)
        if sev is None:
            why = Reason.of("inside", value=value, base=base)
        else:
            why = Reason.of("breach", value=value, side=side, severity=sev, threshold=levels[sev])
        return (
            AlertState(
                state="firing",
                severity=new_sev,
                since=prev.since if prev.state == "firing" else now,
                started_at=prev.started_at or now,
                resolved_at=None,
                peak_value=_worst(d, prev.peak_value, value),
                threshold=threshold,
                **common,
            ),
            why,
        )
    if sev is None:
        state = "resolved" if prev.state == "resolved" else "ok"
        why = Reason.of("within", value=value)
        if prev.state == "pending":
            why = Reason.of("not_persisted", count=prev.pending_count,
                            needed=rule.for_evaluations) + why  # fmt: skip
        return (
            AlertState(
                state=state,
                since=prev.since if prev.state == state else now,
                resolved_at=prev.resolved_at,
                started_at=prev.started_at if state == "resolved" else None,
                peak_value=prev.peak_value if state == "resolved" else None,
                threshold=base,
                **common,
            ),
            why,
        )
    pending = prev.state == "pending"
    count = prev.pending_count + 1 if pending else 1
    pending_since = prev.pending_since if pending and prev.pending_since else now
    why = Reason.of("breach", value=value, side=side, severity=sev, threshold=levels[sev])
    if count >= rule.for_evaluations and now - pending_since >= rule.for_duration:
        return (
            AlertState(
                state="firing",
                severity=sev,
                since=now,
                started_at=now,
                peak_value=_worst(d, prev.peak_value if pending else None, value),
                threshold=levels[sev],
                **common,
            ),
            why + Reason.of("for_count", count=count) if count > 1 else why,
        )
    worst = (
        sev
        if SEVERITY_RANK[sev] >= SEVERITY_RANK[prev.severity if pending else None]
        else prev.severity
    )
    return (
        AlertState(
            state="pending",
            severity=worst,
            since=prev.since if pending else now,
            pending_count=count,
            pending_since=pending_since,
            resolved_at=prev.resolved_at,
            peak_value=_worst(d, prev.peak_value if pending else None, value),
            threshold=levels[sev],
            **common,
        ),
        why + Reason.of("pending_count", count=count, needed=rule.for_evaluations),
    )


def _event(prev: AlertState, new: AlertState) -> str | None:
    """The transition between two states, or None when nothing worth recording changed."""
    if new.state == "firing":
        if prev.state == "firing":
            if SEVERITY_RANK[new.severity] > SEVERITY_RANK[prev.severity]:
                return "escalated"
            if SEVERITY_RANK[new.severity] < SEVERITY_RANK[prev.severity]:
                return "downgraded"
            return None
        if prev.held:
            # Back from a data gap, still breaching: the same episode, recorded, not re-notified
            # (unless it got worse).
            return (
                "escalated"
                if SEVERITY_RANK[new.severity] > SEVERITY_RANK[prev.severity]
                else "resumed"
            )
        return "firing"
    if new.state == prev.state:
        return None
    if new.state == "resolved":
        return "resolved"
    if new.state == "pending" and prev.state in ("ok", "resolved"):
        return "pending"
    if new.state == "ok" and prev.state == "pending":
        return "cleared"
    return new.state


# ---------------------------------------------------------------------------------------------
# Feeds
# ---------------------------------------------------------------------------------------------


def evaluate_feed(
    prev: AlertState | None,
    last_delivery: datetime | None,
    watch: FeedWatch,
    now: datetime,
    silenced_until: datetime | None = None,
    notify_on: tuple[str, ...] = ("stale", "resolved"),
) -> Evaluation:
    """A feed's own instance: `stale` when its last successful delivery is older than
    `expected_every + grace`; `no_data` when it never delivered; else `ok` (`resolved` right after
    being stale). `last_delivery` is when the last successful load batch of the feed finished."""
    is_new = prev is None
    prev = prev or AlertState(since=now)
    silenced = silenced_until is not None and silenced_until > now
    if last_delivery is None:
        new = AlertState(state="no_data", since=prev.since if prev.state == "no_data" else now)
        reason = Reason.of("feed_never", source=watch.source)
    else:
        # A batch that finished while the evaluation ran is newer than its `now`: age zero, not
        # "last delivery -0.0 h ago".
        age = max(now - last_delivery, timedelta(0))
        hours = age / timedelta(hours=1)
        if age > watch.stale_after:
            started = prev.started_at if prev.state == "stale" else now
            new = AlertState(
                state="stale",
                severity="warning",
                since=prev.since if prev.state == "stale" else now,
                started_at=started,
                value=hours,
                threshold=watch.stale_after / timedelta(hours=1),
            )
            reason = Reason.of("feed_late", source=watch.source, hours=hours,
                               every=watch.expected_every / timedelta(hours=1),
                               grace=watch.grace / timedelta(hours=1))  # fmt: skip
        else:
            state = "resolved" if prev.state in ("stale", "resolved") else "ok"
            new = AlertState(
                state=state,
                since=prev.since if prev.state == state else now,
                started_at=prev.started_at if state == "resolved" else None,
                resolved_at=now if prev.state == "stale" else prev.resolved_at,
                value=hours,
                threshold=watch.stale_after / timedelta(hours=1),
            )
            reason = Reason.of("feed_ok", source=watch.source, hours=hours)
    event = None if new.state == prev.state else new.state
    if is_new and event not in NEW_INSTANCE_EVENTS:
        event = None
    notify = event is not None and event in notify_on and not silenced
    new = replace(new, reason=reason.text("en"))
    return Evaluation(new, prev.state, reason, event, notify, silenced)
