"""django-q2 entry points: thin wrappers around sla.notifications. At-least-once safe: deliver()
claims each row before sending, so a redelivered task sends nothing twice."""

from __future__ import annotations

import logging
from collections import Counter

from sla.notifications import deliver

log = logging.getLogger(__name__)


def send_notifications(notification_ids: list[int]) -> dict[str, int]:
    outcomes: Counter[str] = Counter()
    for pk in notification_ids:
        try:
            outcomes[deliver(pk)] += 1
        except Exception:  # one broken row must not keep the others from being sent
            log.exception("SLA notification %s could not be delivered", pk)
            outcomes["error"] += 1
    return dict(outcomes)


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
