"""Linked tickets hear from the incident: public updates become replies on each (exactly once,
however often the relay task runs), internal ones never do; resolving the incident can resolve
them. The customer sees it on their own ticket."""

from __future__ import annotations

import pytest
from django_q.models import OrmQ

from incidents import flows, linking
from incidents.models import UpdateReply
from tests.incidents.factories import open_incident
from tests.tickets.factories import TicketFactory
from tickets import incident_relay
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(alice, bob, agnes, frozen):
    incident = open_incident()
    tickets = [TicketFactory(customer=alice), TicketFactory(customer=bob),
               TicketFactory(customer=bob, status=Ticket.Status.CLOSED)]
    linking.link_tickets(incident=incident, tickets=tickets, actor=agnes)
    return incident, tickets


def queued_tasks():
    return [q.task["func"] for q in OrmQ.objects.all()]


def test_a_public_update_is_relayed_once_to_each_open_linked_ticket(linked, agnes):
    incident, (a, b, closed) = linked
    update = flows.post_update(incident=incident, author=agnes, body="We found the cause.")
    assert queued_tasks() == ["tickets.incident_relay.relay_update"]

    assert incident_relay.relay_update(update.pk) == 2
    assert incident_relay.relay_update(update.pk) == 0  # a redelivered task posts nothing

    for ticket in (a, b):
        reply = Comment.objects.get(ticket=ticket)
        assert "We found the cause." in reply.body and incident.reference in reply.body
        assert reply.author == agnes and not reply.internal
    assert not Comment.objects.filter(ticket=closed).exists()
    assert UpdateReply.objects.count() == 2
    a.refresh_from_db()
    assert a.first_response_at is not None  # a person answered the customer


def test_internal_updates_are_never_relayed(linked, agnes):
    incident, _ = linked
    update = flows.post_update(incident=incident, author=agnes, body="DB on fire", public=False)

    assert queued_tasks() == []
    assert incident_relay.relay_update(update.pk) == 0
    assert not Comment.objects.exists()


def test_the_customer_reads_the_update_on_their_own_ticket(linked, agnes, api, alice):
    incident, (a, _, _) = linked
    incident_relay.relay_update(
        flows.post_update(incident=incident, author=agnes, body="Fixed, monitoring.").pk
    )

    detail = api(alice).get(f"/api/v1/tickets/{a.pk}/").json()

    assert any("Fixed, monitoring." in c["body"] for c in detail["comments"])


def test_resolving_with_resolve_tickets_resolves_the_linked_open_ones(linked, agnes):
    incident, (a, b, closed) = linked
    flows.resolve(incident=incident, actor=agnes, resolve_tickets=True)
    assert "tickets.incident_relay.resolve_linked" in queued_tasks()

    assert incident_relay.resolve_linked(incident.pk, agnes.pk) == 2

    statuses = set(Ticket.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True))
    assert statuses == {"resolved"}
    closed.refresh_from_db()
    assert closed.status == "closed"


def test_resolving_without_it_leaves_tickets_alone(linked, agnes):
    incident, (a, _, _) = linked
    flows.resolve(incident=incident, actor=agnes)

    assert queued_tasks() == []
    a.refresh_from_db()
    assert a.status == "new"


def test_linking_twice_is_a_no_op_and_both_timelines_say_it(linked, agnes):
    incident, (a, _, _) = linked

    assert linking.link_tickets(incident=incident, tickets=[a], actor=agnes) == []
    assert list(a.events.values_list("kind", flat=True)) == ["incident_linked"]
    assert incident.events.filter(kind="ticket_linked").count() == 1
