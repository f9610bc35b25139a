"""Status lifecycle rules and the all-or-nothing intake, at the service/flow level."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.tickets.factories import TicketFactory
from tickets import flows, services
from tickets.models import Ticket, TicketEvent

S = Ticket.Status


def change(ticket, status):
    with transaction.atomic():
        services.change_status(ticket=ticket, status=status, actor=None).flush()


@pytest.mark.django_db
def test_it_stamps_resolution_and_closing_times():
    ticket = TicketFactory()
    change(ticket, S.RESOLVED)
    change(ticket, S.CLOSED)
    ticket.refresh_from_db()

    assert ticket.resolved_at is not None and ticket.closed_at >= ticket.resolved_at
    kinds = list(ticket.events.values_list("data__new", flat=True))
    assert kinds == ["resolved", "closed"]


@pytest.mark.django_db
def test_it_refuses_to_reopen_a_closed_ticket():
    ticket = TicketFactory()
    change(ticket, S.CLOSED)

    with pytest.raises(services.TicketStateError):
        change(ticket, S.OPEN)


@pytest.mark.django_db
def test_it_writes_nothing_for_a_status_that_does_not_change():
    ticket = TicketFactory()
    change(ticket, S.NEW)

    assert not ticket.events.exists()


@pytest.mark.django_db(transaction=True)  # the plain db fixture wraps tests in a transaction
def test_it_refuses_service_writes_outside_a_transaction():
    ticket = TicketFactory()

    with pytest.raises(RuntimeError):
        services.change_status(ticket=ticket, status=S.OPEN, actor=None)


@pytest.mark.django_db
def test_it_keeps_the_timeline_append_only():
    ticket = TicketFactory()
    change(ticket, S.OPEN)
    event = ticket.events.get()
    event.data = {"forged": True}

    with pytest.raises(ValueError):
        event.save()


@pytest.mark.django_db
def test_it_leaves_nothing_behind_when_intake_fails_half_way(alice):
    def fail(ticket):
        raise RuntimeError("crash after the ticket and its events were written")

    with pytest.raises(RuntimeError):
        flows.submit_ticket(
            customer=alice, subject="s", description="d", priority="low", before_commit=fail
        )

    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()
