"""The ticket flows the API and the admin call: each is one transaction and reads top to
bottom. This module sits above the other apps (it may import routing, sla, classifier);
tickets.models and tickets.services sit below them (see README "Architecture")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from classifier import services as classifier
from incidents import surge
from observability import metrics
from routing import services as routing
from routing.claiming import assignee_tier
from sla import retarget
from sla import services as sla
from tickets import services
from tickets.models import Category, Comment, Rating, Ticket

log = logging.getLogger("tickets.intake")
# edit_ticket's "leave the assignee as it is" (None means unassign).
UNCHANGED: Any = object()


def submit_ticket(
    *,
    customer: User,
    subject: str,
    description: str,
    priority: str,
    channel: str = Ticket.Channel.API,
    before_commit: Callable[[Ticket], None] | None = None,
) -> Ticket:
    """Intake: create -> classify -> route -> start clocks, all-or-nothing; then, committed,
    it counts towards surge detection (which may link it to an incident).
    `before_commit(ticket)` runs last inside the transaction (the API renders its
    response from memory and stores its idempotency record there, so a ticket never exists
    without it)."""
    # Classifying is CPU work: done before the transaction, so no connection or lock waits on it.
    guess = classifier.classify(subject, description)
    with transaction.atomic(durable=True):
        now = timezone.now()
        decided = classifier.ticket_fields(guess)
        category = decided.get("category")
        # Routing picks the agent (and takes their slot) and the SLA plan computes the due
        # times before the INSERT, which then carries category, assignee and sla_due_at:
        # no UPDATE of the new ticket afterwards.
        route = routing.plan_route(category=category, priority=priority)
        clocks = sla.plan_ticket_clocks(
            priority=priority, category_id=category.pk if category else None, started_at=now
        )
        ticket, timeline = services.create_ticket(
            customer=customer,
            subject=subject,
            description=description,
            priority=priority,
            channel=channel,
            created_at=now,
            decided_fields={
                **decided,
                **route.ticket_fields,
                "sla_due_at": sla.earliest_due(clocks),
            },
        )
        classifier.apply_prediction(ticket=ticket, prediction=guess, timeline=timeline)
        routing.route_ticket(ticket=ticket, timeline=timeline, plan=route)  # records why
        sla.start_ticket_clocks(ticket=ticket, timeline=timeline, planned=clocks)
        timeline.flush()
        if before_commit:
            before_commit(ticket)
    # After commit: the surge counters are hot rows under an outage, never held by an intake.
    surge.observe(ticket)
    _report_intake(ticket, guess)
    return ticket


def _report_intake(ticket: Ticket, guess: Any) -> None:
    """Metrics (in-memory increments) and one log line with the reference, for a committed
    intake."""
    routing_outcome = ("assigned" if ticket.assignee_id else
                       "queued" if ticket.category_id else "not_routed")
    category = ticket.category.slug if ticket.category_id and ticket.category else None
    metrics.ticket_ingested(channel=ticket.channel,
                            confidence=guess.confidence if guess is not None else None,
                            categorized=ticket.category_id is not None, routing=routing_outcome)
    log.info("ticket %s ingested: %s, %s", ticket.reference, category or "triage",
             routing_outcome, extra={"ticket": ticket.reference, "category": category,
                                     "confidence": round(guess.confidence, 4) if guess else None,
                                     "routing": routing_outcome, "priority": ticket.priority})


def reply(
    *, ticket: Ticket, author: User, body: str, internal: bool, is_staff: bool,
    before_commit: Callable[[Comment], None] | None = None,
) -> Comment:
    """A reply or internal note, with its lifecycle effects (first response, reopen).
    `before_commit(comment)` runs last inside the transaction (the incident relay records
    there that it posted this reply)."""
    with transaction.atomic(durable=True):
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        old_status, was_answered = ticket.status, ticket.first_response_at is not None
        comment, timeline = services.add_comment(
            ticket=ticket, author=author, body=body, internal=internal, is_staff=is_staff
        )
        # A customer reply can reopen a resolved ticket: it counts on its assignee's load again.
        routing.ticket_status_changed(
            ticket=ticket, old_status=old_status, actor=author, timeline=timeline
        )
        # First public staff reply stops the first-response clock; a customer reply on a
        # pending ticket resumes the resolution clock.
        sla.on_ticket_change(ticket=ticket, old_status=old_status, was_answered=was_answered)
        timeline.flush()
        if before_commit:
            before_commit(comment)
        if is_staff and not internal:
            _notify_customer(ticket.pk, "reply", comment.pk)
    return comment


def update_status(
    *, ticket: Ticket, status: str, actor: User | None, reason: str = ""
) -> Ticket:
    with transaction.atomic():  # also called from admin actions and other flows
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        old_status, was_answered = ticket.status, ticket.first_response_at is not None
        timeline = services.change_status(ticket=ticket, status=status, actor=actor, reason=reason)
        # Resolving/closing frees the assignee's slot for the next queued ticket (and back).
        routing.ticket_status_changed(
            ticket=ticket, old_status=old_status, actor=actor, timeline=timeline
        )
        timeline.flush()
        sla.on_ticket_change(ticket=ticket, old_status=old_status, was_answered=was_answered)
        if ticket.status == Ticket.Status.RESOLVED and old_status != Ticket.Status.RESOLVED:
            _notify_customer(ticket.pk, "resolved")
    return ticket


def edit_ticket(
    *,
    ticket: Ticket,
    actor: User,
    priority: str,
    category: Category | None,
    status: str | None,
    reply: str,
    internal: bool,
    assignee: Any = UNCHANGED,
    over_capacity_ok: bool = False,
) -> Ticket:
    """An agent's edit in the admin: each change is applied by its service and lands on the
    timeline; unchanged values write nothing. All or nothing (not durable: the admin's change
    view already runs inside its own transaction).
    `assignee` (a user, or None to unassign) reassigns by hand; an agent at capacity needs
    `over_capacity_ok` (else routing.services.OverCapacityError and nothing is saved). A
    category set on an unassigned ticket routes it like intake does. A new priority or
    category re-targets the running SLA clocks (sla.retarget.retarget_ticket_clocks)."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        old_status, was_answered = ticket.status, ticket.first_response_at is not None
        old_priority, old_category = ticket.priority, ticket.category
        repriced = recategorized = None
        timelines = []
        category_changed = category != ticket.category
        if priority != ticket.priority:
            repriced = services.change_priority(ticket=ticket, priority=priority, actor=actor)
            timelines.append(repriced)
        if category_changed:
            recategorized = services.set_category(
                ticket=ticket, category=category, actor=actor, source=Ticket.CategorySource.AGENT
            )
            timelines.append(recategorized)
        if reply.strip():
            comment, timeline = services.add_comment(
                ticket=ticket, author=actor, body=reply, internal=internal, is_staff=True
            )
            timelines.append(timeline)
            if not internal:
                _notify_customer(ticket.pk, "reply", comment.pk)
        if status and status != ticket.status:
            timelines.append(services.change_status(ticket=ticket, status=status, actor=actor))
        routed = services.Timeline(ticket)
        timelines.append(routed)
        routing.ticket_status_changed(
            ticket=ticket, old_status=old_status, actor=actor, timeline=routed
        )
        if assignee is not UNCHANGED and getattr(assignee, "pk", None) != ticket.assignee_id:
            routing.assign_manually(
                ticket=ticket,
                user=assignee,
                actor=actor,
                over_capacity_ok=over_capacity_ok,
                timeline=routed,
            )
        elif category_changed:
            routing.route_ticket(ticket=ticket, timeline=routed, trigger="categorized", actor=actor)
        changed_on = repriced or recategorized  # the timeline of the first change made
        if changed_on is not None:
            # The clocks take the targets of the policy the new priority and category select
            # (a category may have a policy of its own) before this edit's reply or status
            # stops or pauses them; the change's event records each clock's old and new deadline.
            changes = []
            if repriced is not None:
                changes.append(f"priority {old_priority} -> {priority}")
            if recategorized is not None:
                changes.append(f"category {_slug(old_category)} -> {_slug(category)}")
            _retarget_clocks(ticket, "; ".join(changes), changed_on)
        sla.on_ticket_change(ticket=ticket, old_status=old_status, was_answered=was_answered)
        for timeline in timelines:
            timeline.flush()
        if ticket.status == Ticket.Status.RESOLVED and old_status != Ticket.Status.RESOLVED:
            _notify_customer(ticket.pk, "resolved")
    return ticket


def recategorize(*, ticket: Ticket, category: Category, actor: User) -> Ticket:
    """An agent confirms or changes a ticket's category (the admin's bulk action): a confirmed
    label for the classifier's next training, and a `categorized` event; the SLA clocks take
    the targets of the policy the category selects. No-op if unchanged and already confirmed
    by a human."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.category_id == category.pk and ticket.category_source == (
            Ticket.CategorySource.AGENT
        ):
            return ticket
        old_category = ticket.category
        timeline = services.set_category(
            ticket=ticket, category=category, actor=actor, source=Ticket.CategorySource.AGENT
        )
        _retarget_clocks(ticket, f"category {_slug(old_category)} -> {category.slug}", timeline)
        # Set by hand, routed the same way as intake (an assigned ticket stays put).
        routing.route_ticket(ticket=ticket, timeline=timeline, trigger="categorized", actor=actor)
        timeline.flush()
    return ticket


def _retarget_clocks(ticket: Ticket, reason: str, timeline: services.Timeline) -> None:
    """Re-target the ticket's open clocks and note what moved on the change's event."""
    retargeted = retarget.retarget_ticket_clocks(ticket=ticket, reason=reason)
    if retargeted and timeline.events:
        timeline.events[-1].data["sla"] = retargeted


def _notify_customer(ticket_id: int, kind: str, comment_id: int | None = None) -> None:
    """E-mail the customer (tickets.tasks) once the change is committed: a rolled-back reply is
    never announced, and the mail server's speed never holds the ticket's row lock."""
    transaction.on_commit(
        partial(async_task, "tickets.tasks.email_customer", ticket_id, kind, comment_id,
                task_name=f"customer-{kind}", group="customer-notices")
    )


def customer_closes(*, ticket: Ticket, customer: User, confirm: bool) -> Ticket:
    """The customer closes their ticket: `confirm` a resolution (only a resolved ticket), or
    close it whatever its state (e.g. solved on their own). Closing stops its SLA clocks and
    frees the assignee's slot. TicketStateError when not allowed."""
    if confirm and ticket.status != Ticket.Status.RESOLVED:
        raise services.TicketStateError("Only a resolved ticket can be confirmed.")
    if ticket.status == Ticket.Status.CLOSED:
        raise services.TicketStateError("This ticket is already closed.")
    reason = "resolution confirmed by the customer" if confirm else "closed by the customer"
    return update_status(ticket=ticket, status=Ticket.Status.CLOSED, actor=customer, reason=reason)


def rate(*, ticket: Ticket, customer: User, score: int, comment: str) -> Rating:
    """The customer's 1-5 rating of their resolved ticket, once (services.rate_ticket)."""
    with transaction.atomic(durable=True):
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        return services.rate_ticket(ticket=ticket, customer=customer, score=score,
                                    comment=comment)


def _slug(category: Category | None) -> str:
    return category.slug if category else "none"


def assign_to(*, ticket: Ticket, user: User, actor: User) -> Ticket:
    """"Assign to me" (or to someone) by hand, within capacity: routing refuses an agent at
    capacity (OverCapacityError) and records the decision and event otherwise."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise services.TicketStateError(f"A {ticket.status} ticket cannot be assigned.")
        timeline = services.Timeline(ticket)
        routing.assign_manually(
            ticket=ticket, user=user, actor=actor, over_capacity_ok=False, timeline=timeline
        )
        timeline.flush()
    return ticket


PRIORITY_UP = {"low": "normal", "normal": "high", "high": "urgent"}


def escalate_by_hand(*, ticket: Ticket, actor: User, reason: str = "") -> Ticket:
    """An agent escalates: the priority goes one step up (its SLA clocks re-targeted like any
    priority change) and the ticket moves to an agent of a higher tier than its assignee's
    when one has room (else it stays, and the tier requirement sticks in the queue). One
    `escalated` event says who, why and what happened."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if not ticket.is_open:
            raise services.TicketStateError(f"A {ticket.status} ticket cannot be escalated.")
        old_priority = ticket.priority
        timeline = services.Timeline(ticket)
        data: dict[str, Any] = {"by_hand": True, "reason": reason}
        if higher := PRIORITY_UP.get(ticket.priority):
            timeline.events += services.change_priority(
                ticket=ticket, priority=higher, actor=actor, reason="escalated by hand"
            ).events
            data["priority"] = [old_priority, higher]
            _retarget_clocks(ticket, f"priority {old_priority} -> {higher}", timeline)
        tier = assignee_tier(ticket)
        agent = routing.escalate_assignment(
            ticket=ticket, min_tier=min(3, (tier or 1) + 1), reason=f"escalated by {actor}"
        )
        data["reassigned"] = agent is not None and agent.user_id != ticket.assignee_id
        timeline.add(services.Kind.ESCALATED, actor, **data)
        timeline.flush()
    ticket.refresh_from_db()
    return ticket
