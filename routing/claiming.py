"""An agent pulls work: "take next" hands them the most urgent queued ticket they may take.

Same locking rules as routing.services (see its module docstring): the agent's own row is
locked first (blocking: the caller holds no ticket lock), then the candidate ticket is taken
with SKIP LOCKED, so two agents clicking at the same instant lock two different tickets and
never wait on each other; a ticket that an intake, a dispatch or another agent is assigning
right now is simply passed over for the next one."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from routing import conf, rules
from routing.models import AgentProfile, AgentSkill, RoutingDecision
from routing.services import _queue_for, queued_tickets
from tickets.models import Ticket, TicketEvent

RULE_TAKE_NEXT = "take next: the most urgent queued ticket the agent may take"


@dataclass(frozen=True)
class Claim:
    ticket: Ticket | None
    reason: str  # why nothing was taken (empty when a ticket was)


def claim_next_ticket(*, user: User) -> Claim:
    """Assign the signed-in agent the first ticket of their queue (earliest SLA breach, then
    priority, then age) among the categorized, unassigned, open tickets whose skill they hold
    and whose tier they meet. Works whatever their availability (taking work is explicit), but
    never beyond their capacity. Records a RoutingDecision (trigger manual) and an `assigned`
    event. Own transaction (durable). Returns the ticket taken, or None with the reason."""
    with transaction.atomic(durable=True):
        profile = (
            AgentProfile.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user=user)
            .first()
        )
        if profile is None:
            return Claim(None, "You have no agent profile, so you cannot take tickets.")
        if profile.load >= profile.capacity:
            return Claim(
                None,
                f"You are at capacity ({profile.load}/{profile.capacity}): resolve or hand "
                "back a ticket first.",
            )
        levels = dict(AgentSkill.objects.filter(agent=profile).values_list("skill__slug", "level"))
        if not levels:
            return Claim(None, "You have no skills yet, so no queued ticket matches you.")
        ticket = (
            _queue_for(profile, list(levels))
            .select_related("category")
            .select_for_update(skip_locked=True, of=("self",))
            .first()
        )
        if ticket is None:
            return Claim(None, "Nothing in the queue matches your skills and tier right now.")
        assert ticket.category is not None  # the queue holds categorized tickets only
        now = timezone.now()
        AgentProfile.objects.filter(pk=profile.pk).update(
            load=F("load") + 1, last_assigned_at=now
        )
        Ticket.objects.filter(pk=ticket.pk).update(
            assignee_id=profile.user_id, assigned_at=now, updated_at=now
        )
        ticket.assignee, ticket.assigned_at = profile.user, now
        skill = ticket.category.skill
        why = (
            f"{profile} took it with \u201ctake next\u201d: it was the most urgent queued ticket "
            f"for their skills (load {profile.load}/{profile.capacity} before, skill level "
            f"{levels[skill]}, tier {profile.tier})"
        )
        decision = RoutingDecision.objects.create(
            ticket=ticket, trigger=RoutingDecision.Trigger.MANUAL,
            outcome=RoutingDecision.Outcome.ASSIGNED, agent=profile, skill=skill,
            rule=RULE_TAKE_NEXT, explanation=why, actor=user, created_at=now,
            min_tier=rules.required_tier(
                priority=ticket.priority, min_tier=None, by_priority=conf.min_tier_by_priority()
            ),
        )
        TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=user, created_at=now,
            data={"decision_id": decision.pk, "agent": str(profile), "explanation": why},
        )
    return Claim(ticket, "")


def queue_depth() -> int:
    """How many categorized tickets wait for an agent (shown beside the take-next button)."""
    return queued_tickets().order_by().count()


def assignee_tier(ticket: Ticket) -> int | None:
    """The tier of the ticket's assignee (None: unassigned or not an agent)."""
    if ticket.assignee_id is None:
        return None
    return (
        AgentProfile.objects.filter(user_id=ticket.assignee_id)
        .values_list("tier", flat=True)
        .first()
    )
