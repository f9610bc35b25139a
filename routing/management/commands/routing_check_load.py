"""Audit the denormalised load counters against the tickets (exit 1 on drift), and with --fix
repair them. Drift would mean a write path bypassed routing.services: the audit is how we
would notice."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Count, F, IntegerField, Value
from django.db.models.functions import Greatest

from routing.models import AgentProfile
from tickets.models import Ticket


def open_counts() -> dict[int, int]:
    rows = (
        Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, assignee__isnull=False)
        .values("assignee")
        .annotate(n=Count("pk"))
        .values_list("assignee", "n")
    )
    return dict(rows)


class Command(BaseCommand):
    help = "Check every agent's load against their open assigned tickets."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="set load to the true count")

    def handle(self, *args: Any, fix: bool, **options: Any) -> None:
        counts = open_counts()
        drift = [
            (p, counts.get(p.user_id, 0))
            for p in AgentProfile.objects.select_related("user")
            if p.load != counts.get(p.user_id, 0)
        ]
        for profile, actual in drift:
            self.stdout.write(f"{profile}: load {profile.load}, open assigned tickets {actual}")
            if fix:
                with transaction.atomic():
                    # Under the agent's row lock no assignment or release to them is in flight.
                    AgentProfile.objects.select_for_update().get(pk=profile.pk)
                    actual = Ticket.objects.filter(
                        assignee_id=profile.user_id, status__in=Ticket.OPEN_STATUSES
                    ).count()
                    AgentProfile.objects.filter(pk=profile.pk).update(
                        load=actual,
                        overbooked=Greatest(
                            Value(0), Value(actual) - F("capacity"), output_field=IntegerField()
                        ),
                    )
        if drift and not fix:
            raise CommandError(f"{len(drift)} agent(s) with load drift (run with --fix)")
        self.stdout.write(f"checked, {len(drift)} drifted{' (fixed)' if fix else ''}.")
