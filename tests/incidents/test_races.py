"""Dedup under real concurrency (PostgreSQL): repeats of one dedup key racing each other over
the API, and one Alertmanager notification delivered by several senders at once (an HA pair),
end with one incident and each alert recorded once. SQLite serialises whole transactions:
nothing to race there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection

from incidents.models import AlertOccurrence, Incident, IncidentEvent
from sla.models import SlaClock
from tests.concurrency import run_concurrently
from tests.conftest import api_client_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no row locks and serialises writers: races need PostgreSQL",
    ),
]


@pytest.mark.parametrize("rep", range(3))
def test_racing_repeats_of_one_dedup_key_open_one_incident(ian, rep):
    clients = [api_client_for(ian) for _ in range(12)]
    responses = []

    def post(client):
        def go():
            responses.append(client.post(
                "/api/v1/incidents/",
                {"title": "DB down", "severity": "sev1", "dedup_key": f"db-{rep}"},
                format="json",
            ))
        return go

    assert run_concurrently([post(c) for c in clients]) == []

    assert sorted(r.status_code for r in responses) == [200] * 11 + [201]
    incident = Incident.objects.get()
    assert {r.json()["id"] for r in responses} == {incident.pk}
    assert IncidentEvent.objects.filter(kind="repeated").count() == 11
    assert SlaClock.objects.filter(incident_id=incident.pk, stage="classify").count() == 1


def test_one_notification_from_several_senders_at_once_is_applied_once(ian):
    body = json.loads(
        (Path(__file__).parent / "alertmanager_0_25" / "001-firing.json").read_text()
    )
    # Half byte-identical (stopped by the stored body's hash), half with the alerts in the
    # other order (they get past it and race on the incident and the alerts themselves).
    other = {**body, "alerts": body["alerts"][::-1]}
    clients = [api_client_for(ian) for _ in range(8)]
    responses = []

    def post(client, payload):
        def go():
            responses.append(client.post("/api/v1/integrations/alertmanager/", payload,
                                         format="json"))
        return go

    assert run_concurrently(
        [post(c, body if i % 2 else other) for i, c in enumerate(clients)]
    ) == []

    assert all(r.status_code == 200 for r in responses)
    assert Incident.objects.count() == 1
    assert AlertOccurrence.objects.count() == 2
    assert IncidentEvent.objects.filter(kind="alert_fired").count() == 2
