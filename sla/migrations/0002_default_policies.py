from __future__ import annotations

from django.db import migrations


def seed(apps, schema_editor):
    from sla.defaults import seed_default_policies

    # sla/defaults.py documents the targets; it is only ever used to create missing defaults.
    seed_default_policies(apps.get_model("sla", "SlaPolicy"), schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
