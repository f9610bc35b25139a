"""The demo's incidents: one per stage of an incident's life, one about to breach."""

from __future__ import annotations

import pytest
from django.utils import timezone

from incidents.demo import seed_incidents
from incidents.models import Incident
from tests.incidents.conftest import stage

pytestmark = pytest.mark.django_db


def test_the_demo_shows_every_stage_and_one_breaching_soon(agnes, max_manager):
    assert seed_incidents(staff=[agnes], manager=max_manager) == 4
    assert seed_incidents(staff=[agnes], manager=max_manager) == 0  # idempotent

    statuses = set(Incident.objects.values_list("status", flat=True))
    assert statuses == {"triggered", "acknowledged", "resolved", "postmortem_published"}
    soon = stage(Incident.objects.get(status="triggered"), "classify")
    left = (soon.due_at - timezone.now()).total_seconds()
    assert 0 < left <= 180
    login = Incident.objects.get(status="acknowledged")
    assert stage(login, "status_update").state == "running"
