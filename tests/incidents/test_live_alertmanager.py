"""The real thing: Debian's prometheus-alertmanager (installed by .ci/run), configured with a
webhook receiver pointing at a live test server, is fed alerts through its own v2 API and
opens, dedups and resolves incidents end to end; a re-fire after the resolution opens a new
one."""

from __future__ import annotations

import json
import shutil
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from incidents.models import AlertOccurrence, Incident
from tests.conftest import api_token
from tests.incidents.live import free_port, running, wait_for

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(BINARY is None, reason="Alertmanager is not installed (.ci/run installs "
                       "Debian's prometheus-alertmanager; apt-get install it to run this)"),
]

CONFIG = """
route:
  receiver: switchboard
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: switchboard
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config:
          authorization:
            type: Token
            credentials: {token}
"""


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def alert(instance: str, starts: datetime, ends: datetime | None = None) -> dict:
    body = {
        "labels": {"alertname": "CheckoutErrorRate", "service": "checkout",
                   "instance": instance, "severity": "critical"},
        "annotations": {"summary": f"5xx rate above 5% on {instance}",
                        "runbook_url": "https://runbooks.example.org/checkout-5xx"},
        "startsAt": iso(starts),
    }
    if ends is not None:
        body["endsAt"] = iso(ends)
    return body


def test_alertmanager_opens_dedups_and_resolves_incidents(live_server, ian, tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("the live server thread and SQLite's in-memory test database do not mix")
    port = free_port()
    (tmp_path / "am.yml").write_text(CONFIG.format(
        url=f"{live_server.url}/api/v1/integrations/alertmanager/", token=api_token(ian)))
    command = [BINARY, f"--config.file={tmp_path / 'am.yml'}",
               f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
               "--cluster.listen-address="]
    api = f"http://127.0.0.1:{port}/api/v2/alerts"

    def feed(*alerts: dict) -> None:
        request = urllib.request.Request(
            api, data=json.dumps(list(alerts)).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.status == 200

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1):
                return True
        except OSError:
            return False

    start = datetime.now(UTC) - timedelta(seconds=30)
    with running(command, logs=tmp_path):
        wait_for(ready, timeout=20)
        feed(alert("web-1", start), alert("web-2", start))
        incident = wait_for(lambda: Incident.objects.filter(
            source="alertmanager", alerts__isnull=False).distinct().first(), timeout=20)
        wait_for(lambda: incident.alerts.count() == 2, timeout=20)

        # The same alerts again (a re-send from Prometheus) and a third in the same group.
        feed(alert("web-1", start), alert("web-2", start), alert("web-3", start))
        wait_for(lambda: incident.alerts.count() == 3, timeout=20)

        # All resolved (an endsAt in the past).
        now = datetime.now(UTC)
        feed(*(alert(i, start, now - timedelta(seconds=1)) for i in ("web-1", "web-2", "web-3")))
        wait_for(lambda: Incident.objects.get(pk=incident.pk).status == "resolved", timeout=30)

        # web-1 fires again later: a new occurrence, and a new incident.
        feed(alert("web-1", now + timedelta(seconds=1)))
        second = wait_for(lambda: Incident.objects.exclude(pk=incident.pk).first(), timeout=30)

    assert Incident.objects.count() == 2
    assert incident.severity == "sev1" and incident.service == "checkout"
    assert not AlertOccurrence.objects.filter(incident=incident, ends_at__isnull=True).exists()
    assert second.is_open and second.dedup_key == incident.dedup_key
    assert second.alerts.get().labels["instance"] == "web-1"
