from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class DeskConfig(AppConfig):
    """The help-desk workspace on top of the admin: the agents' queue, the ticket page's
    presentation, the managers' SLA report (page, CSV, JSON API) and its e-mailed digests."""

    name = "desk"
    default = True  # the app's own config (DeskAdminConfig below configures the admin)
    default_auto_field = "django.db.models.BigAutoField"

    # Digests of the SLA report for managers (desk.digests), each linking to the report page.
    schedules = [
        {"name": "desk.digest_daily", "func": "desk.digests.send_digest", "args": "'daily'",
         "schedule_type": "D"},
        {"name": "desk.digest_weekly", "func": "desk.digests.send_digest", "args": "'weekly'",
         "schedule_type": "W"},
        {"name": "desk.digest_monthly", "func": "desk.digests.send_digest", "args": "'monthly'",
         "schedule_type": "M"},
    ]


class DeskAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site as the default one (Django's documented way to
    replace admin.site), so every app's @admin.register lands on it."""

    default = False
    default_site = "desk.site.DeskAdminSite"
