"""Periodic django-q2 jobs, declared by each app on its AppConfig and kept in sync with the
code on every migrate (created by name, updated in place, never duplicated):

    schedules = [{"name": "tickets.purge_idempotency_records", "func": "path.to.func",
                  "schedule_type": "D"}]          # or "minutes": 15 with schedule_type "I"

Only coarse periodic work belongs here: django-q2's scheduler ticks every ~30 s with a
one-minute minimum, far too coarse for SLA deadlines (those are the sla watcher's job)."""

from __future__ import annotations

from typing import Any

from django.apps import apps


def sync_schedules() -> list[str]:
    from django_q.models import Schedule

    names = []
    for config in apps.get_app_configs():
        for spec in getattr(config, "schedules", []):
            spec = dict(spec)
            name = spec.pop("name")
            Schedule.objects.update_or_create(name=name, defaults={"repeats": -1, **spec})
            names.append(name)
    return names


def sync_schedules_after_migrate(sender: Any, **kwargs: Any) -> None:
    if sender.name == "django_q" or sender.name == "tickets":
        # Both orders of migration must work: run once the Schedule table surely exists.
        from django.db import connection

        if "django_q_schedule" in connection.introspection.table_names():
            sync_schedules()
