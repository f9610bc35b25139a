"""The PagerDuty Events API v2 compatible endpoint: trigger / acknowledge / resolve by dedup
key, with PagerDuty's semantics (a trigger while open adds to it; after a resolve, a trigger
opens a new one; acknowledge or resolve of an unknown key is accepted and ignored)."""

from __future__ import annotations

import pytest

from incidents.models import Incident

pytestmark = pytest.mark.django_db
URL = "/api/v1/integrations/pagerduty/v2/enqueue"


def event(action, key="disk-full-db1", **payload):
    body = {"routing_key": "R0UT1NGKEY0000000000000000000000", "event_action": action,
            "dedup_key": key}
    if action == "trigger":
        body["payload"] = {"summary": "Disk 95% full on db1", "source": "db1",
                           "severity": "error", **payload}
    return body


def test_trigger_acknowledge_resolve(api, ian):
    client = api(ian)
    first = client.post(URL, event("trigger"), format="json")
    again = client.post(URL, event("trigger"), format="json")

    assert first.status_code == again.status_code == 202
    assert first.json() == {"status": "success", "message": "Event processed",
                            "dedup_key": "disk-full-db1"}
    incident = Incident.objects.get()
    assert (incident.source, incident.severity, incident.service) == ("pagerduty", "sev2", "db1")
    assert incident.events.filter(kind="repeated").count() == 1

    client.post(URL, event("acknowledge"), format="json")
    incident.refresh_from_db()
    assert incident.status == "acknowledged" and incident.commander is None  # not the robot

    client.post(URL, event("resolve"), format="json")
    incident.refresh_from_db()
    assert incident.status == "resolved"

    client.post(URL, event("trigger"), format="json")
    assert Incident.objects.count() == 2  # a new incident after the resolve


def test_a_trigger_without_a_key_gets_one(api, ian):
    body = event("trigger")
    del body["dedup_key"]
    response = api(ian).post(URL, body, format="json")

    key = response.json()["dedup_key"]
    assert len(key) == 32 and Incident.objects.get().dedup_key == f"pd:{key}"


def test_acknowledging_an_unknown_key_is_accepted_and_ignored(api, ian):
    assert api(ian).post(URL, event("resolve", key="never-seen"), format="json"
                         ).status_code == 202
    assert not Incident.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"event_action": "trigger", "routing_key": "k"}, "payload"),
    ({"event_action": "resolve", "routing_key": "k"}, "dedup_key"),
    ({"event_action": "explode", "routing_key": "k", "dedup_key": "x"}, "event_action"),
    (event("trigger", severity="apocalyptic"), "payload"),
])
def test_bad_events_are_400(api, ian, body, field):
    response = api(ian).post(URL, body, format="json")
    assert response.status_code == 400 and field in response.json()


def test_customers_may_not_send_events(api, alice):
    assert api(alice).post(URL, event("trigger"), format="json").status_code == 403
