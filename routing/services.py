"""Every routing write on tickets: assigning, queueing, releasing, dispatching, escalating
(agents' availability and profiles: routing/agents.py).

Concurrency design (PostgreSQL; SQLite serialises writers anyway):

- The agent's `load` column is the capacity counter. Automatic routing increments it only with
  a conditional UPDATE (`WHERE load < capacity AND availability = 'available'`). PostgreSQL
  re-evaluates that WHERE on the newest row version after waiting for a concurrent writer, so
  two transactions can never both take an agent's last slot; a rowcount of 0 means "full
  meanwhile, try the next candidate" (routing/picking.py). The CHECK constraint
  load <= capacity + overbooked is the backstop.
- Picking spreads load with SKIP LOCKED first (an agent being assigned by another in-flight
  transaction is passed over for the next best), and only if *every* candidate is locked does
  it wait, on each candidate in rank order. SKIP LOCKED alone would queue a ticket while
  capacity exists (all candidates momentarily locked); waiting alone would make concurrent
  creations convoy on the single best agent. The threaded tests in tests/routing prove the mix.
- Deadlock freedom, by a fixed lock order:
  1. blocking locks go tickets first (ascending id when several), then agent rows (ascending
     id when several);
  2. anything taken after an agent row lock (another agent, queued tickets) is taken with SKIP
     LOCKED, i.e. never waited for.
  So every wait points "forward" in one global order and no cycle can form. No global lock.
- A ticket is never assigned twice: the assignee is one column on the ticket, and every path
  that sets it holds the ticket row lock (or just inserted the ticket) and re-checks
  `assignee IS NULL` under that lock, so load is counted once.

These functions run inside the caller's transaction (tickets.flows holds it) unless they say
otherwise; none opens a SAVEPOINT on the create path."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from routing import conf, rules
from routing.models import AgentProfile, AgentSkill, RoutingDecision
from routing.picking import Pick, pick_agent
from tickets.models import Category, Ticket, TicketEvent
from tickets.services import Timeline, require_transaction

log = logging.getLogger(__name__)
Kind = TicketEvent.Kind
Outcome = RoutingDecision.Outcome
Trigger = RoutingDecision.Trigger
AVAILABLE = AgentProfile.Availability.AVAILABLE
OPEN = Ticket.OPEN_STATUSES
INT = IntegerField()
NO_CATEGORY = "not routed: no category yet (triage)"
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


class RoutingError(Exception):
    """A routing change that is not allowed."""


class OverCapacityError(RoutingError):
    """Manual assignment to an agent at capacity without explicit confirmation."""


class NotAnAgentError(RoutingError):
    """The user has no agent profile, so tickets cannot be assigned to them."""


# --- deciding about one ticket ---------------------------------------------------------------


@dataclass(frozen=True)
class RoutePlan:
    """A routing choice made (and the agent's slot taken) before it is recorded: on intake it
    is made before the ticket INSERT, so the assignee rides in that INSERT."""

    skill: str  # "" = no category
    min_tier: int
    explicit_tier: int | None
    pick: Pick | None  # None: no category, nothing to pick
    user_id: int | None
    at: datetime

    @property
    def ticket_fields(self) -> dict[str, Any]:
        """Ticket columns for the INSERT (tickets.services.create_ticket)."""
        if self.pick is None or self.pick.chosen is None:
            return {}
        return {"assignee": _deferred_user(self.user_id, self.pick.chosen.username),
                "assigned_at": self.at}


def _deferred_user(user_id: int | None, username: str) -> Any:
    """The assignee as a deferred instance (id + username only, as .only() would give): the
    create response renders it without another query, and saving it could only ever write
    those two fields."""
    return get_user_model().from_db("default", ["id", "username"], [user_id, username])


def plan_route(
    *,
    category: Category | None,
    priority: str,
    min_tier: int | None = None,
    may_wait: bool = True,
) -> RoutePlan:
    """Pick the agent for a ticket of this category and priority and take their slot
    (load + 1, see pick_agent). Must be followed by record_route in the same transaction."""
    require_transaction("routing.services")
    required = rules.required_tier(
        priority=priority, min_tier=min_tier, by_priority=conf.min_tier_by_priority()
    )
    now = timezone.now()
    if category is None:
        return RoutePlan("", required, min_tier, None, None, now)
    pick, user_id = pick_agent(skill=category.skill, min_tier=required, now=now, may_wait=may_wait)
    return RoutePlan(category.skill, required, min_tier, pick, user_id, now)


def record_route(
    *,
    ticket: Ticket,
    plan: RoutePlan,
    timeline: Timeline,
    trigger: str = Trigger.INTAKE,
    actor: User | None = None,
) -> RoutingDecision | None:
    """Store the decision of `plan` (one INSERT), point the ticket at the agent unless its
    INSERT already did (one UPDATE), and add an `assigned`/`queued` event to `timeline`.
    An uncategorized ticket only gets the `queued` event (None: nothing was decided)."""
    common: dict[str, Any] = {
        "trigger": trigger, "min_tier": plan.min_tier, "explicit_tier": plan.explicit_tier,
        "actor": actor, "skill": plan.skill,
    }
    pick = plan.pick
    if pick is None and plan.explicit_tier is None:
        # Not routed at all: the triage flag and this event say so. No decision row, which
        # keeps intake of uncategorized tickets free of routing statements.
        timeline.add(Kind.QUEUED, actor, reason=NO_CATEGORY)
        return None
    if pick is None:  # an explicit tier requirement must stick (see _queue_for): store it
        decision = record_decision(
            ticket, outcome=Outcome.QUEUED, rule=rules.RULE_NO_CATEGORY,
            explanation=NO_CATEGORY, **common,
        )
        timeline.add(Kind.QUEUED, actor, decision_id=decision.pk, reason=decision.explanation)
        return decision
    candidates = [c.as_json() for c in pick.ranked]
    if pick.chosen is None:
        rule, why = rules.queued_reason(skill=plan.skill, min_tier=plan.min_tier, pool=pick.pool)
        decision = record_decision(
            ticket, outcome=Outcome.QUEUED, rule=rule, explanation=why, candidates=candidates,
            **common,
        )
        timeline.add(Kind.QUEUED, actor, decision_id=decision.pk, reason=why)
        return decision
    chosen = pick.chosen
    why = rules.explain_assignment(chosen, pick.rule, considered=len(pick.ranked))
    decision = record_decision(
        ticket, outcome=Outcome.ASSIGNED, agent_id=chosen.agent_id, rule=pick.rule,
        explanation=why, candidates=candidates, **common,
    )
    if ticket.assignee_id != plan.user_id:
        _set_assignee(ticket, plan.user_id, chosen.username, plan.at)
    timeline.add(
        Kind.ASSIGNED, actor, decision_id=decision.pk, agent=chosen.username, explanation=why
    )
    return decision


def route_ticket(
    *,
    ticket: Ticket,
    timeline: Timeline,
    min_tier: int | None = None,
    trigger: str = Trigger.INTAKE,
    actor: User | None = None,
    plan: RoutePlan | None = None,
    may_wait: bool = True,
) -> RoutingDecision | None:
    """Assign an open, unassigned ticket to the best eligible agent, or queue it, and record
    why (a RoutingDecision plus an `assigned`/`queued` event on `timeline`). With `plan`
    (intake: planned before the INSERT, which carried the assignee) it only records.

    Call with the ticket row locked by the caller (or inserted in this transaction). Takes one
    agent row lock (see pick_agent). Idempotent: a ticket already assigned (other than by its
    plan) or no longer open is left alone (None). Statements: none for an uncategorized
    ticket (a `queued` event only); 2 when nobody is eligible (candidates, decision); when
    assigned 3 with a plan (candidates, take slot, decision), 4 without (+ ticket UPDATE)."""
    require_transaction("routing.services")
    if plan is None:
        if ticket.assignee_id is not None or not ticket.is_open:
            return None
        plan = plan_route(
            category=ticket.category, priority=ticket.priority, min_tier=min_tier,
            may_wait=may_wait,
        )
    return record_route(ticket=ticket, plan=plan, timeline=timeline, trigger=trigger, actor=actor)


def _set_assignee(ticket: Ticket, user_id: int | None, username: str, now: datetime) -> None:
    """Point the ticket at its new assignee (one UPDATE)."""
    Ticket.objects.filter(pk=ticket.pk).update(
        assignee_id=user_id, assigned_at=now if user_id else None, updated_at=now
    )
    ticket.assignee = _deferred_user(user_id, username) if user_id else None
    ticket.assigned_at = now if user_id else None
    ticket.updated_at = now


def record_decision(ticket: Ticket, **fields: Any) -> RoutingDecision:
    return RoutingDecision.objects.create(ticket=ticket, created_at=timezone.now(), **fields)


# --- load bookkeeping -------------------------------------------------------------------------


def release_slots(user_id: int, count: int = 1) -> AgentProfile | None:
    """load - count for the agent (one UPDATE, takes the agent row lock); the overbooked
    allowance shrinks with it so it never outlives the excess it covered."""
    profile = AgentProfile.objects.filter(user_id=user_id).first()
    if profile is None:
        return None  # assigned before the user had a profile: nothing counted
    done = AgentProfile.objects.filter(pk=profile.pk, load__gte=count).update(
        load=F("load") - count,
        overbooked=Greatest(
            Value(0),
            Least(F("overbooked"), F("load") - count - F("capacity"), output_field=INT),
            output_field=INT,
        ),
    )
    if not done:
        log.warning("agent %s load below its open tickets (drift): run routing_check_load", profile)
    return profile


def _take_forced(profile_id: int, now: datetime) -> bool:
    """load + 1 even beyond capacity, raising the overbooked allowance by what is needed.
    Returns whether it went over capacity. Caller holds (or waits for) the agent row."""
    AgentProfile.objects.filter(pk=profile_id).update(
        load=F("load") + 1,
        overbooked=Greatest(F("overbooked"), F("load") + 1 - F("capacity"), output_field=INT),
        last_assigned_at=now,
    )
    return AgentProfile.objects.filter(pk=profile_id, load__gt=F("capacity")).exists()


def ticket_status_changed(
    *, ticket: Ticket, old_status: str, actor: User | None, timeline: Timeline
) -> None:
    """Keep the assignee's load equal to their open tickets when a ticket leaves the open
    set (resolved, closed: the slot is freed and handed to the next queued ticket at once) or
    re-enters it (reopened: it stays with its assignee, even beyond capacity, recorded).
    Caller holds the ticket row. Free when the status did not cross the open/closed line."""
    was_open, is_open = old_status in OPEN, ticket.is_open
    if ticket.assignee_id is None or was_open == is_open:
        return
    if was_open:
        profile = release_slots(ticket.assignee_id)
        if profile is not None:
            dispatch_queue(agent=profile)
        return
    profile = AgentProfile.objects.filter(user_id=ticket.assignee_id).first()
    if profile is None:
        return
    over = _take_forced(profile.pk, timezone.now())
    decision = record_decision(
        ticket, trigger=Trigger.REOPEN, outcome=Outcome.ASSIGNED, agent=profile,
        rule=rules.RULE_REOPEN, over_capacity=over, actor=actor,
        explanation=f"{profile}: reopened, stays with its assignee"
        + (" (now over capacity)" if over else ""),
    )
    timeline.add(
        Kind.ASSIGNED, actor, decision_id=decision.pk, agent=str(profile),
        explanation=decision.explanation,
    )


# --- manual assignment ------------------------------------------------------------------------


def assign_manually(
    *,
    ticket: Ticket,
    user: User | None,
    actor: User,
    over_capacity_ok: bool,
    timeline: Timeline,
) -> RoutingDecision | None:
    """An agent or manager (re)assigns the ticket by hand, or unassigns it (user=None; the
    ticket then waits in the queue). Assigning to an agent at capacity needs
    `over_capacity_ok` (else OverCapacityError, nothing written) and is recorded as such.
    Caller holds the ticket row; this locks the old and new agent rows in ascending id order.
    No-op (None) when the assignee does not change."""
    require_transaction("routing.services")
    old_id = ticket.assignee_id
    new_id = user.pk if user is not None else None
    if new_id == old_id:
        return None
    profiles = {
        p.user_id: p
        for p in AgentProfile.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(user_id__in=[i for i in (old_id, new_id) if i is not None])
        .order_by("pk")
    }
    now = timezone.now()
    counted = ticket.is_open  # load counts open tickets only
    if new_id is None:
        if counted and old_id is not None:
            release_slots(old_id)
        decision = record_decision(
            ticket, trigger=Trigger.MANUAL, outcome=Outcome.UNASSIGNED, actor=actor,
            rule=rules.RULE_UNASSIGNED, explanation=f"unassigned by {actor}: back to the queue",
        )
        _set_assignee(ticket, None, "", now)
        timeline.add(Kind.UNASSIGNED, actor, decision_id=decision.pk, reason=decision.explanation)
        return decision
    target = profiles.get(new_id)
    if target is None:
        raise NotAnAgentError(f"{user} has no agent profile.")
    over = counted and target.load >= target.capacity
    if over and not over_capacity_ok:
        raise OverCapacityError(
            f"{target} is at capacity ({target.load}/{target.capacity}); confirm to assign anyway."
        )
    if counted:
        _take_forced(target.pk, now)
        if old_id is not None:
            release_slots(old_id)
    rule = rules.RULE_MANUAL_OVER if over else rules.RULE_MANUAL
    why = f"{target}: assigned by {actor} (load {target.load}/{target.capacity} before)"
    decision = record_decision(
        ticket, trigger=Trigger.MANUAL, outcome=Outcome.ASSIGNED, agent=target, actor=actor,
        skill=ticket.category.skill if ticket.category else "",
        rule=rule, explanation=why, over_capacity=over,
    )
    _set_assignee(ticket, new_id, target.user.get_username(), now)
    timeline.add(Kind.ASSIGNED, actor, decision_id=decision.pk, agent=str(target), explanation=why)
    if counted and old_id is not None and old_id in profiles:
        dispatch_queue(agent=profiles[old_id])  # the previous assignee has a free slot now
    return decision


# --- the queue --------------------------------------------------------------------------------


def queued_tickets() -> QuerySet[Ticket]:
    """Open, unassigned, categorized tickets in hand-out order: earliest SLA breach first
    (no clock last), then priority (urgent first), then age. Starts from the ticket_queue
    partial index."""
    rank = Case(
        *[When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()],
        default=Value(9),
        output_field=IntegerField(),
    )
    return (
        Ticket.objects.filter(assignee__isnull=True, status__in=OPEN, category__isnull=False)
        .alias(priority_rank=rank)
        .order_by(F("sla_due_at").asc(nulls_last=True), "priority_rank", "created_at", "pk")
    )


def _queue_for(profile: AgentProfile, skills: list[str]) -> QuerySet[Ticket]:
    too_senior = [p for p, t in conf.min_tier_by_priority().items() if t > profile.tier]
    held_higher = RoutingDecision.objects.filter(
        ticket=OuterRef("pk"), explicit_tier__gt=profile.tier
    )
    return (
        queued_tickets()
        .filter(category__skill__in=skills)
        .exclude(priority__in=too_senior)
        .exclude(Exists(held_higher))
    )


def dispatch_queue(*, agent: AgentProfile, limit: int | None = None) -> list[Ticket]:
    """Hand the agent the next queued tickets they can take (skill, tier), up to their spare
    capacity (or `limit`). Called when an agent becomes available, gains a skill or frees a
    slot. Locks the agent row (callers hold at most ticket rows and this same agent), then the
    tickets with SKIP LOCKED: a ticket another transaction is touching is skipped, not waited
    for. Returns the tickets assigned. Idempotent: with no room or no match it writes nothing."""
    require_transaction("routing.services")
    profile = (
        AgentProfile.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=agent.pk)
        .first()
    )
    if profile is None or profile.availability != AVAILABLE or profile.load >= profile.capacity:
        return []
    room = profile.capacity - profile.load if limit is None else min(limit, profile.spare)
    levels = dict(
        AgentSkill.objects.filter(agent=profile).values_list("skill__slug", "level")
    )
    if not levels or room <= 0:
        return []
    tickets = list(
        _queue_for(profile, list(levels))
        .select_related("category")
        .select_for_update(skip_locked=True, of=("self",))[:room]
    )
    if not tickets:
        return []
    now = timezone.now()
    AgentProfile.objects.filter(pk=profile.pk).update(
        load=F("load") + len(tickets), last_assigned_at=now
    )
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        assignee_id=profile.user_id, assigned_at=now, updated_at=now
    )
    decisions = []
    for n, ticket in enumerate(tickets):
        assert ticket.category is not None  # the queue holds categorized tickets only
        skill = ticket.category.skill
        why = (
            f"{profile}: had room (load {profile.load + n}/{profile.capacity}, skill level "
            f"{levels[skill]}) and this was the next matching ticket in the queue"
        )
        decisions.append(
            RoutingDecision(
                ticket=ticket, trigger=Trigger.DISPATCH, outcome=Outcome.ASSIGNED, agent=profile,
                skill=skill, rule="queue: next ticket for an agent with room",
                explanation=why, created_at=now,
                min_tier=rules.required_tier(
                    priority=ticket.priority, min_tier=None,
                    by_priority=conf.min_tier_by_priority(),
                ),
            )
        )
        ticket.assignee, ticket.assigned_at = profile.user, now
    RoutingDecision.objects.bulk_create(decisions)
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=d.ticket, kind=Kind.ASSIGNED, created_at=now,
            data={"decision_id": d.pk, "agent": str(profile), "explanation": d.explanation},
        )
        for d in decisions
    )
    return tickets


def dispatch_all(*, max_agents: int = 100) -> int:
    """Safety net, run by the SLA watcher every pass and by a schedule: give queued tickets to
    any available agent with room and a matching skill (heals anything a hook missed, e.g. a
    ticket queued while another transaction was freeing a slot). One cheap query when there
    is nothing to do. Each agent is dispatched in its own short transaction. Returns the
    number of tickets assigned."""
    queued_skills = queued_tickets().order_by().values("category__skill")
    matching = AgentSkill.objects.filter(
        agent=OuterRef("pk"), skill__slug__in=Subquery(queued_skills)
    )
    agents = list(
        AgentProfile.objects.filter(availability=AVAILABLE, load__lt=F("capacity"))
        .filter(Exists(matching))
        .order_by("load", "pk")
        .values_list("pk", flat=True)[:max_agents]
    )
    assigned = 0
    for pk in agents:
        with transaction.atomic():
            assigned += len(dispatch_queue(agent=AgentProfile(pk=pk)))
    return assigned


# --- escalation (called by sla) ---------------------------------------------------------------


def escalate_assignment(*, ticket: Ticket, min_tier: int, reason: str) -> AgentProfile | None:
    """Move the ticket to an agent of at least `min_tier` who holds its skill and has room,
    recording a RoutingDecision (trigger escalation) and an `assigned` event.

    Returns the agent now responsible: the new one; the current assignee when they already
    have that tier (nothing moves); None when nobody qualifies (the ticket stays where it is,
    and the tier requirement sticks: the queue will only hand it to such an agent). Locks the
    ticket, then the current assignee's row, then picks with SKIP LOCKED only (lock order).
    Joins the caller's transaction or opens one. Safe to repeat."""
    with transaction.atomic(savepoint=False):
        ticket = Ticket.objects.select_for_update(of=("self",)).select_related("category").get(
            pk=ticket.pk
        )
        current = (
            AgentProfile.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=ticket.assignee_id)
            .first()
            if ticket.assignee_id
            else None
        )
        common = {"trigger": Trigger.ESCALATION, "min_tier": min_tier, "explicit_tier": min_tier}
        timeline = Timeline(ticket)
        if current is not None and current.tier >= min_tier:
            record_decision(
                ticket, outcome=Outcome.KEPT, agent=current, rule="assignee already meets tier",
                explanation=f"{reason}: {current} (tier {current.tier}) keeps it", **common,
            )
            return current
        if not ticket.is_open or ticket.category_id is None:
            record_decision(
                ticket, outcome=Outcome.KEPT, agent=current, rule=rules.RULE_NOBODY,
                explanation=f"{reason}: not escalated (closed or no category)", **common,
            )
            return None
        if current is None:
            decision = route_ticket(
                ticket=ticket, timeline=timeline, min_tier=min_tier, trigger=Trigger.ESCALATION,
                may_wait=False,
            )
            timeline.flush()
            assigned = decision is not None and decision.outcome == Outcome.ASSIGNED
            return decision.agent if assigned and decision else None
        assert ticket.category is not None  # returned above when it has none
        skill = ticket.category.skill
        now = timezone.now()
        pick, user_id = pick_agent(
            skill=skill, min_tier=min_tier, now=now, may_wait=False, exclude_agent=current.pk
        )
        candidates = [c.as_json() for c in pick.ranked]
        if pick.chosen is None:
            _, why = rules.queued_reason(skill=skill, min_tier=min_tier, pool=pick.pool)
            record_decision(
                ticket, outcome=Outcome.KEPT, agent=current, skill=skill, rule=rules.RULE_NOBODY,
                explanation=f"{reason}: nobody of tier >= {min_tier} ({why}); stays with {current}",
                candidates=candidates, **common,
            )
            return None
        release_slots(current.user_id)
        why = f"{reason}: " + rules.explain_assignment(
            pick.chosen, pick.rule, considered=len(pick.ranked)
        )
        decision = record_decision(
            ticket, outcome=Outcome.ASSIGNED, agent_id=pick.chosen.agent_id, skill=skill,
            rule=pick.rule, explanation=why[:500], candidates=candidates, **common,
        )
        _set_assignee(ticket, user_id, pick.chosen.username, now)
        timeline.add(
            Kind.ASSIGNED, None, decision_id=decision.pk, agent=pick.chosen.username,
            explanation=decision.explanation, previous=str(current),
        )
        timeline.flush()
        dispatch_queue(agent=current)
        return AgentProfile.objects.select_related("user").get(pk=pick.chosen.agent_id)
