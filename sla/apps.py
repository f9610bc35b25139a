from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA"
    default_auto_field = "django.db.models.BigAutoField"

    # One rule for the admin and the API: cross-ticket SLA data (the clock list, the breach
    # report, escalations) is for managers; agents see the clocks of a ticket where they work on
    # it (the ticket's admin page, GET /api/v1/tickets/{id}/), not lists of everyone's breaches.
    role_permissions = {
        "agent": [],
        "manager": [
            "view_slaclock", "view_breach", "view_escalation", "view_slapolicy", "add_slapolicy",
            "change_slapolicy", "view_webhookendpoint", "add_webhookendpoint",
            "change_webhookendpoint", "delete_webhookendpoint", "view_notification",
            "view_delivery", "view_watcherheartbeat",
        ],
    }

    # Auditor (oncall's check_escalation_finished): independent of the watcher it audits.
    schedules = [
        {"name": "sla.audit_overdue", "func": "sla.tasks.audit_overdue", "schedule_type": "I",
         "minutes": 5},
    ]

    def ready(self) -> None:
        post_migrate.connect(_seed_defaults, sender=self, dispatch_uid="sla.seed_defaults")


def _seed_defaults(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # Migration 0002 seeds the defaults once; this re-seeds only an empty policy table, which is
    # what a test-database flush (TransactionTestCase) leaves behind. To run without SLAs,
    # deactivate the policies instead of deleting them all.
    from sla.defaults import seed_default_policies
    from sla.models import SlaPolicy

    seed_default_policies(SlaPolicy, using)
