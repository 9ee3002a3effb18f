"""Notifications of alert transitions: webhook (JSON POST) and e-mail (SMTP), both optional.

Only transitions are sent (the engine marks them; the store keeps them as an outbox), and each
(event, channel) pair is delivered at most once: `alert_delivery` has it as primary key and the
outbox query skips what is recorded there. A failing receiver is retried with exponential
backoff, a bounded number of times (`attempts`, `backoff_seconds` per channel), then recorded as
failed — a dead webhook never blocks the evaluation for longer than attempts × timeout + backoff.

Secrets come only from the environment variables the channel names (`url_env`, `host_env`,
`username_env`, `password_env`); a channel whose address variable is unset is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from config import LANGS, Config
from metrics.alerts.reasons import Reason, event_word
from metrics.alerts.rules import AlertsConfig, Channel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    status: str  # sent | failed | skipped
    attempts: int
    error: str | None = None


def drilldown_path(
    unit_code: str | None,
    metric: str | None,
    start=None,
    end=None,
    lang: str | None = None,
    sector: str | None = None,
) -> str:
    """The drill-down view that explains an alert: unit, metric, the alert's window (and sector)."""
    if not unit_code:
        return "/alerts"
    parts = [f"metric={metric}"] if metric else []
    if start is not None and end is not None:
        parts += [f"start={start.isoformat()}", f"end={end.isoformat()}"]
    if sector:
        parts.append(f"sector={sector}")
    if lang and lang != "vi":
        parts.append(f"lang={lang}")
    return f"/units/{unit_code}" + (f"?{'&'.join(parts)}" if parts else "")


def message(row: Mapping, config: Config, alerts: AlertsConfig, base_url: str = "") -> dict:
    """The JSON payload of one transition (also the body of the e-mail)."""
    rule = alerts.rules.get(row.get("rule_id") or "")
    metric = config.metrics.get(row.get("metric") or "")
    unit = None
    if row.get("unit_code"):
        try:
            unit = config.unit(row["unit_code"])
        except KeyError:
            unit = None
    link = drilldown_path(
        row.get("unit_code"),
        row.get("metric"),
        row.get("period_start"),
        row.get("period_end"),
        sector=row.get("sector_code"),
    )
    return {
        "alert_key": row["alert_key"],
        "event_id": row["event_id"],
        "event": row["event"],
        "state": row["to_state"],
        "previous_state": row.get("from_state"),
        "severity": row.get("severity"),
        "rule": row.get("rule_id"),
        "rule_name": {"vi": rule.name_vi, "en": rule.name_en} if rule else None,
        "metric": row.get("metric"),
        "metric_name": {"vi": metric.name_vi, "en": metric.name_en} if metric else None,
        "unit": row.get("unit_code"),
        "unit_name": {lang: config.unit_name(unit.code, lang) for lang in LANGS} if unit else None,
        "source": row.get("source"),
        "value": row.get("value"),
        "threshold": row.get("threshold"),
        "target": row.get("target"),
        "denominator": row.get("denominator"),
        "period": [str(row.get("period_start")), str(row.get("period_end"))]
        if row.get("period_start")
        else None,
        "reason": row.get("reason"),
        "reason_text": _reason_text(row.get("reason_parts")),
        "at": row["happened_at"].isoformat()
        if isinstance(row.get("happened_at"), datetime)
        else None,
        "link": base_url.rstrip("/") + link,
    }


def _reason_text(parts: str | None) -> dict[str, str] | None:
    reason = Reason.from_json(parts)
    return None if reason is None else {lang: reason.text(lang) for lang in LANGS}


def subject(payload: Mapping) -> str:
    what = event_word(payload["event"], "vi").upper()
    sev = f" [{payload['severity']}]" if payload.get("severity") else ""
    name = (payload.get("rule_name") or {}).get("vi") or payload.get("source") or payload["rule"]
    where = (payload.get("unit_name") or {}).get("vi") or payload.get("unit") or ""
    return f"[IOC] {what}{sev}: {name}" + (f" — {where}" if where else "")


def body(payload: Mapping) -> str:
    lines = [subject(payload), ""]
    if payload.get("reason_text"):
        lines.append(f"lý do: {payload['reason_text']['vi']}")
    for key in ("reason", "value", "threshold", "target", "denominator", "period", "at", "link"):
        if payload.get(key) is not None:
            lines.append(f"{key}: {payload[key]}")
    lines += ["", json.dumps(payload, ensure_ascii=False, indent=2, default=str)]
    return "\n".join(lines)


def _retrying(
    channel: Channel, send: Callable[[], None], retryable: Callable[[Exception], bool],
    sleep: Callable[[float], None],
) -> Delivery:  # fmt: skip
    error = None
    for attempt in range(1, channel.attempts + 1):
        try:
            send()
            return Delivery("sent", attempt)
        except Exception as exc:  # noqa: BLE001 — every failure is recorded, none escapes
            error = f"{type(exc).__name__}: {exc}"
            log.warning("channel %s attempt %d failed: %s", channel.id, attempt, error)
            if not retryable(exc) or attempt == channel.attempts:
                return Delivery("failed", attempt, error[:1000])
            sleep(channel.backoff_seconds * 2 ** (attempt - 1))
    return Delivery("failed", channel.attempts, error)


def _http_retryable(exc: Exception) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    return isinstance(exc, OSError)


def send_webhook(
    channel: Channel,
    payload: Mapping,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST the payload as JSON to the URL in `channel.url_env`; retry 5xx/429/network errors."""
    env = os.environ if env is None else env
    url = env.get(channel.url_env or "")
    if not url:
        return Delivery("skipped", 0, f"{channel.url_env} is not set")
    data = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")

    def send() -> None:
        req = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": f"{payload['alert_key']}#{payload['event_id']}",
            },
        )
        with urllib.request.urlopen(req, timeout=channel.timeout_seconds) as resp:
            resp.read()

    return _retrying(channel, send, _http_retryable, sleep)


def send_email(
    channel: Channel,
    payload: Mapping,
    env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Send a plain-text e-mail through the SMTP server of the channel."""
    env = os.environ if env is None else env
    host = env.get(channel.host_env) if channel.host_env else channel.host
    if not host:
        return Delivery("skipped", 0, f"{channel.host_env} is not set")
    user = env.get(channel.username_env) if channel.username_env else None
    password = env.get(channel.password_env) if channel.password_env else None
    msg = EmailMessage()
    msg["Subject"] = subject(payload)
    msg["From"] = channel.sender
    msg["To"] = ", ".join(channel.recipients)
    msg["Message-ID"] = f"<ioc-{payload['event_id']}-{channel.id}@ioc.local>"
    msg.set_content(body(payload))

    def send() -> None:
        with smtplib.SMTP(host, channel.port, timeout=channel.timeout_seconds) as smtp:
            if channel.starttls:
                smtp.starttls()
            if user:
                smtp.login(user, password or "")
            smtp.send_message(msg)

    def retryable(exc: Exception) -> bool:
        if isinstance(exc, smtplib.SMTPResponseException):
            return exc.smtp_code >= 400 and exc.smtp_code < 500
        return isinstance(exc, OSError | smtplib.SMTPException)

    return _retrying(channel, send, retryable, sleep)


def deliver(
    channel: Channel, payload: Mapping, env: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:  # fmt: skip
    if channel.kind == "webhook":
        return send_webhook(channel, payload, env, sleep)
    return send_email(channel, payload, env, sleep)
