"""/api/v1/incidents/: integrations and staff open incidents (dedup by key), read them with
their stages, updates, tickets, escalations and timeline; staff act on them; customers 403."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident, IncidentEvent
from sla.models import SlaClock
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/incidents/"


def body(**extra):
    return {"title": "Checkout returns 500s", "severity": "sev2", **extra}


def test_an_integration_opens_an_incident_and_gets_its_stages(api, ian):
    started = timezone.now() - timedelta(minutes=2)
    response = api(ian).post(URL, body(service="checkout", started_at=started.isoformat(),
                                       dedup_key="checkout-5xx"), format="json")

    assert response.status_code == 201
    data = response.json()
    incident = Incident.objects.get(pk=data["id"])
    assert incident.source == "api" and incident.opened_by == ian
    assert data["reference"].startswith("INC-") and data["status"] == "triggered"
    stages = {s["stage"]: s for s in data["stages"]}
    assert set(stages) == {"detect", "classify", "respond", "resolve", "status_update"}
    assert stages["detect"]["state"] == "met"
    assert 0 < stages["classify"]["time_left_seconds"] <= 900
    assert [e["kind"] for e in data["timeline"]] == ["created"]


def test_staff_open_incidents_as_staff(api, agnes):
    response = api(agnes).post(URL, body(), format="json")
    assert response.status_code == 201
    assert Incident.objects.get().source == "staff"


def test_a_repeat_of_an_open_dedup_key_adds_to_it(api, ian):
    first = api(ian).post(URL, body(dedup_key="db-down"), format="json")
    again = api(ian).post(URL, body(dedup_key="db-down", title="DB still down"), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Incident.objects.count() == 1
    repeated = IncidentEvent.objects.get(kind="repeated")
    assert repeated.data["title"] == "DB still down"
    assert SlaClock.objects.filter(incident_id=first.json()["id"], stage="classify").count() == 1


def test_after_the_incident_resolved_the_same_key_opens_a_new_one(api, ian, agnes):
    first = api(ian).post(URL, body(dedup_key="db-down"), format="json").json()
    assert api(agnes).post(f"{URL}{first['id']}/resolve/", {}, format="json").status_code == 200

    again = api(ian).post(URL, body(dedup_key="db-down"), format="json")

    assert again.status_code == 201 and again.json()["id"] != first["id"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"severity": "sev2"}, "title"),
    ({"title": "x", "severity": "sev9"}, "severity"),
    ({"title": "x", "severity": "sev2", "status": "resolved"}, "status"),
    ({"title": 5, "severity": "sev2"}, "title"),
    ({"title": "x", "severity": "sev2", "detected_at": "yesterday"}, "detected_at"),
    ({"title": "x", "severity": "sev2", "detected_at": "2099-01-01T00:00:00Z"}, "detected_at"),
    ({"title": "x", "severity": "sev2", "started_at": "2026-01-02T00:00:00Z",
      "detected_at": "2026-01-01T00:00:00Z"}, "started_at"),
    ({"title": "x", "severity": "sev2", "dedup_key": "k" * 256}, "dedup_key"),
])
def test_bad_input_is_a_400_naming_the_field(api, ian, payload, field):
    response = api(ian).post(URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists()


def test_customers_get_403_and_anonymous_401(api, alice, ian):
    incident = api(ian).post(URL, body(), format="json").json()

    for method, path in [("get", URL), ("post", URL), ("get", f"{URL}{incident['id']}/"),
                         ("post", f"{URL}{incident['id']}/acknowledge/")]:
        assert getattr(api(alice), method)(path, body(), format="json").status_code == 403
        assert getattr(api(None), method)(path, body(), format="json").status_code == 401


def test_integrations_cannot_read_tickets_nor_act_on_incidents(api, ian, alice):
    TicketFactory(customer=alice)
    incident = api(ian).post(URL, body(), format="json").json()

    assert api(ian).get("/api/v1/tickets/").status_code == 403
    assert api(ian).post(f"{URL}{incident['id']}/acknowledge/", {}, format="json"
                         ).status_code == 403


def test_integrations_do_not_see_linked_tickets_nor_internal_updates(api, ian, agnes, alice):
    ticket = TicketFactory(customer=alice)
    incident = api(ian).post(URL, body(), format="json").json()
    staff = api(agnes)
    staff.post(f"{URL}{incident['id']}/link/", {"tickets": [ticket.pk]}, format="json")
    staff.post(f"{URL}{incident['id']}/updates/", {"body": "Rolling back", "public": True},
               format="json")
    staff.post(f"{URL}{incident['id']}/updates/", {"body": "Blame DNS", "public": False},
               format="json")

    as_integration = api(ian).get(f"{URL}{incident['id']}/").json()
    as_staff = staff.get(f"{URL}{incident['id']}/").json()

    assert as_integration["linked_tickets"] == []
    assert [u["body"] for u in as_integration["updates"]] == ["Rolling back"]
    assert [t["reference"] for t in as_staff["linked_tickets"]] == [ticket.reference]
    assert [u["body"] for u in as_staff["updates"]] == ["Rolling back", "Blame DNS"]


def test_list_filters_by_status_severity_and_open(api, agnes):
    client = api(agnes)
    a = client.post(URL, body(severity="sev1"), format="json").json()
    client.post(URL, body(severity="sev3"), format="json")
    client.post(f"{URL}{a['id']}/resolve/", {}, format="json")

    def ids(**params):
        return [i["id"] for i in client.get(URL, params).json()["results"]]

    assert ids(severity="sev1") == [a["id"]]
    assert ids(status="resolved") == [a["id"]]
    assert a["id"] not in ids(open="true") and ids(open="false") == [a["id"]]
    assert client.get(URL, {"severity": "sev9"}).status_code == 400
    assert client.get(URL, {"open": "maybe"}).status_code == 400


def test_staff_walk_an_incident_through_its_life(api, agnes, max_manager, alice):
    client = api(agnes)
    incident = client.post(URL, body(), format="json").json()
    path = f"{URL}{incident['id']}/"
    ticket = TicketFactory(customer=alice)

    acked = client.post(f"{path}acknowledge/", {}, format="json").json()
    assert acked["status"] == "acknowledged" and acked["commander"] == "agnes"
    classified = client.post(f"{path}classify/", {"severity": "sev1", "service": "payments"},
                             format="json").json()
    assert (classified["severity"], classified["service"]) == ("sev1", "payments")
    handed = client.post(f"{path}commander/", {"commander": "max"}, format="json").json()
    assert handed["commander"] == "max"
    assert client.post(f"{path}link/", {"tickets": [ticket.pk]}, format="json"
                       ).status_code == 200
    assert client.post(f"{path}mitigate/", {}, format="json").json()["status"] == "mitigated"
    resolved = client.post(f"{path}resolve/", {"note": "rolled back"}, format="json").json()
    assert resolved["status"] == "resolved" and resolved["warnings"] == []
    assert client.post(f"{path}reopen/", {"reason": "again"}, format="json"
                       ).json()["status"] == "acknowledged"
    client.post(f"{path}resolve/", {}, format="json")

    stages = {(s["stage"], s["cycle"]): s["state"] for s in client.get(path).json()["stages"]}
    assert stages[("classify", 1)] == "met" and stages[("respond", 1)] == "met"
    assert stages[("resolve", 2)] == "met" and stages[("postmortem", 1)] == "running"
    texts = [e["text"] for e in client.get(path).json()["timeline"]]
    assert "acknowledged by agnes" in texts and "mitigated by agnes" in texts


def test_impossible_transitions_are_409(api, agnes):
    client = api(agnes)
    incident = client.post(URL, body(), format="json").json()
    path = f"{URL}{incident['id']}/"

    assert client.post(f"{path}reopen/", {}, format="json").status_code == 409
    assert client.post(f"{path}postmortem/publish/", {}, format="json").status_code == 409


def test_linking_an_unknown_ticket_is_a_404_and_a_malformed_id_a_400(api, agnes):
    client = api(agnes)
    incident = client.post(URL, body(), format="json").json()
    path = f"{URL}{incident['id']}/link/"

    missing = client.post(path, {"tickets": [999999]}, format="json")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]
    for bad in (["12"], [0], [2**64]):
        response = client.post(path, {"tickets": bad}, format="json")
        assert response.status_code == 400 and "tickets" in response.json()


def test_unlinking_a_ticket(api, agnes, alice):
    client = api(agnes)
    ticket = TicketFactory(customer=alice)
    incident = client.post(URL, body(), format="json").json()
    path = f"{URL}{incident['id']}/"
    client.post(f"{path}link/", {"tickets": [ticket.pk]}, format="json")

    assert client.delete(f"{path}link/{ticket.pk}/").json()["linked_tickets"] == []
    assert client.delete(f"{path}link/{ticket.pk}/").status_code == 404
    assert list(ticket.events.values_list("kind", flat=True)) == [
        "incident_linked", "incident_unlinked"]
