"""Agents work their queue in the admin: they can log in, see tickets and act on them, and
what they do lands on the timeline like API actions do."""

from __future__ import annotations

import pytest

from tests.tickets.factories import CategoryFactory, TicketFactory
from tickets.models import Ticket, TicketEvent


@pytest.fixture
def ticket(alice):
    return TicketFactory(customer=alice, subject="Printer on fire")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["agnes", "max_manager"])
def test_it_lets_staff_search_the_ticket_list(client, ticket, who, request):
    client.force_login(request.getfixturevalue(who))

    resp = client.get("/admin/tickets/ticket/", {"q": "fire"})

    assert resp.status_code == 200
    assert ticket.reference in resp.content.decode()


@pytest.mark.django_db
def test_it_keeps_customers_out_of_the_admin(client, alice):
    client.force_login(alice)

    resp = client.get("/admin/tickets/ticket/")

    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]


@pytest.mark.django_db
def test_it_records_an_agents_edit_on_the_timeline(client, agnes, ticket):
    category = CategoryFactory(slug="hardware")
    client.force_login(agnes)

    resp = client.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "priority": "high", "category": category.pk, "new_status": "pending",
            "reply": "Please send a photo", "reply_internal": "",
            "comments-TOTAL_FORMS": "0", "comments-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
        },
    )

    assert resp.status_code == 302, resp.content.decode()[:2000]
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.category, ticket.status) == ("high", category, "pending")
    assert ticket.first_response_at is not None
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [
        TicketEvent.Kind.PRIORITY_CHANGED, TicketEvent.Kind.CATEGORIZED,
        TicketEvent.Kind.COMMENTED, TicketEvent.Kind.STATUS_CHANGED,
        TicketEvent.Kind.STATUS_CHANGED,
        TicketEvent.Kind.QUEUED,  # categorized by hand -> routed; no agent has the skill here
    ]
    assert set(ticket.events.values_list("actor", flat=True)) == {agnes.pk}


@pytest.mark.django_db
def test_it_resolves_tickets_in_bulk(client, agnes, ticket):
    closed = TicketFactory(status=Ticket.Status.CLOSED)
    client.force_login(agnes)

    client.post(
        "/admin/tickets/ticket/",
        {"action": "mark_resolved", "_selected_action": [ticket.pk, closed.pk]},
    )

    ticket.refresh_from_db()
    closed.refresh_from_db()
    assert ticket.status == Ticket.Status.RESOLVED
    assert closed.status == Ticket.Status.CLOSED  # a closed ticket cannot be resolved
