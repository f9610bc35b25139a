from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    default_auto_field = "django.db.models.BigAutoField"

    # Agents see who is who and set their own availability (admin and PATCH /agents/me/);
    # managers shape the team: capacity, tier, skills.
    role_permissions = {
        "agent": [
            "view_agentprofile", "view_skill", "view_agentskill", "view_routingdecision",
            "set_own_availability",
        ],
        "manager": [
            "view_agentprofile", "add_agentprofile", "change_agentprofile",
            "view_skill", "add_skill", "change_skill",
            "view_agentskill", "add_agentskill", "change_agentskill", "delete_agentskill",
            "view_routingdecision", "set_own_availability",
        ],
    }

    # Backstop for the queue when the SLA watcher (which calls dispatch_all every pass) is not
    # running; one cheap query when nothing is queued.
    schedules = [
        {
            "name": "routing.dispatch_all",
            "func": "routing.tasks.dispatch_all",
            "schedule_type": "I",
            "minutes": 1,
        },
    ]
