"""SLA clocks as shown on a ticket (staff only) and in the breach report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from sla.models import SlaClock


def _seconds_left(clock: SlaClock, now: datetime) -> int | None:
    left = clock.time_left(now)
    return None if left is None else int(left.total_seconds())


class ClockSerializer(serializers.ModelSerializer):
    """One clock: state, due time and time left (negative when overdue; while paused, the
    business time that will be left when it resumes)."""

    time_left_seconds = serializers.SerializerMethodField()
    policy = serializers.CharField(source="policy_name", read_only=True)

    class Meta:
        model = SlaClock
        fields = [
            "id", "stage", "cycle", "state", "level", "policy", "target_seconds", "started_at",
            "due_at", "time_left_seconds", "paused_at", "breached_at", "stopped_at",
        ]
        read_only_fields = fields

    def get_time_left_seconds(self, clock: SlaClock) -> int | None:
        return _seconds_left(clock, self.context.get("now") or timezone.now())


class BreachSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    reference = serializers.CharField(
        source="ticket.reference", default=None, read_only=True, allow_null=True
    )
    priority = serializers.CharField(
        source="ticket.priority", default=None, read_only=True, allow_null=True
    )
    policy = serializers.CharField(source="policy_name", read_only=True)
    overdue_seconds = serializers.SerializerMethodField()

    class Meta:
        model = SlaClock
        fields = [
            "id", "subject", "ticket_id", "reference", "priority", "incident_id", "stage",
            "cycle", "policy", "target_seconds", "started_at", "due_at", "breached_at",
            "stopped_at", "level", "overdue_seconds",
        ]
        read_only_fields = fields

    def get_subject(self, clock: SlaClock) -> str:
        return "ticket" if clock.ticket_id else "incident"

    def get_overdue_seconds(self, clock: SlaClock) -> int:
        return overdue_seconds(clock, self.context.get("now") or timezone.now())


def overdue_seconds(clock: SlaClock, now: datetime) -> int:
    """How late it was met (stopped) or is so far (still open)."""
    if clock.breached_at is None:
        return 0
    return max(0, int(((clock.stopped_at or now) - clock.breached_at).total_seconds()))


CSV_FIELDS = BreachSerializer.Meta.fields


def csv_row(clock: SlaClock, now: datetime) -> list[Any]:
    data = BreachSerializer(clock, context={"now": now}).data
    return [data[f] for f in CSV_FIELDS]
