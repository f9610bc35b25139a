"""Incidents in the admin: agents see them and act on them through the same flows as the API
(acknowledge, classify, update, link by ticket reference, resolve, publish), the page shows the
stage clocks, updates, tickets, alerts, timeline in words and post-mortem; customers cannot."""

from __future__ import annotations

import pytest

from incidents import postmortem
from incidents.models import Incident
from tests.incidents.factories import open_incident
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(frozen):
    return open_incident(title="Checkout down")


def change_url(incident):
    return f"/admin/incidents/incident/{incident.pk}/change/"


def act(client, incident, **data):
    """Submit the incident page's "Act" form as a browser would (with the inlines' management
    forms the page carries)."""
    page = client.get(change_url(incident))
    management = {}
    for inline in page.context["inline_admin_formsets"]:
        form = inline.formset.management_form
        management.update({form.add_prefix(name): value for name, value in form.initial.items()})
    return client.post(change_url(incident),
                       {**management, "act": "", "update_public": "on", **data})


def test_an_agent_sees_the_incident_page_with_its_clocks_and_timeline(client, agnes, incident):
    client.force_login(agnes)
    page = client.get(change_url(incident))

    assert page.status_code == 200
    html = page.content.decode()
    assert incident.reference in html and "classify" in html and "opened (api, SEV2)" in html
    assert client.get("/admin/incidents/incident/").status_code == 200


def test_agents_act_through_the_flows(client, agnes, alice, incident):
    client.force_login(agnes)
    ticket = TicketFactory(customer=alice)

    assert act(client, incident, act="acknowledge").status_code == 302
    act(client, incident, act="classify", new_severity="sev1", new_service="payments")
    act(client, incident, act="update", update_body="Rolling back the deploy.")
    act(client, incident, act="link", tickets=ticket.reference)
    resolved = act(client, incident, act="resolve", note="rolled back", resolve_tickets="on")
    assert resolved.status_code == 302

    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.commander == agnes
    assert (incident.severity, incident.service) == ("sev1", "payments")
    assert incident.updates.get().body == "Rolling back the deploy."
    assert list(incident.linked_tickets.all()) == [ticket]
    assert list(incident.events.values_list("kind", flat=True)) == [
        "created", "acknowledged", "commander_changed", "classified", "status_update",
        "ticket_linked", "resolved"]


def test_a_refused_action_is_a_message_not_a_crash(client, agnes, incident):
    client.force_login(agnes)
    response = act(client, incident, act="reopen")

    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Only a resolved incident can be reopened" in m for m in messages)


def test_an_unknown_ticket_reference_is_a_form_error(client, agnes, incident):
    client.force_login(agnes)
    response = act(client, incident, act="link", tickets="SB-NOPE0-NOPE0")

    assert response.status_code == 200 and "Unknown references: SB-NOPE0-NOPE0" in (
        response.content.decode())


def test_publishing_the_postmortem_from_the_incident_page(client, agnes, incident):
    from incidents import flows

    flows.resolve(incident=incident, actor=agnes)
    postmortem.save_postmortem(incident=incident, author=agnes,
                               fields={"summary": "Deploy broke checkout", "root_cause": "Bug"})
    client.force_login(agnes)
    act(client, incident, act="publish")

    assert Incident.objects.get(pk=incident.pk).status == "postmortem_published"
    assert "Deploy broke checkout" in client.get(change_url(incident)).content.decode()


def test_customers_cannot_open_the_admin(client, alice, incident):
    client.force_login(alice)
    assert client.get(change_url(incident)).status_code == 302  # to the admin login
