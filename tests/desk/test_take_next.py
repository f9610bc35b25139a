"""Take next: the agent gets the most urgent queued ticket they may take, never one another agent
is taking at the same instant (PostgreSQL row locks, real threads), never beyond capacity."""

from __future__ import annotations

import pytest
from django.db import connection

from routing.claiming import claim_next_ticket
from routing.models import AgentProfile, RoutingDecision
from tests.concurrency import run_concurrently
from tests.routing.factories import make_agent
from tests.tickets.factories import UserFactory
from tickets.models import Ticket


@pytest.mark.django_db
def test_it_hands_the_most_urgent_matching_ticket_and_records_why(
    client, agnes, alice, submit, network, agent_profile, frozen
):
    later = submit(alice, category=network, priority="low")
    sooner = submit(alice, category=network, priority="high")
    client.force_login(agnes)

    resp = client.post("/admin/queue/take-next/")

    sooner.refresh_from_db()
    later.refresh_from_db()
    assert resp.status_code == 302
    assert resp["Location"] == f"/admin/tickets/ticket/{sooner.pk}/change/"
    assert sooner.assignee == agnes and later.assignee is None
    decision = RoutingDecision.objects.filter(ticket=sooner).latest("id")
    assert decision.trigger == "manual" and decision.actor == agnes
    assert "take next" in decision.explanation
    agent_profile.refresh_from_db()
    assert agent_profile.load == 1


@pytest.mark.django_db
def test_it_says_why_when_there_is_nothing_to_take(agnes, alice, submit, agent_profile, frozen):
    submit(alice, category=None)  # triage: not takeable until categorized

    claim = claim_next_ticket(user=agnes)

    assert claim.ticket is None and "Nothing in the queue" in claim.reason


@pytest.mark.django_db
def test_it_never_takes_beyond_capacity(agnes, alice, submit, network, agent_profile, frozen):
    AgentProfile.objects.filter(pk=agent_profile.pk).update(capacity=1)
    submit(alice, category=network)
    submit(alice, category=network)

    first, second = claim_next_ticket(user=agnes), claim_next_ticket(user=agnes)

    assert first.ticket is not None
    assert second.ticket is None and "capacity (1/1)" in second.reason


@pytest.mark.django_db
def test_it_skips_tickets_above_the_agents_tier(agnes, alice, submit, network, agent_profile,
                                                frozen):
    AgentProfile.objects.filter(pk=agent_profile.pk).update(tier=1)
    submit(alice, category=network, priority="urgent")  # urgent needs tier 2
    normal = submit(alice, category=network, priority="normal")

    assert claim_next_ticket(user=agnes).ticket == normal


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite has no row locks and serialises writers: races need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_it_never_gives_two_agents_clicking_at_once_the_same_ticket(submit, network):
    customer = UserFactory(username="crowd")
    tickets = [submit(customer, category=network) for _ in range(6)]  # nobody available: queued
    agents = [make_agent(f"taker{i}", {"network": 3}, capacity=3, availability="away")
              for i in range(8)]
    taken: list[int] = []

    def take(user):
        claim = claim_next_ticket(user=user)
        if claim.ticket is not None:
            taken.append(claim.ticket.pk)

    errors = run_concurrently([lambda u=a.user: take(u) for a in agents])

    assert not errors, errors[:3]
    assert sorted(taken) == sorted(t.pk for t in tickets)  # 8 clicks, 6 tickets, each once
    assert Ticket.objects.filter(assignee__isnull=True).count() == 0
    for agent in AgentProfile.objects.all():
        assert agent.load == Ticket.objects.filter(assignee=agent.user).count() <= 1
