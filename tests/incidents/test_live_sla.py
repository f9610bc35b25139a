"""End to end with real processes: a live HTTP server, `manage.py qcluster` and
`manage.py sla_watch` on the test database. An integration posts an incident detected 14 min
55 s ago; the classify stage (15 min) breaches 5 s later and is escalated within seconds of
its deadline, exactly once, and its notification is delivered by the cluster."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from incidents.models import IncidentEvent
from sla.models import Escalation, Notification
from tests.conftest import api_token
from tests.incidents.live import django_env, manage, running, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="other processes cannot reach SQLite's in-memory test database"),
]


def post_json(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the live test server
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def test_a_stage_due_in_5_s_is_escalated_within_seconds_of_its_deadline(
    live_server, ian, max_manager, tmp_path
):
    env = django_env(DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    with running(manage("qcluster"), manage("sla_watch", "--interval", "0.5"), env=env,
                 logs=tmp_path):
        detected = timezone.now() - timedelta(minutes=14, seconds=55)
        incident = post_json(f"{live_server.url}/api/v1/incidents/", api_token(ian),
                             {"title": "Payments API down", "severity": "sev2",
                              "detected_at": detected.isoformat()})
        classify = next(s for s in incident["stages"] if s["stage"] == "classify")
        assert 0 < classify["time_left_seconds"] <= 5

        breach = wait_for(lambda: Escalation.objects.filter(
            clock__incident_id=incident["id"], clock__stage="classify", level=2).first(),
            timeout=30)
        sent = wait_for(lambda: Notification.objects.filter(
            escalation=breach, channel="email", status="sent").first(), timeout=30)

    lateness = (breach.created_at - breach.step_at).total_seconds()
    assert 0 <= lateness < 3, lateness  # watcher passes every 0.5 s
    assert breach.step_at == detected + timedelta(minutes=15)
    assert max_manager.email in sent.recipients
    assert Escalation.objects.filter(clock__incident_id=incident["id"],
                                     clock__stage="classify", level=2).count() == 1
    assert IncidentEvent.objects.filter(incident_id=incident["id"],
                                        kind="sla_breached").exists()
