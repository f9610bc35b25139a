"""routing.services.escalate_assignment, the SLA watcher's hook."""

from __future__ import annotations

import pytest
from django.db import transaction

from routing import services
from routing.models import RoutingDecision
from tests.routing.factories import category_for, make_agent
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket


@pytest.fixture
def network():
    return category_for("network")


def assigned_ticket(network, agent):
    ticket = TicketFactory(category=network)
    services.dispatch_all()
    ticket.refresh_from_db()
    assert ticket.assignee_id == agent.user_id
    return ticket


@pytest.mark.django_db
def test_it_moves_the_ticket_to_a_higher_tier_agent(network):
    junior = make_agent("junior", {"network": 3}, tier=1)
    ticket = assigned_ticket(network, junior)
    senior = make_agent("senior", {"network": 2}, tier=2)

    with transaction.atomic():
        got = services.escalate_assignment(ticket=ticket, min_tier=2, reason="SLA overdue")

    assert got == senior
    ticket.refresh_from_db()
    junior.refresh_from_db()
    senior.refresh_from_db()
    assert ticket.assignee_id == senior.user_id
    assert (junior.load, senior.load) == (0, 1)
    decision = RoutingDecision.objects.filter(ticket=ticket).latest("id")
    assert decision.trigger == "escalation" and decision.explanation.startswith("SLA overdue")


@pytest.mark.django_db
def test_it_keeps_the_assignee_and_returns_none_when_nobody_qualifies(network):
    junior = make_agent("junior", {"network": 3}, tier=1)
    ticket = assigned_ticket(network, junior)
    make_agent("busy-senior", {"network": 3}, tier=3, load=2)

    got = services.escalate_assignment(ticket=ticket, min_tier=2, reason="SLA overdue")

    assert got is None
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == junior.user_id
    assert RoutingDecision.objects.filter(ticket=ticket).latest("id").outcome == "kept"


@pytest.mark.django_db
def test_it_returns_the_assignee_who_already_has_the_tier(network):
    senior = make_agent("senior", {"network": 3}, tier=3)
    ticket = assigned_ticket(network, senior)

    assert services.escalate_assignment(ticket=ticket, min_tier=2, reason="x") == senior


@pytest.mark.django_db
def test_it_assigns_an_unassigned_ticket_to_a_qualified_agent(network):
    ticket = TicketFactory(category=network)
    make_agent("t1", {"network": 3}, tier=1)
    t2 = make_agent("t2", {"network": 3}, tier=2)

    assert services.escalate_assignment(ticket=ticket, min_tier=2, reason="x") == t2
