"""The capacity and single-assignment guarantees under real concurrency (PostgreSQL row locks):
many threads, each with its own connection and transaction, released together by a Barrier.
SQLite serialises whole transactions and ignores SELECT ... FOR UPDATE, so there is nothing
to race there: these tests only run on PostgreSQL (as CI does)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q

from routing import agents as agent_services
from routing import services
from routing.models import AgentProfile, RoutingDecision
from tests.concurrency import run_concurrently
from tests.routing.factories import category_for, make_agent
from tests.tickets.factories import UserFactory
from tickets import flows
from tickets.models import Ticket

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no row locks and serialises writers: races need PostgreSQL",
    ),
]


def assert_invariants() -> None:
    open_counts = dict(
        Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES, assignee__isnull=False)
        .values_list("assignee")
        .annotate(n=Count("pk"))
    )
    for agent in AgentProfile.objects.all():
        assert agent.load == open_counts.get(agent.user_id, 0), agent
        assert agent.load <= agent.capacity, agent
    # Only agents with profiles ever get tickets, and every assigned ticket's latest decision
    # names its assignee: nobody else believes they hold it.
    for ticket in Ticket.objects.filter(assignee__isnull=False):
        latest = RoutingDecision.objects.filter(ticket=ticket).latest("id")
        assert latest.outcome == "assigned" and latest.agent.user_id == ticket.assignee_id


@pytest.fixture
def network():
    return category_for("network")


@pytest.fixture
def slow_commit(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Keep each intake transaction open a little after routing (as a slow SLA step or commit
    would), so agent row locks overlap: every candidate is then locked by someone at once,
    the case where SKIP LOCKED alone would queue tickets while capacity exists."""

    def slow_down(seconds: float) -> None:
        start = flows.sla.start_ticket_clocks

        def slow(**kwargs: Any) -> Any:
            time.sleep(seconds)
            return start(**kwargs)

        monkeypatch.setattr(flows.sla, "start_ticket_clocks", slow)

    return slow_down


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("hold_seconds", [0, 0, 0.05])
def test_it_fills_capacity_exactly_under_64_concurrent_creations(
    intake, network, slow_commit, hold_seconds
):
    slow_commit(hold_seconds)
    agents = [make_agent(f"agent{i}", {"network": 3}, capacity=2) for i in range(5)]
    customer = UserFactory(username="crowd")

    errors = run_concurrently(
        [lambda: intake(customer=customer, category=network) for _ in range(64)]
    )

    assert not errors, errors[:3]
    assert Ticket.objects.count() == 64
    assert Ticket.objects.filter(assignee__isnull=False).count() == 10
    assert RoutingDecision.objects.filter(outcome="queued").count() == 54
    assert RoutingDecision.objects.filter(outcome="assigned").count() == 10
    assert sorted(AgentProfile.objects.values_list("load", flat=True)) == [2] * 5
    for agent in agents:
        assert Ticket.objects.filter(assignee=agent.user).count() == 2
    assert_invariants()


@pytest.mark.django_db(transaction=True)
def test_it_queues_nothing_while_capacity_exists_even_when_all_agents_are_locked(
    intake, network, slow_commit
):
    """As many creations as slots, all at once, each holding its agent's row for a while:
    the ones that find every candidate locked must wait for a slot, not queue."""
    slow_commit(0.05)
    for i in range(5):
        make_agent(f"agent{i}", {"network": 3}, capacity=2)
    customer = UserFactory(username="crowd")

    errors = run_concurrently([lambda: intake(customer=customer, category=network)] * 10)

    assert not errors, errors[:3]
    assert Ticket.objects.filter(assignee__isnull=True).count() == 0
    assert sorted(AgentProfile.objects.values_list("load", flat=True)) == [2] * 5
    assert_invariants()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_load_exact_while_agents_close_tickets_and_change_availability(intake, network):
    agents = [make_agent(f"agent{i}", {"network": 3}, capacity=2) for i in range(5)]
    customer = UserFactory(username="crowd")
    for _ in range(14):
        intake(customer=customer, category=network)  # 10 assigned, 4 queued
    held = list(Ticket.objects.filter(assignee__isnull=False).select_related("assignee"))
    rng = random.Random(7)

    def close(ticket: Ticket) -> Callable[[], Any]:
        return lambda: flows.update_status(
            ticket=ticket, status=rng.choice(["resolved", "closed"]), actor=ticket.assignee
        )

    def toggle(agent: AgentProfile, to: str) -> Callable[[], Any]:
        def run() -> None:
            agent_services.set_availability(agent=agent, availability=to, actor=agent.user)
            agent_services.set_availability(agent=agent, availability="available", actor=agent.user)

        return run

    work = [lambda: intake(customer=customer, category=network) for _ in range(30)]
    work += [close(t) for t in held[:8]]
    work += [toggle(agents[0], "offline"), toggle(agents[1], "away")]
    rng.shuffle(work)

    errors = run_concurrently(work)

    assert not errors, errors[:3]
    assert_invariants()
    # The safety net then leaves no ticket waiting while someone with room could take it.
    services.dispatch_all()
    assert_invariants()
    room = AgentProfile.objects.filter(availability="available", load__lt=2).exists()
    waiting = Ticket.objects.filter(
        Q(status__in=Ticket.OPEN_STATUSES), assignee__isnull=True
    ).exists()
    assert not (room and waiting)


@pytest.mark.django_db(transaction=True)
def test_it_never_double_counts_a_ticket_routed_by_racing_dispatchers(network):
    from tests.tickets.factories import TicketFactory

    tickets = [TicketFactory(category=network) for _ in range(6)]
    agents = [
        make_agent(f"agent{i}", {"network": 3}, capacity=4, availability="offline")
        for i in range(4)
    ]

    errors = run_concurrently(
        [
            (
                lambda a=a: agent_services.set_availability(
                    agent=a, availability="available", actor=None
                )
            )
            for a in agents
        ]
        + [services.dispatch_all for _ in range(4)]
    )

    assert not errors, errors[:3]
    assert Ticket.objects.filter(assignee__isnull=False).count() == 6
    assert sum(AgentProfile.objects.values_list("load", flat=True)) == 6
    for ticket in tickets:
        assert RoutingDecision.objects.filter(ticket=ticket, outcome="assigned").count() == 1
    assert_invariants()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rep", range(2))
def test_it_does_not_deadlock_on_crossing_manual_reassignments(network, max_manager, rep):
    """A->B and B->A at the same time: both agent rows are locked in ascending id order, so
    neither transaction can hold one while waiting for the other in the opposite order."""
    from tests.tickets.factories import TicketFactory

    a = make_agent("a", {"network": 3}, capacity=20)
    b = make_agent("b", {"network": 3}, capacity=20)
    tickets = [TicketFactory(category=network) for _ in range(12)]
    for n, ticket in enumerate(tickets):
        reassign(ticket, max_manager, (a if n % 2 else b).user)

    errors = run_concurrently(
        [
            (lambda t=t: reassign(t, max_manager, (b if t.assignee_id == a.user_id else a).user))
            for t in Ticket.objects.all()
        ]
    )

    assert not errors, errors[:3]
    assert_invariants()
    assert sorted(AgentProfile.objects.values_list("load", flat=True)) == [6, 6]


def reassign(ticket: Ticket, actor: Any, user: Any) -> None:
    flows.edit_ticket(
        ticket=ticket,
        actor=actor,
        priority=ticket.priority,
        category=ticket.category,
        status=None,
        reply="",
        internal=False,
        assignee=user,
    )
