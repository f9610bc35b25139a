"""Agents' side of routing: availability changes (with the hand-back of an offline agent's
tickets) and profile edits, each handing out queued tickets when the agent gains room.
Same lock order as routing.services: tickets before agent rows, anything later SKIP LOCKED."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from routing import conf
from routing.models import AgentProfile, RoutingDecision
from routing.services import (
    AVAILABLE,
    INT,
    OPEN,
    dispatch_queue,
    record_decision,
    release_slots,
    route_ticket,
)
from tickets.models import Ticket, TicketEvent
from tickets.services import Timeline

Kind = TicketEvent.Kind
Outcome = RoutingDecision.Outcome
Trigger = RoutingDecision.Trigger


def set_availability(
    *, agent: AgentProfile, availability: str, actor: User | None
) -> AgentProfile:
    """Change an agent's availability.
    - available: they get the next queued tickets at once (dispatch_queue);
    - away: they keep their tickets and get no new ones;
    - offline: the same, and with ROUTING_REQUEUE_ON_OFFLINE (default on) their open tickets
      go back to the queue and are routed again at once to whoever has room.
    Locks: the agent's open tickets (blocking, ascending id) before the agent row, then any
    ticket assigned in between with SKIP LOCKED; re-routing never waits on another agent.
    Runs in one transaction (joins the caller's). Idempotent."""
    with transaction.atomic(savepoint=False):
        agent = AgentProfile.objects.select_related("user").get(pk=agent.pk)
        requeue = availability == AgentProfile.Availability.OFFLINE and conf.requeue_on_offline()
        released: list[Ticket] = []
        if requeue:
            released = list(
                Ticket.objects.select_for_update()
                .filter(assignee_id=agent.user_id, status__in=OPEN)
                .order_by("pk")
            )
        AgentProfile.objects.filter(pk=agent.pk).update(availability=availability)
        if requeue:
            # Tickets assigned to them after the read above and before our UPDATE.
            released += list(
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(assignee_id=agent.user_id, status__in=OPEN)
                .exclude(pk__in=[t.pk for t in released])
            )
            _requeue(agent, released, actor)
        profile = AgentProfile.objects.select_related("user").get(pk=agent.pk)
        if availability == AVAILABLE:
            dispatch_queue(agent=profile)
            profile.refresh_from_db()
    return profile


def _requeue(agent: AgentProfile, tickets: list[Ticket], actor: User | None) -> None:
    if not tickets:
        return
    release_slots(agent.user_id, len(tickets))
    now = timezone.now()
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        assignee=None, assigned_at=None, updated_at=now
    )
    for ticket in tickets:
        ticket.assignee, ticket.assigned_at = None, None
        timeline = Timeline(ticket)
        decision = record_decision(
            ticket, trigger=Trigger.REQUEUE, outcome=Outcome.UNASSIGNED, agent=agent,
            actor=actor, rule="agent went offline",
            explanation=f"{agent}: went offline, ticket back to the queue",
        )
        timeline.add(Kind.UNASSIGNED, actor, decision_id=decision.pk, reason=decision.explanation)
        # may_wait=False: we hold this agent's row (lock order).
        route_ticket(ticket=ticket, timeline=timeline, trigger=Trigger.REQUEUE, may_wait=False)
        timeline.flush()


def update_profile(
    *, agent: AgentProfile, capacity: int, tier: int, team: str
) -> AgentProfile:
    """A manager's edit. Lowering capacity below the current load keeps the tickets (the
    excess becomes the overbooked allowance); raising it hands out queued tickets at once.
    One UPDATE computed in SQL from the current row, so a concurrent assignment is never lost."""
    with transaction.atomic(savepoint=False):
        AgentProfile.objects.filter(pk=agent.pk).update(
            capacity=capacity,
            tier=tier,
            team=team,
            overbooked=Greatest(Value(0), F("load") - capacity, output_field=INT),
        )
        profile = AgentProfile.objects.select_related("user").get(pk=agent.pk)
        dispatch_queue(agent=profile)
        profile.refresh_from_db()
    return profile


def skills_changed(*, agent: AgentProfile) -> list[Ticket]:
    """After an agent gains (or changes) skills: they may now match queued tickets."""
    with transaction.atomic(savepoint=False):
        return dispatch_queue(agent=agent)
