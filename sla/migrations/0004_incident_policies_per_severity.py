"""Incident targets per severity (issue 9): one policy per SEV1-SEV4 beside the generic
"Incidents", and the incident stages learn "reopened" (resolve and status updates start again,
the post-mortem waits). Existing rows are only changed where they still hold the old seeded
stages: a policy a manager edited is left as it is."""

from __future__ import annotations

from django.db import migrations

OLD_STAGE_NAMES_AND_STARTS = {
    "detect": ["opened"], "classify": ["detected"], "respond": ["detected"],
    "resolve": ["detected"], "postmortem": ["resolved"], "status_update": ["detected",
                                                                          "status_update"],
}


def _is_old_default(stages):
    try:
        return {s["name"]: s["start_on"] for s in stages} == OLD_STAGE_NAMES_AND_STARTS
    except (KeyError, TypeError):
        return False


def forwards(apps, schema_editor):
    from sla.defaults import INCIDENT_STAGES, incident_policies

    policy = apps.get_model("sla", "SlaPolicy")
    manager = policy.objects.using(schema_editor.connection.alias)
    for row in manager.filter(kind="incident"):
        if _is_old_default(row.stages):
            row.stages = INCIDENT_STAGES
            row.save(update_fields=["stages", "updated_at"])
    for fields in incident_policies():
        taken = manager.filter(kind="incident", priority=fields["priority"], is_active=True,
                               category__isnull=True).exists()
        if not taken and not manager.filter(name=fields["name"]).exists():
            manager.create(**fields)


class Migration(migrations.Migration):
    dependencies = [("sla", "0003_breach_report")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
