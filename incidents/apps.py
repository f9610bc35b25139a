from __future__ import annotations

from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    default_auto_field = "django.db.models.BigAutoField"

    # Staff work on incidents; integrations open them over the API (no model permissions:
    # the API checks roles), customers never see them.
    role_permissions = {
        "agent": [
            "view_incident", "change_incident", "view_incidentevent", "view_statusupdate",
            "add_statusupdate", "view_incidentticket", "view_alertoccurrence",
            "view_postmortem", "change_postmortem", "add_postmortem", "view_actionitem",
            "add_actionitem", "change_actionitem",
        ],
        "manager": [
            "view_incident", "add_incident", "change_incident", "view_incidentevent",
            "view_statusupdate", "add_statusupdate", "view_incidentticket",
            "view_alertoccurrence", "view_alertnotification", "view_postmortem",
            "change_postmortem", "add_postmortem", "view_actionitem", "add_actionitem",
            "change_actionitem", "delete_actionitem",
        ],
    }

    schedules = [
        {"name": "incidents.purge_alert_notifications",
         "func": "incidents.tasks.purge_alert_notifications", "schedule_type": "D"},
    ]

    def ready(self) -> None:
        from incidents import escalation

        # What SLA escalations of incident stages do (sla.effects).
        escalation.register()
