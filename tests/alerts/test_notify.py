"""Notifications against real receivers on 127.0.0.1: an HTTP server and an aiosmtpd server."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from metrics.alerts.notify import send_email, send_webhook
from metrics.alerts.rules import Channel, parse_alerts
from metrics.alerts.service import evaluate_after_load
from tests.alerts.conftest import RULES, free_port
from warehouse.db import scalar


@dataclass
class Receiver:
    url: str
    bodies: list = field(default_factory=list)
    statuses: list = field(default_factory=list)


@pytest.fixture
def http_receiver(request) -> Iterator[Receiver]:
    """A webhook receiver; parametrize with the number of 503 answers before it accepts."""
    failures = getattr(request, "param", 0)
    state = {"left": failures}
    rec = Receiver("")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if state["left"] > 0:
                state["left"] -= 1
                code = 503
            else:
                rec.bodies.append((json.loads(data), dict(self.headers)))
                code = 200
            rec.statuses.append(code)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_receiver() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


HOOK = Channel("hook", "webhook", url_env="HOOK_URL", attempts=4, backoff_seconds=0.01)
PAYLOAD = {"alert_key": "r/Q8", "event_id": 7, "event": "firing", "severity": "critical",
           "rule": "r", "unit": "Q8", "reason": "50 is below 70"}  # fmt: skip


def test_webhook_posts_json(http_receiver):
    d = send_webhook(HOOK, PAYLOAD, env={"HOOK_URL": http_receiver.url})
    assert (d.status, d.attempts) == ("sent", 1)
    body, headers = http_receiver.bodies[0]
    assert body == PAYLOAD
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Idempotency-Key"] == "r/Q8#7"


@pytest.mark.parametrize("http_receiver", [2], indirect=True)
def test_webhook_that_fails_first_then_accepts_is_retried_with_backoff(http_receiver):
    sleeps = []
    d = send_webhook(HOOK, PAYLOAD, env={"HOOK_URL": http_receiver.url}, sleep=sleeps.append)
    assert (d.status, d.attempts) == ("sent", 3)
    assert http_receiver.statuses == [503, 503, 200]
    assert sleeps == [0.01, 0.02]  # exponential backoff
    assert len(http_receiver.bodies) == 1


@pytest.mark.parametrize("http_receiver", [10], indirect=True)
def test_webhook_retries_are_bounded(http_receiver):
    d = send_webhook(HOOK, PAYLOAD, env={"HOOK_URL": http_receiver.url}, sleep=lambda s: None)
    assert (d.status, d.attempts) == ("failed", 4)
    assert "503" in d.error
    assert http_receiver.statuses == [503] * 4


def test_unset_channel_is_skipped_and_unreachable_one_fails():
    assert send_webhook(HOOK, PAYLOAD, env={}).status == "skipped"
    dead = f"http://127.0.0.1:{free_port()}/hook"
    d = send_webhook(HOOK, PAYLOAD, env={"HOOK_URL": dead}, sleep=lambda s: None)
    assert (d.status, d.attempts) == ("failed", 4)


def test_email_reaches_a_real_smtp_server(smtp_receiver):
    inbox, port = smtp_receiver
    mail = Channel(
        "mail", "email", host_env="SMTP_HOST", port=port, sender="ioc@example.vn",
        recipients=("lead@example.vn", "ops@example.vn"), timeout_seconds=5,
    )  # fmt: skip
    d = send_email(mail, {**PAYLOAD, "unit_name": {"vi": "Quận 8"}}, env={"SMTP_HOST": "127.0.0.1"})
    assert d.status == "sent"
    (msg,) = inbox.messages
    assert msg.mail_from == "ioc@example.vn"
    assert msg.rcpt_tos == ["lead@example.vn", "ops@example.vn"]
    text = msg.content.decode("utf-8", "replace")
    assert "50 is below 70" in text
    assert "Subject:" in text


@pytest.mark.parametrize("http_receiver", [1], indirect=True)
def test_transitions_are_notified_once_each_on_every_channel(wh, config, http_receiver,
                                                            smtp_receiver):  # fmt: skip
    inbox, port = smtp_receiver
    doc = json.loads(json.dumps(RULES))
    doc["channels"]["mail"] = {"kind": "email", "host_env": "SMTP_HOST", "port": port,
                               "sender": "ioc@example.vn", "recipients": ["lead@example.vn"]}  # fmt: skip
    doc["rules"]["online_district"]["channels"] = ["hook", "mail"]
    alerts = parse_alerts(doc, config)
    env = {"TEST_ALERT_HOOK": http_receiver.url, "SMTP_HOST": "127.0.0.1"}
    for _ in range(4):  # pending, firing, firing, firing: one transition worth sending
        evaluate_after_load(wh, datetime.now(UTC), alerts=alerts, env=env)
    assert [b["event"] for b, _ in http_receiver.bodies] == ["firing"]
    assert http_receiver.statuses == [503, 200]  # failed once, retried, delivered once
    body = http_receiver.bodies[0][0]
    assert (body["unit"], body["severity"], body["value"]) == ("Q8", "critical", 50.0)
    assert body["link"].startswith("/units/Q8?metric=online_rate&start=")
    assert body["reason"] == body["reason_text"]["en"]
    assert "is below the critical threshold" in body["reason"]
    assert "thấp hơn ngưỡng nghiêm trọng" in body["reason_text"]["vi"]
    assert len(inbox.messages) == 1
    mail = email.message_from_bytes(inbox.messages[0].content, policy=email.policy.default)
    assert mail["Subject"].startswith("[IOC] CẢNH BÁO [critical]")
    assert "lý do: " + body["reason_text"]["vi"] in mail.get_content()
    sent = scalar(wh.cursor(), "SELECT count(*) FROM alert_delivery WHERE status = 'sent'")
    assert sent == 2


def test_a_ward_is_named_with_its_district_in_a_notification(config):
    """ "Phường 4" is in several districts: the message says which."""
    from metrics.alerts.notify import message

    alerts = parse_alerts(json.loads(json.dumps(RULES)), config)
    row = {"alert_key": "k", "event_id": 1, "event": "firing", "to_state": "firing",
           "unit_code": "Q8-P04", "metric": "online_rate"}  # fmt: skip
    assert message(row, config, alerts)["unit_name"] == {"vi": "Phường 4, Quận 8",
                                                         "en": "Ward 4, District 8"}  # fmt: skip
