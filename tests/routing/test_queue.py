"""The queue: unassigned tickets wait in SLA/priority/age order and are handed out the moment
an agent can take them (available again, new skill, a ticket closed), plus the safety net."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from routing import agents as agent_services
from routing import services
from routing.models import AgentProfile, RoutingDecision
from tests.routing.factories import SkillFactory, category_for, make_agent
from tests.tickets.factories import TicketFactory
from tickets import flows
from tickets.models import Ticket, TicketEvent


@pytest.fixture
def network():
    return category_for("network")


def queued(category, **fields) -> Ticket:
    return TicketFactory(category=category, **fields)


def load_of(profile: AgentProfile) -> int:
    profile.refresh_from_db()
    return profile.load


@pytest.mark.django_db
def test_it_orders_the_queue_by_sla_due_then_priority_then_age(network):
    now = timezone.now()
    old_low = queued(network, priority="low", created_at=now - timedelta(hours=3))
    new_urgent = queued(network, priority="urgent", created_at=now)
    old_normal = queued(network, priority="normal", created_at=now - timedelta(hours=2))
    due_late = queued(network, sla_due_at=now + timedelta(hours=2))
    due_soon = queued(network, priority="low", sla_due_at=now + timedelta(minutes=5))
    queued(None)  # no category: triage, not in the routing queue
    TicketFactory(category=network, status="closed")

    order = list(services.queued_tickets())

    assert order == [due_soon, due_late, new_urgent, old_normal, old_low]


@pytest.mark.django_db
def test_it_hands_queued_tickets_out_in_order_when_an_agent_becomes_available(network):
    now = timezone.now()
    later = queued(network, sla_due_at=now + timedelta(hours=1))
    first = queued(network, sla_due_at=now + timedelta(minutes=1))
    third = queued(network, priority="urgent")
    agent = make_agent("back", {"network": 3}, tier=2, availability="offline")

    agent_services.set_availability(agent=agent, availability="available", actor=agent.user)

    assert {first.pk, later.pk} == set(
        Ticket.objects.filter(assignee=agent.user).values_list("pk", flat=True)
    )
    assert Ticket.objects.get(pk=third.pk).assignee is None  # capacity 2: the third waits
    assert load_of(agent) == 2
    decision = RoutingDecision.objects.get(ticket=first)
    assert (decision.trigger, decision.outcome) == ("dispatch", "assigned")
    event = TicketEvent.objects.get(ticket=first, kind="assigned")
    assert event.data["decision_id"] == decision.pk


@pytest.mark.django_db
def test_it_hands_the_next_ticket_to_whoever_closes_one(network, agnes):
    agent = make_agent("closer", {"network": 3}, capacity=1)
    mine = queued(network)
    services.dispatch_all()
    waiting = queued(network)
    assert Ticket.objects.get(pk=mine.pk).assignee_id == agent.user_id

    flows.update_status(ticket=mine, status="resolved", actor=agent.user)

    assert Ticket.objects.get(pk=waiting.pk).assignee_id == agent.user_id
    assert load_of(agent) == 1


@pytest.mark.django_db
def test_it_counts_a_reopened_ticket_again_even_over_capacity(network, alice):
    agent = make_agent("keeper", {"network": 3}, capacity=1)
    ticket = queued(network, customer=alice)
    services.dispatch_all()
    flows.update_status(ticket=ticket, status="resolved", actor=agent.user)
    other = queued(network)
    services.dispatch_all()
    assert load_of(agent) == 1 and Ticket.objects.get(pk=other.pk).assignee_id == agent.user_id

    flows.reply(ticket=ticket, author=alice, body="still broken", internal=False, is_staff=False)

    agent.refresh_from_db()
    assert (agent.load, agent.overbooked) == (2, 1)
    decision = RoutingDecision.objects.filter(ticket=ticket).latest("id")
    assert (decision.trigger, decision.over_capacity) == ("reopen", True)


@pytest.mark.django_db
def test_it_hands_out_tickets_when_an_agent_gains_the_skill(network):
    ticket = queued(network)
    agent = make_agent("learner", {"printing": 3})
    agent.skills.create(skill=SkillFactory(slug="network"), level=2)

    agent_services.skills_changed(agent=agent)

    assert Ticket.objects.get(pk=ticket.pk).assignee_id == agent.user_id


@pytest.mark.django_db
def test_it_keeps_urgent_tickets_for_tier_2_in_the_queue(network):
    urgent = queued(network, priority="urgent")
    normal = queued(network)
    agent = make_agent("t1", {"network": 3}, tier=1)

    with transaction.atomic():
        services.dispatch_queue(agent=agent)

    assert Ticket.objects.get(pk=urgent.pk).assignee is None
    assert Ticket.objects.get(pk=normal.pk).assignee_id == agent.user_id


@pytest.mark.django_db
def test_it_keeps_an_explicit_tier_requirement_on_a_queued_ticket(network, alice):
    ticket = queued(network)
    with transaction.atomic():
        services.route_ticket(ticket=ticket, timeline=flows.services.Timeline(ticket), min_tier=3)
    tier2 = make_agent("t2", {"network": 3}, tier=2)
    tier3 = make_agent("t3", {"network": 3}, tier=3, availability="offline")

    services.dispatch_all()
    assert Ticket.objects.get(pk=ticket.pk).assignee is None
    agent_services.set_availability(agent=tier3, availability="available", actor=None)

    assert Ticket.objects.get(pk=ticket.pk).assignee_id == tier3.user_id
    assert load_of(tier2) == 0


@pytest.mark.django_db
def test_it_makes_the_safety_net_one_query_when_nothing_can_be_assigned(network):
    make_agent("full", {"network": 3}, load=2)
    queued(network)

    with CaptureQueriesContext(connection) as ctx:
        assert services.dispatch_all() == 0

    assert len(ctx.captured_queries) == 1


@pytest.mark.django_db
def test_it_requeues_and_reroutes_an_offline_agents_tickets(network, settings):
    leaving = make_agent("leaving", {"network": 3}, capacity=3)
    staying = make_agent("staying", {"network": 3}, capacity=1, availability="away")
    tickets = [queued(network) for _ in range(3)]
    services.dispatch_all()
    assert load_of(leaving) == 3
    agent_services.set_availability(agent=staying, availability="available", actor=None)

    agent_services.set_availability(agent=leaving, availability="offline", actor=leaving.user)

    assert load_of(leaving) == 0
    assignees = [Ticket.objects.get(pk=t.pk).assignee_id for t in tickets]
    assert sorted(assignees, key=str) == sorted([staying.user_id, None, None], key=str)
    assert load_of(staying) == 1
    kinds = set(TicketEvent.objects.filter(ticket=tickets[0]).values_list("kind", flat=True))
    assert {"unassigned"} <= kinds


@pytest.mark.django_db
def test_it_lets_an_offline_agent_keep_tickets_when_configured(network, settings):
    settings.ROUTING_REQUEUE_ON_OFFLINE = False
    agent = make_agent("keeps", {"network": 3})
    ticket = queued(network)
    services.dispatch_all()

    agent_services.set_availability(agent=agent, availability="offline", actor=None)

    assert Ticket.objects.get(pk=ticket.pk).assignee_id == agent.user_id
    assert load_of(agent) == 1


@pytest.mark.django_db
def test_it_routes_a_ticket_when_an_agent_sets_its_category(alice, agnes, network):
    agent = make_agent("net", {"network": 3})
    ticket = TicketFactory(customer=alice)

    flows.edit_ticket(
        ticket=ticket, actor=agnes, priority="normal", category=network, status=None,
        reply="", internal=False,
    )

    ticket.refresh_from_db()
    assert ticket.assignee_id == agent.user_id
    decision = RoutingDecision.objects.get(ticket=ticket)
    assert (decision.trigger, decision.actor) == ("categorized", agnes)
