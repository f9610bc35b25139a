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
