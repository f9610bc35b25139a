"""django-q2 entry points of the incidents app."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from incidents.models import AlertNotification


def purge_alert_notifications() -> int:
    """Daily: forget stored webhook bodies older than ALERT_NOTIFICATION_RETENTION_DAYS (the
    incidents, their alerts and timelines stay; a very late repeat is still recognised by
    its alerts, which are unique per occurrence)."""
    cutoff = timezone.now() - timedelta(days=settings.ALERT_NOTIFICATION_RETENTION_DAYS)
    return AlertNotification.objects.filter(received_at__lt=cutoff).delete()[0]
