"""Every write to tickets, comments and the timeline.

These functions do not open transactions of their own: the flow that calls them (tickets.flows,
an admin action, a task) holds exactly one, so a request is all-or-nothing and the hot path pays
no SAVEPOINT round trips. `require_transaction` turns a missing one into a loud error.

Timeline events are buffered: each function returns the Timeline it added to, and the caller
flushes it (one INSERT for all of a flow's events) before its transaction ends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from tickets.models import STATUS_TRANSITIONS, Category, Comment, Rating, Ticket, TicketEvent
from tickets.sql import bulk_set

Kind = TicketEvent.Kind


class TicketStateError(Exception):
    """A change the ticket's lifecycle does not allow (e.g. replying to a closed ticket)."""


def require_transaction(module: str = "tickets.services") -> None:
    """Services that write without a transaction of their own call this first: a caller that
    forgot the transaction fails loudly instead of half-writing."""
    if not connection.in_atomic_block:
        raise RuntimeError(f"{module} functions must run inside transaction.atomic()")


@dataclass
class Timeline:
    """Collects a flow's events and writes them in one INSERT (bulk_create) at the end, so a
    ticket creation that is categorized, routed and clocked costs one statement for its
    timeline instead of one per step."""

    ticket: Ticket
    events: list[TicketEvent] = field(default_factory=list)

    def add(self, kind: str, actor: User | None = None, **data: Any) -> TicketEvent:
        event = TicketEvent(
            ticket=self.ticket, kind=kind, actor=actor, data=data, created_at=timezone.now()
        )
        self.events.append(event)
        return event

    def flush(self) -> list[TicketEvent]:
        require_transaction()
        written, self.events = self.events, []
        if written:
            TicketEvent.objects.bulk_create(written)
        return written


def create_ticket(
    *,
    customer: User,
    subject: str,
    description: str,
    priority: str = Ticket.Priority.NORMAL,
    channel: str = Ticket.Channel.API,
    created_at: datetime | None = None,
    decided_fields: Mapping[str, Any] | None = None,
) -> tuple[Ticket, Timeline]:
    """Insert a ticket and start its timeline with a `created` event (written on flush).
    `decided_fields` are columns other steps decided before the insert (category from the
    classifier, assignee from routing, sla_due_at from the SLA plan), so they ride in the same
    INSERT instead of each costing an UPDATE.
    Returns the ticket and its Timeline for the caller's later steps to add to."""
    require_transaction()
    now = created_at or timezone.now()
    ticket = Ticket.objects.create(
        customer=customer,
        subject=subject,
        description=description,
        priority=priority,
        channel=channel,
        created_at=now,
        updated_at=now,
        **(decided_fields or {}),
    )
    timeline = Timeline(ticket)
    timeline.add(Kind.CREATED, customer, priority=priority, channel=channel)
    return ticket, timeline


def add_comment(
    *, ticket: Ticket, author: User, body: str, internal: bool, is_staff: bool
) -> tuple[Comment, Timeline]:
    """Add a reply or internal note and apply its lifecycle effects:
    - a staff public reply is the ticket's first response (once) and opens a new ticket;
    - a customer reply reopens a ticket that was pending on them or resolved;
    - nobody replies to a closed ticket (TicketStateError).
    Internal notes are for staff only (enforced by the caller's permission check too)."""
    require_transaction()
    if ticket.status == Ticket.Status.CLOSED:
        raise TicketStateError("This ticket is closed; open a new ticket instead.")
    if internal and not is_staff:
        raise TicketStateError("Only staff can add internal notes.")
    now = timezone.now()
    comment = Comment.objects.create(
        ticket=ticket, author=author, body=body, internal=internal, created_at=now
    )
    timeline = Timeline(ticket)
    timeline.add(Kind.COMMENTED, author, comment_id=comment.pk, internal=internal)

    changed: list[str] = ["updated_at"]
    ticket.updated_at = now
    if is_staff and not internal:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            changed.append("first_response_at")
        if ticket.status == Ticket.Status.NEW:
            _set_status(ticket, Ticket.Status.OPEN, author, timeline, changed, reason="reply")
    elif not is_staff and ticket.status in (Ticket.Status.PENDING, Ticket.Status.RESOLVED):
        _set_status(ticket, Ticket.Status.OPEN, author, timeline, changed, reason="customer reply")
    ticket.save(update_fields=changed)
    return comment, timeline


def change_status(
    *, ticket: Ticket, status: str, actor: User | None, reason: str = ""
) -> Timeline:
    """Move the ticket along its lifecycle (see STATUS_TRANSITIONS); idempotent for the
    current status (no event), TicketStateError for a transition that is not allowed."""
    require_transaction()
    timeline = Timeline(ticket)
    if status == ticket.status:
        return timeline
    changed = ["updated_at"]
    ticket.updated_at = timezone.now()
    _set_status(ticket, status, actor, timeline, changed, reason=reason)
    ticket.save(update_fields=changed)
    return timeline


def _set_status(
    ticket: Ticket,
    status: str,
    actor: User | None,
    timeline: Timeline,
    changed: list[str],
    *,
    reason: str,
) -> None:
    if status not in STATUS_TRANSITIONS[ticket.status]:
        raise TicketStateError(f"A {ticket.status} ticket cannot become {status}.")
    old, now = ticket.status, timezone.now()
    ticket.status = status
    changed.append("status")
    stamps: dict[str, str] = {
        Ticket.Status.RESOLVED: "resolved_at",
        Ticket.Status.CLOSED: "closed_at",
    }
    if status in stamps:
        setattr(ticket, stamps[status], now)
        changed.append(stamps[status])
    if old == Ticket.Status.RESOLVED and status == Ticket.Status.OPEN:
        ticket.resolved_at = None  # reopened: the resolution no longer stands
        changed.append("resolved_at")
    timeline.add(Kind.STATUS_CHANGED, actor, old=old, new=status, reason=reason)


def change_priority(
    *, ticket: Ticket, priority: str, actor: User | None, reason: str = ""
) -> Timeline:
    require_transaction()
    timeline = Timeline(ticket)
    if priority == ticket.priority:
        return timeline
    old = ticket.priority
    ticket.priority = priority
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["priority", "updated_at"])
    timeline.add(Kind.PRIORITY_CHANGED, actor, old=old, new=priority, reason=reason)
    return timeline


def save_priorities(tickets: list[Ticket], *, now: datetime) -> None:
    """Write the priorities (and the SLA due times that follow from them) already set on the
    tickets in memory, in one UPDATE for all: the SLA watcher's batch of breach bumps. Their
    events are the caller's (it orders them)."""
    require_transaction()
    for ticket in tickets:
        ticket.updated_at = now
    bulk_set(tickets, ["priority", "updated_at", "sla_due_at"])


def set_category(
    *,
    ticket: Ticket,
    category: Category | None,
    actor: User | None,
    source: str,
    timeline: Timeline | None = None,
) -> Timeline:
    """Set (or clear) the category by hand or by import; clears the triage flag. The classifier
    path writes its own fields in classifier.services."""
    require_transaction()
    timeline = timeline or Timeline(ticket)
    old = ticket.category.slug if ticket.category else None
    ticket.category = category
    ticket.category_source = source if category else Ticket.CategorySource.NONE
    ticket.needs_triage = category is None
    ticket.updated_at = timezone.now()
    ticket.save(
        update_fields=["category", "category_source", "needs_triage", "updated_at"]
    )
    timeline.add(
        Kind.CATEGORIZED,
        actor,
        old=old,
        new=category.slug if category else None,
        source=source,
    )
    return timeline


def rate_ticket(*, ticket: Ticket, customer: User, score: int, comment: str) -> Rating:
    """The customer's rating of their resolved (or closed) ticket, once: TicketStateError if
    it is still open or already rated. Caller holds the ticket row lock."""
    require_transaction()
    if ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        raise TicketStateError("Only a resolved or closed ticket can be rated.")
    if Rating.objects.filter(ticket=ticket).exists():
        raise TicketStateError("This ticket has already been rated.")
    rating = Rating.objects.create(ticket=ticket, customer=customer, score=score, comment=comment)
    timeline = Timeline(ticket)
    timeline.add(Kind.RATED, customer, score=score)
    timeline.flush()
    return rating
