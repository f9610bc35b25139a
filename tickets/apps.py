from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TicketsConfig(AppConfig):
    name = "tickets"
    default_auto_field = "django.db.models.BigAutoField"

    # Permissions each role's group gets for this app's models (see tickets.roles).
    role_permissions = {
        "agent": [
            "view_ticket", "change_ticket", "view_comment", "add_comment",
            "view_ticketevent", "view_category",
        ],
        "manager": [
            "view_ticket", "change_ticket", "view_comment", "add_comment",
            "view_ticketevent", "view_category", "add_category", "change_category",
        ],
    }

    schedules = [
        {
            "name": "tickets.purge_idempotency_records",
            "func": "tickets.api.idempotency.purge_expired",
            "schedule_type": "H",
        },
        {
            "name": "tickets.purge_expired_tokens",
            "func": "tickets.api.authentication.purge_expired_tokens",
            "schedule_type": "H",
        },
    ]

    def ready(self) -> None:
        from tickets import escalation
        from tickets.roles import sync_roles_after_migrate
        from tickets.schedules import sync_schedules_after_migrate

        # Groups and their permissions follow the code on every migrate (idempotent), so a new
        # permission reaches existing deployments without a hand-written data migration.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="tickets.sync_roles")
        post_migrate.connect(sync_schedules_after_migrate, dispatch_uid="tickets.sync_schedules")
        # What SLA escalations do to tickets, and the routing queue's per-pass top-up.
        escalation.register()
