"""The Alertmanager receiver fed the real 0.25 payloads (tests/incidents/alertmanager_0_25):
firing opens one incident per group with each alert recorded once, byte-identical repeats add
nothing, a partial resolve ends one alert, the group's "resolved" (which lists only the alerts
still in it) resolves the incident and every alert, a re-fire opens a new incident."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from incidents.models import AlertNotification, AlertOccurrence, Incident, IncidentEvent
from tests.incidents.conftest import kinds

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/alertmanager/"
HERE = Path(__file__).parent / "alertmanager_0_25"


def payload(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())


@pytest.fixture(autouse=True)
def _around_the_capture():
    # The payloads were captured at 13:44 on 2026-12-04; received two seconds later.
    with time_machine.travel(datetime(2026, 12, 4, 13, 44, 16, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def post(api, ian):
    client = api(ian)

    def send(body):
        return client.post(URL, body, format="json")

    return send


def test_firing_opens_one_incident_with_both_alerts(post):
    response = post(payload("001-firing"))

    assert response.status_code == 200 and response.json()["created"] is True
    incident = Incident.objects.get()
    assert incident.source == "alertmanager" and incident.status == "triggered"
    assert incident.severity == "sev1"  # severity=critical
    assert incident.service == "checkout"
    assert incident.title == "CheckoutErrorRate on checkout"
    assert incident.runbook_url == "https://runbooks.example.org/checkout-5xx"
    assert incident.description == "5xx rate above 5% on web-1\n5xx rate above 5% on web-2"
    assert incident.started_at.isoformat() == "2026-12-04T13:44:14+00:00"
    assert sorted(AlertOccurrence.objects.values_list("fingerprint", flat=True)) == [
        "50617805d5e03c46", "73076cf888f9ae9b"]
    assert kinds(incident) == ["created", "alert_fired", "alert_fired"]


def test_a_byte_identical_repeat_adds_nothing(post):
    post(payload("001-firing"))
    again = post(payload("001-firing"))

    assert again.status_code == 200 and again.json()["status"] == "repeat"
    assert Incident.objects.count() == 1 and AlertOccurrence.objects.count() == 2
    assert IncidentEvent.objects.count() == 3
    assert AlertNotification.objects.count() == 1


def test_a_repeat_that_is_not_byte_identical_still_adds_nothing(post):
    post(payload("001-firing"))
    body = payload("001-firing")
    body["alerts"].reverse()  # same alerts, another order

    assert post(body).json()["fired"] == []
    assert AlertOccurrence.objects.count() == 2 and IncidentEvent.objects.count() == 3


def test_the_whole_sequence_partial_resolve_resolve_and_refire(post, ian):
    post(payload("001-firing"))
    first = Incident.objects.get()

    partial = post(payload("004-partial-resolve")).json()
    assert partial["resolved"] == ["CheckoutErrorRate (web-1)"]
    first.refresh_from_db()
    assert first.is_open
    web1 = AlertOccurrence.objects.get(fingerprint="50617805d5e03c46")
    assert web1.ends_at.isoformat() == "2026-12-04T13:44:40+00:00"

    post(payload("005-resolved"))  # lists only web-2: web-1 must be remembered
    first.refresh_from_db()
    assert first.status == "resolved"
    assert not AlertOccurrence.objects.filter(ends_at__isnull=True).exists()
    assert web1.ends_at == AlertOccurrence.objects.get(pk=web1.pk).ends_at  # kept as it was
    resolved = IncidentEvent.objects.get(incident=first, kind="resolved")
    assert resolved.actor == ian and resolved.data["still_firing"] == []

    refire = post(payload("006-refire")).json()
    assert refire["created"] is True
    second = Incident.objects.exclude(pk=first.pk).get()
    assert second.is_open and second.dedup_key == first.dedup_key
    assert second.alerts.get().starts_at.isoformat() == "2026-12-04T13:45:18+00:00"
    assert first.alerts.count() == 2  # the old occurrences stay with the old incident


def test_groups_are_separate_incidents(post):
    post(payload("001-firing"))
    other = copy.deepcopy(payload("001-firing"))
    other["groupKey"] = '{}:{alertname="DiskFull", service="db"}'
    other["groupLabels"] = {"alertname": "DiskFull", "service": "db"}
    for alert in other["alerts"]:
        alert["fingerprint"] = "aa" + alert["fingerprint"][2:]

    post(other)

    assert Incident.objects.count() == 2


@pytest.mark.parametrize(("label", "severity"), [
    ("critical", "sev1"), ("error", "sev2"), ("warning", "sev3"), ("info", "sev4"),
    ("unheard-of", "sev3"),
])
def test_the_severity_label_maps_to_a_severity(post, label, severity):
    body = payload("001-firing")
    body["commonLabels"]["severity"] = label
    post(body)

    assert Incident.objects.get().severity == severity


def test_a_resolution_for_a_group_with_no_open_incident_opens_nothing(post):
    assert post(payload("005-resolved")).status_code == 200
    assert not Incident.objects.exists()


def test_resolving_by_hand_while_alerts_still_fire_warns(post, api, agnes):
    post(payload("001-firing"))
    incident = Incident.objects.get()

    response = api(agnes).post(f"/api/v1/incidents/{incident.pk}/resolve/", {}, format="json")

    assert "2 alert(s) of its source still firing" in response.json()["warnings"][0]


@pytest.mark.parametrize("mutate", [
    lambda b: b.update(version="3"),
    lambda b: b.pop("groupKey"),
    lambda b: b.update(alerts=[]),
    lambda b: b["alerts"][0].update(startsAt="yesterday"),
    lambda b: b["alerts"][0].update(fingerprint="not hex!"),
    lambda b: b["alerts"][0].update(labels={"severity": 3}),
])
def test_malformed_payloads_are_400_and_store_nothing(post, mutate):
    body = payload("001-firing")
    mutate(body)

    assert post(body).status_code == 400
    assert not AlertNotification.objects.exists() and not Incident.objects.exists()


def test_only_integrations_and_managers_may_post(api, alice, agnes, max_manager):
    assert api(alice).post(URL, payload("001-firing"), format="json").status_code == 403
    assert api(agnes).post(URL, payload("001-firing"), format="json").status_code == 403
    assert api(None).post(URL, payload("001-firing"), format="json").status_code == 401
    assert api(max_manager).post(URL, payload("001-firing"), format="json").status_code == 200


def test_a_large_group_fits_under_the_receivers_own_body_limit(post):
    body = payload("001-firing")
    template = body["alerts"][0]
    body["alerts"] = [{**template, "fingerprint": f"{i:016x}",
                       "labels": {**template["labels"], "instance": f"web-{i}"}}
                      for i in range(700)]
    assert len(json.dumps(body)) > 256 * 1024  # over the other endpoints' limit

    assert post(body).status_code == 200
    assert AlertOccurrence.objects.count() == 700
