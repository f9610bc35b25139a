"""Read-side queries for the API and the admin (eager loading lives here)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from routing.models import AgentProfile, AgentSkill, RoutingDecision
from tickets.models import Ticket


def list_agents() -> QuerySet[AgentProfile]:
    """Agents with their user and skills: two queries whatever the number of agents. `load` is
    the live counter (kept in the same transaction as every assignment)."""
    return AgentProfile.objects.select_related("user").prefetch_related(
        Prefetch("skills", queryset=AgentSkill.objects.select_related("skill"))
    )


def get_latest_decision(ticket: Ticket) -> RoutingDecision | None:
    """Served by routing_decision_ticket (ticket, -id)."""
    return (
        RoutingDecision.objects.filter(ticket=ticket)
        .select_related("agent__user")
        .order_by("-id")
        .first()
    )
