"""Hand queued tickets to agents with room now (what the SLA watcher does every pass)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from routing import services


class Command(BaseCommand):
    help = "Assign queued tickets to available agents with spare capacity."

    def handle(self, *args: Any, **options: Any) -> None:
        assigned = services.dispatch_all()
        self.stdout.write(f"{assigned} queued ticket(s) assigned.")
