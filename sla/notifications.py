"""Escalation notifications: the outbox rows the watcher writes, and their delivery (email
through Django's mail backend, signed JSON webhooks) run by django-q2 tasks (sla.tasks).

Semantics: at least once, never blocking escalation.
- The watcher inserts Notification rows and enqueues one task in its own transaction.
- A sender *claims* a row with a conditional UPDATE (status pending and no live lease) before
  sending, so a task django-q2 delivers twice, or two senders at once, send it once; a sender
  that dies mid-send leaves a lease that expires (SLA_NOTIFY_LEASE_SECONDS), after which the
  watcher's outbox pass re-enqueues it: the receiver may then see it twice, with the same
  Idempotency-Key (sla-<clock>-<level>) to drop the repeat.
- Webhooks retry only on 429, 5xx and network errors, with exponential backoff (Retry-After is
  honoured), up to SLA_WEBHOOK_MAX_ATTEMPTS; other statuses fail at once. Every attempt is a
  Delivery row with its status code. Redirects are not followed (a 3xx is a failure).
Standard library HTTP (urllib): one POST with a timeout needs no extra dependency.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from observability import metrics
from sla import emails
from sla.effects import Audience, Reached
from sla.models import Delivery, Escalation, Notification, SlaClock, WebhookEndpoint

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Switchboard-Signature"
TIMESTAMP_HEADER = "X-Switchboard-Timestamp"
RETRYABLE = frozenset({429})  # plus every 5xx and network errors (status None)


def build_notifications(
    reached: list[Reached],
    *,
    describe: Callable[[Reached], dict[str, Any]],
    audience: Audience,
    endpoints: Callable[[], list[WebhookEndpoint]],
) -> list[Notification]:
    """Outbox rows for the escalations just reached (superseded warnings are not among them):
    an e-mail row per recipient the subject's handler chose (default: the managers) and one
    POST per active webhook endpoint. `describe(item)` is the subject as the payload shows it;
    `endpoints` is called lazily, at most once per batch."""
    now = timezone.now()
    rows = []
    for item in reached:
        esc = item.escalation
        payload = _payload(esc, item.clock, describe(item))
        common = {
            "escalation": esc,
            "payload": payload,
            "idempotency_key": esc.idempotency_key,
            # The task enqueued with the row should send it within seconds; if it does not
            # (lost task, dead cluster) the outbox pass re-enqueues it after this grace.
            "next_attempt_at": now + timedelta(seconds=settings.SLA_NOTIFY_REQUEUE_SECONDS),
        }
        recipients = item.recipients if item.recipients is not None else audience.managers()
        # One row per address: the sender groups each address's rows into one e-mail.
        rows += [
            Notification(channel=Notification.Channel.EMAIL, recipients=[address], **common)
            for address in dict.fromkeys(recipients)
        ]
        rows += [
            Notification(channel=Notification.Channel.WEBHOOK, endpoint=endpoint, **common)
            for endpoint in endpoints()
        ]
    return rows


def _payload(esc: Escalation, clock: SlaClock, subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "event": f"sla.{esc.kind}",
        "idempotency_key": esc.idempotency_key,
        "level": esc.level,
        "stage": clock.stage,
        "cycle": clock.cycle,
        "policy": clock.policy_name,
        "subject": subject,
        "started_at": clock.started_at.isoformat(),
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
        "step_at": esc.step_at.isoformat(),
        "escalated_at": esc.created_at.isoformat(),
        "actions": esc.actions,
    }


def requeue_due(*, now: datetime, limit: int = 500) -> int:
    """The outbox pass (each watcher pass): pending notifications whose retry is due, or whose
    task never ran, go back to django-q2. Claimed with SKIP LOCKED so concurrent watchers
    split them; next_attempt_at moves forward so the next pass does not enqueue them again."""
    with transaction.atomic():
        ids = list(
            Notification.objects.filter(status=Notification.Status.PENDING,
                                        next_attempt_at__lte=now)
            .order_by("next_attempt_at")  # partial index sla_notification_due
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return 0
        later = now + timedelta(seconds=settings.SLA_NOTIFY_REQUEUE_SECONDS)
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=later)
        for start in range(0, len(ids), 100):
            async_task("sla.tasks.send_notifications", ids[start : start + 100],
                       task_name="sla-notify-retry", group="sla")
    return len(ids)


def _claimable(now: datetime) -> Q:
    return Q(status=Notification.Status.PENDING) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )


def _lease(now: datetime) -> dict[str, Any]:
    lease = timedelta(seconds=settings.SLA_NOTIFY_LEASE_SECONDS)
    return {
        "claimed_until": now + lease,
        "attempts": F("attempts") + 1,
        "next_attempt_at": now + lease + timedelta(seconds=settings.SLA_NOTIFY_REQUEUE_SECONDS),
    }


def deliver(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one notification if it is pending and nobody holds its lease. Returns the outcome:
    "sent", "retry", "failed" or "skipped" (not ours to send). Never raises for a delivery
    failure: that is recorded and retried."""
    now = now or timezone.now()
    if not Notification.objects.filter(_claimable(now), pk=notification_id).update(**_lease(now)):
        return "skipped"
    note = Notification.objects.select_related("endpoint").get(pk=notification_id)
    started = time.monotonic()
    if note.channel == Notification.Channel.EMAIL:
        status_code, error, retry_after = _send_email(note.recipients, [note])
    else:
        status_code, error, retry_after = _post_webhook(note, now)
    return _record(note, now, status_code, error, retry_after, time.monotonic() - started)


def deliver_batch(notification_ids: list[int], *, now: datetime | None = None) -> dict[str, int]:
    """Send a task's notifications: claimed together (one conditional UPDATE with a token, so
    a redelivered task or a second sender gets none of them), each webhook POSTed on its own,
    the e-mails grouped: one e-mail per recipient listing all of theirs. Returns the outcomes
    counted, as deliver's."""
    now = now or timezone.now()
    token = secrets.token_hex(16)
    Notification.objects.filter(_claimable(now), pk__in=notification_ids).update(
        claim_token=token, **_lease(now)
    )
    claimed = list(
        Notification.objects.select_related("endpoint")
        .filter(pk__in=notification_ids, claim_token=token)
        .order_by("pk")
    )
    outcomes: Counter[str] = Counter(skipped=len(set(notification_ids)) - len(claimed))
    emails: dict[tuple[str, ...], list[Notification]] = defaultdict(list)
    for note in claimed:
        if note.channel == Notification.Channel.EMAIL:
            emails[tuple(note.recipients)].append(note)
            continue
        started = time.monotonic()
        status_code, error, retry_after = _post_webhook(note, now)
        outcomes[_record(note, now, status_code, error, retry_after,
                         time.monotonic() - started)] += 1
    for recipients, notes in emails.items():
        started = time.monotonic()
        status_code, error, retry_after = _send_email(list(recipients), notes)
        elapsed = (time.monotonic() - started) / len(notes)
        for note in notes:
            outcomes[_record(note, now, status_code, error, retry_after, elapsed)] += 1
    return {k: v for k, v in outcomes.items() if v}


def _record(
    note: Notification,
    now: datetime,
    status_code: int | None,
    error: str,
    retry_after: float | None,
    elapsed: float,
) -> str:
    ok = error == "" and (status_code is None or 200 <= status_code < 300)
    retryable = not ok and (status_code is None or status_code in RETRYABLE or status_code >= 500)
    if ok:
        outcome, fields = "sent", {"status": Notification.Status.SENT, "sent_at": now,
                                   "next_attempt_at": None, "claimed_until": None}
    elif retryable and note.attempts < settings.SLA_WEBHOOK_MAX_ATTEMPTS:
        wait = backoff_seconds(note.attempts, retry_after)
        at = now + timedelta(seconds=wait)
        # The lease runs until the retry is due: an early duplicate task cannot jump the backoff.
        outcome, fields = "retry", {"next_attempt_at": at, "claimed_until": at}
    else:
        outcome, fields = "failed", {"status": Notification.Status.FAILED,
                                     "next_attempt_at": None, "claimed_until": None}
    with transaction.atomic():
        Delivery.objects.create(
            notification=note,
            attempt=note.attempts,
            status_code=status_code,
            error=error[:500],
            duration_ms=round(elapsed * 1000),
            created_at=now,
        )
        Notification.objects.filter(pk=note.pk).update(
            last_status_code=status_code, last_error=error[:500], **fields
        )
    if outcome == "failed":
        log.warning("SLA notification %s failed for good: %s %s", note.pk, status_code, error,
                    extra={"notification": note.idempotency_key, "channel": note.channel})
    metrics.notification_attempt(channel=note.channel, outcome=outcome, status_code=status_code)
    return outcome


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """30 s, 60 s, 120 s, ... (SLA_WEBHOOK_BACKOFF_SECONDS doubled per attempt), at most an
    hour; a server's Retry-After wins when it asks for longer (also capped)."""
    base = settings.SLA_WEBHOOK_BACKOFF_SECONDS * 2 ** max(attempt - 1, 0)
    return min(max(base, retry_after or 0), 3600)


def _send_email(
    recipients: list[str], notes: list[Notification]
) -> tuple[int | None, str, float | None]:
    subject, body = emails.render([note.payload for note in notes])
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception as exc:  # any mail failure is retried like a network error
        return None, f"{exc.__class__.__name__}: {exc}", None
    return None, "", None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>" (Stripe's scheme: the timestamp is signed too, so
    a captured request cannot be replayed later with a fresh timestamp)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str, *, timestamp: str, body: bytes, header: str, now: float, tolerance: int = 300
) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), header)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx surfaces as HTTPError: never re-POST somewhere else


_opener = urllib.request.build_opener(_NoRedirect)


def _post_webhook(note: Notification, now: datetime) -> tuple[int | None, str, float | None]:
    endpoint = note.endpoint
    if endpoint is None or not endpoint.url.lower().startswith(("https://", "http://")):
        return 0, "endpoint missing or not http(s)", None
    body = json.dumps(note.payload, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Switchboard-SLA/1",
            "Idempotency-Key": note.idempotency_key,
            "X-Switchboard-Event": note.payload.get("event", ""),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(endpoint.secret, timestamp, body),
        },
    )
    try:
        # Validated at start-up to end within the lease and the task timeout (config/settings).
        with _opener.open(request, timeout=settings.SLA_WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(65536)  # bounded: a huge body cannot tie the worker up
            return response.status, "", None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}", _retry_after(exc.headers.get("Retry-After"))
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:500], None


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # HTTP-date form: fall back to our own backoff
