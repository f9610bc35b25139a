"""Replies and internal notes, and what they do to the ticket's lifecycle."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.tickets.factories import TicketFactory
from tickets import services
from tickets.models import Ticket, TicketEvent


def comments_url(ticket):
    return f"/api/v1/tickets/{ticket.pk}/comments/"


@pytest.fixture
def ticket(alice):
    return TicketFactory(customer=alice)


def set_status(ticket, status):
    with transaction.atomic():
        services.change_status(ticket=ticket, status=status, actor=None).flush()


@pytest.mark.django_db
def test_it_lets_the_customer_reply(api, alice, ticket):
    resp = api(alice).post(comments_url(ticket), {"body": "Still broken"}, format="json")

    assert resp.status_code == 201
    assert resp.json()["author"] == "alice" and isinstance(resp.json()["id"], int)
    assert ticket.events.get().kind == TicketEvent.Kind.COMMENTED


@pytest.mark.django_db
def test_it_marks_the_first_agent_reply_as_first_response(api, agnes, ticket):
    api(agnes).post(comments_url(ticket), {"body": "Looking at it"}, format="json")
    ticket.refresh_from_db()
    first = ticket.first_response_at
    api(agnes).post(comments_url(ticket), {"body": "Fixed?"}, format="json")
    ticket.refresh_from_db()

    assert first is not None and ticket.first_response_at == first
    assert ticket.status == Ticket.Status.OPEN


@pytest.mark.django_db
def test_it_does_not_count_an_internal_note_as_a_response(api, agnes, ticket):
    resp = api(agnes).post(
        comments_url(ticket), {"body": "VIP customer", "internal": True}, format="json"
    )
    ticket.refresh_from_db()

    assert resp.status_code == 201
    assert ticket.first_response_at is None
    assert ticket.status == Ticket.Status.NEW


@pytest.mark.django_db
def test_it_refuses_internal_notes_from_customers(api, alice, ticket):
    resp = api(alice).post(comments_url(ticket), {"body": "x", "internal": True}, format="json")

    assert resp.status_code == 403
    assert not ticket.comments.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Ticket.Status.PENDING, Ticket.Status.RESOLVED])
def test_it_reopens_on_customer_reply(api, alice, ticket, status):
    set_status(ticket, status)

    api(alice).post(comments_url(ticket), {"body": "It's back"}, format="json")
    ticket.refresh_from_db()

    assert ticket.status == Ticket.Status.OPEN
    assert ticket.resolved_at is None
    reopen = ticket.events.filter(kind=TicketEvent.Kind.STATUS_CHANGED).last()
    assert reopen.data == {"old": status, "new": "open", "reason": "customer reply"}
    assert reopen.actor == alice


@pytest.mark.django_db
def test_it_refuses_replies_to_closed_tickets(api, alice, ticket):
    set_status(ticket, Ticket.Status.CLOSED)

    resp = api(alice).post(comments_url(ticket), {"body": "hello?"}, format="json")

    assert resp.status_code == 409
    assert not ticket.comments.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "body"), ({"body": ""}, "body"), ({"body": 5}, "body"),
     ({"body": "x", "internal": "yes"}, "internal"), ({"body": "x", "pin": True}, "pin")],
)
def test_it_validates_comments(api, agnes, ticket, body, field):
    resp = api(agnes).post(comments_url(ticket), body, format="json")

    assert resp.status_code == 400
    assert field in resp.json()


@pytest.mark.django_db
def test_it_hides_internal_note_events_from_the_customer_timeline(api, alice, agnes, ticket):
    api(agnes).post(comments_url(ticket), {"body": "VIP", "internal": True}, format="json")
    api(agnes).post(comments_url(ticket), {"body": "On it"}, format="json")

    customer_view = api(alice).get(f"/api/v1/tickets/{ticket.pk}/").json()["timeline"]
    agent_view = api(agnes).get(f"/api/v1/tickets/{ticket.pk}/").json()["timeline"]

    assert [e["kind"] for e in customer_view] == ["commented", "status_changed"]
    assert customer_view[0]["data"] == {"comment_id": ticket.comments.get(internal=False).pk}
    assert [e["kind"] for e in agent_view] == ["commented", "commented", "status_changed"]
