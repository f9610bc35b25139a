"""Webhook delivery against a real HTTP server on loopback (http.server in a thread): signed
JSON, a stable idempotency key, retries with backoff on 5xx/429/network errors only, a delivery
log, and a lease so a duplicated task sends once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sla.models import Notification
from sla.notifications import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff_seconds,
    deliver,
    requeue_due,
    signature,
    verify_signature,
)
from tests.sla.conftest import T0, sweep
from tests.sla.factories import ClockFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """Answers each POST with the next scripted status and keeps what it received."""

    def __init__(self, statuses: list[int], delay: float = 0) -> None:
        self.statuses = statuses
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "120")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[Any]:
    def make(statuses: list[int], delay: float = 0) -> Receiver:
        made.append(r := Receiver(statuses, delay))
        threading.Thread(target=r.server.serve_forever, args=(0.05,), daemon=True).start()
        return r

    made: list[Receiver] = []
    yield make
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def breach_with_hook(url: str) -> Notification:
    WebhookEndpointFactory(url=url)
    ClockFactory(warn_at=None, next_check_at=T0 + timedelta(hours=1))
    sweep(T0 + timedelta(hours=1))
    return Notification.objects.get(channel="webhook")


def test_it_retries_a_500_with_backoff_then_delivers(receiver, settings):
    hook = receiver([500, 200])
    note = breach_with_hook(hook.url)
    at = T0 + timedelta(hours=1, seconds=1)

    assert deliver(note.pk, now=at) == "retry"
    note.refresh_from_db()
    assert note.status == "pending" and note.attempts == 1
    assert note.next_attempt_at == at + timedelta(seconds=settings.SLA_WEBHOOK_BACKOFF_SECONDS)
    assert deliver(note.pk, now=at + timedelta(seconds=5)) == "skipped"  # backoff holds
    assert requeue_due(now=at + timedelta(seconds=5)) == 0

    retry_at = note.next_attempt_at
    assert requeue_due(now=retry_at) == 1  # the watcher's outbox pass re-enqueues it
    assert deliver(note.pk, now=retry_at) == "sent"

    note.refresh_from_db()
    assert note.status == "sent" and note.sent_at == retry_at
    assert list(note.deliveries.order_by("attempt").values_list("status_code", flat=True)) == [
        500, 200,
    ]
    keys = {r["headers"]["Idempotency-Key"] for r in hook.requests}
    assert keys == {f"sla-{note.escalation.clock_id}-2"}  # stable across attempts


# Known-answer vector computed outside Python:
#   printf '1700000000.{"event":"sla.breach","level":2}' | openssl dgst -sha256 -hmac s3cret
KAT_BODY = b'{"event":"sla.breach","level":2}'
KAT_SIGNATURE = "sha256=b7f8a819efb61ad947e0f27bae44d97004b15e66cca72171bf50fefcec640c67"


def test_it_signs_timestamp_dot_body_with_hmac_sha256():
    assert signature("s3cret", "1700000000", KAT_BODY) == KAT_SIGNATURE


@pytest.mark.parametrize(("secret", "timestamp", "body", "now", "ok"), [
    ("s3cret", "1700000000", KAT_BODY, 1_700_000_000, True),
    ("s3cret", "1700000000", KAT_BODY, 1_700_000_300, True),  # at the tolerance
    ("s3cret", "1700000000", KAT_BODY, 1_700_000_301, False),  # stale: a replay
    ("wrong", "1700000000", KAT_BODY, 1_700_000_000, False),
    ("s3cret", "1700000001", KAT_BODY, 1_700_000_000, False),  # timestamp is signed too
    ("s3cret", "1700000000", KAT_BODY + b" ", 1_700_000_000, False),
    ("s3cret", "soon", KAT_BODY, 1_700_000_000, False),
])
def test_a_receiver_verifies_the_known_answer(secret, timestamp, body, now, ok):
    assert verify_signature(
        secret, timestamp=timestamp, body=body, header=KAT_SIGNATURE, now=now
    ) is ok


def test_it_sends_the_signature_a_receiver_computes_itself(receiver):
    hook = receiver([200])
    note = breach_with_hook(hook.url)
    at = T0 + timedelta(hours=1, seconds=1)
    deliver(note.pk, now=at)

    request = hook.requests[0]
    headers, body = request["headers"], request["body"]
    # What any receiver does with the shared secret, independently of sla.notifications.
    expected = hmac.new(b"s3cret", headers[TIMESTAMP_HEADER].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert headers[TIMESTAMP_HEADER] == str(int(at.timestamp()))
    payload = json.loads(body)
    assert payload["event"] == "sla.breach" and payload["level"] == 2
    assert payload["subject"]["type"] == "ticket"


@pytest.mark.parametrize(("status", "outcome"), [
    (400, "failed"), (404, "failed"), (301, "failed"), (429, "retry"), (503, "retry"),
])
def test_it_retries_only_429_and_5xx(receiver, status, outcome):
    note = breach_with_hook(receiver([status]).url)

    assert deliver(note.pk, now=T0 + timedelta(hours=2)) == outcome
    note.refresh_from_db()
    assert note.last_status_code == status


def test_it_honours_retry_after_on_429(receiver):
    note = breach_with_hook(receiver([429]).url)
    at = T0 + timedelta(hours=2)
    deliver(note.pk, now=at)

    note.refresh_from_db()
    assert note.next_attempt_at == at + timedelta(seconds=120)


def test_it_retries_network_errors():
    note = breach_with_hook("http://127.0.0.1:9/closed")  # discard port: connection refused

    assert deliver(note.pk, now=T0 + timedelta(hours=2)) == "retry"
    delivery = note.deliveries.get()
    assert delivery.status_code is None and delivery.error


def test_it_gives_up_after_the_last_attempt(receiver, settings):
    settings.SLA_WEBHOOK_MAX_ATTEMPTS = 2
    note = breach_with_hook(receiver([500, 500, 500]).url)
    at = T0 + timedelta(hours=2)

    assert deliver(note.pk, now=at) == "retry"
    assert deliver(note.pk, now=at + timedelta(hours=1)) == "failed"
    note.refresh_from_db()
    assert note.status == "failed" and note.next_attempt_at is None


def test_a_duplicate_task_does_not_send_twice(receiver):
    hook = receiver([200, 200])
    note = breach_with_hook(hook.url)
    at = T0 + timedelta(hours=2)

    assert deliver(note.pk, now=at) == "sent"
    assert deliver(note.pk, now=at) == "skipped"
    assert len(hook.requests) == 1


def test_a_failing_webhook_does_not_block_escalation(receiver):
    note = breach_with_hook(receiver([500] * 10).url)
    deliver(note.pk, now=T0 + timedelta(hours=2))

    assert note.escalation.clock.escalations.filter(level=2).exists()
    sweep(T0 + timedelta(hours=1, minutes=31))  # second level still comes
    assert note.escalation.clock.escalations.filter(level=3).exists()


def test_backoff_doubles_and_is_capped():
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff_seconds(20) == 3600
    assert backoff_seconds(1, retry_after=300) == 300


def test_it_gives_up_on_a_slow_receiver_after_the_configured_timeout(receiver, settings):
    settings.SLA_WEBHOOK_TIMEOUT_SECONDS = 0.2
    note = breach_with_hook(receiver([200], delay=1.0).url)

    assert deliver(note.pk, now=T0 + timedelta(hours=2)) == "retry"
    attempt = note.deliveries.get()
    assert attempt.status_code is None and "timed out" in attempt.error
    assert 150 <= attempt.duration_ms < 900  # the setting, not a hidden cap, decided
