"""Incident test helpers. Time: T0 (a Monday 09:00 UTC) frozen by `frozen`; the watcher is
swept at chosen instants (tests.sla.conftest.sweep)."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Incident, IncidentEvent
from sla.models import Escalation, SlaClock
from tests.sla.conftest import _fresh_policy_cache, frozen  # noqa: F401 - fixtures used here


def stage(incident: Incident, name: str) -> SlaClock:
    """The incident's latest clock of a stage."""
    return SlaClock.objects.filter(incident_id=incident.pk, stage=name).order_by("-cycle")[0]


def kinds(incident: Incident) -> list[str]:
    return list(IncidentEvent.objects.filter(incident=incident).values_list("kind", flat=True))


def escalations(incident: Incident) -> list[tuple[str, int]]:
    return list(
        Escalation.objects.filter(clock__incident_id=incident.pk)
        .order_by("clock__stage", "level")
        .values_list("clock__stage", "level")
    )


@pytest.fixture
def staff_api(api: Any, agnes: Any) -> Any:
    return api(agnes)
