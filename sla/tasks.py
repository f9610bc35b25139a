"""django-q2 entry points: thin wrappers around sla.notifications. At-least-once safe: the
sender claims rows before sending, so a redelivered task sends nothing twice."""

from __future__ import annotations

import logging

from sla.notifications import deliver_batch

log = logging.getLogger(__name__)


def send_notifications(notification_ids: list[int]) -> dict[str, int]:
    """One task per watcher batch (or outbox pass): its webhooks one by one, its e-mails one
    per recipient."""
    try:
        return deliver_batch(notification_ids)
    except Exception:  # recorded per row where possible; the outbox pass retries the rest
        log.exception("SLA notifications %s could not be delivered", notification_ids[:10])
        return {"error": len(notification_ids)}


def audit_overdue() -> int:
    """Every 5 min (django-q2 schedule, sla.apps): clocks whose next escalation is more than
    5 min overdue mean no watcher is escalating. Logs an error (alerting hooks on it) and
    returns the count; independent of the watcher so it still fires when the watcher is dead."""
    from datetime import timedelta

    from django.utils import timezone

    from sla.models import SlaClock

    late = SlaClock.objects.filter(next_check_at__lt=timezone.now() - timedelta(minutes=5)).count()
    if late:
        log.error("SLA audit: %s clocks are more than 5 min past an unrecorded escalation", late)
    return late
