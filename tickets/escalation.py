"""What an SLA escalation does to a ticket, registered with the watcher (sla.effects) by
TicketsConfig.ready(). On the tickets edge, beside tickets.flows, because it joins the ticket
services, routing and the clocks the way the flows do:

- warning (80 %): a `sla_warning` event; the assignee is told, or the managers when nobody is
  assigned (the ticket is already first in the queue, but someone must know);
- breach: `sla_breached`, the priority one step up (once per ticket per batch) and `escalated`;
  the raised priority re-targets the ticket's running clocks exactly like an agent's priority
  change (tickets.flows.edit_ticket): the same rules (sla.retarget), so a bump by the watcher
  and by a person mean the same thing. Managers and the assignee are told;
- second level: reassignment to a higher tier through routing, or the on-call page when
  nobody of that tier has room.

Also registers routing's queue top-up as a watcher pass hook (sla does not import routing)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from routing import services as routing
from sla import effects, retarget
from sla.effects import Audience, Reached
from sla.models import SlaClock
from tickets import services
from tickets.models import Ticket, TicketEvent

Level = SlaClock.Level
Kind = TicketEvent.Kind
# Keyed by plain values: priorities are read back as str, not as choices.
PRIORITY_UP: dict[str, str] = {
    Ticket.Priority.LOW: Ticket.Priority.NORMAL,
    Ticket.Priority.NORMAL: Ticket.Priority.HIGH,
    Ticket.Priority.HIGH: Ticket.Priority.URGENT,
}


class TicketEffects:
    kind = "ticket"

    def lock(self, ids: Collection[int]) -> Mapping[int, Ticket]:
        return {
            t.pk: t
            for t in Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("assignee")
            .filter(pk__in=ids)
        }

    def apply(self, reached: list[Reached], *, now: datetime, audience: Audience) -> None:
        timelines: dict[int, services.Timeline] = {}
        bumps: dict[int, tuple[Ticket, str, str]] = {}  # ticket id -> (ticket, old, reason)
        for item in reached:
            ticket: Ticket = item.subject
            timeline = timelines.setdefault(ticket.pk, services.Timeline(ticket))
            clock, escalation = item.clock, item.escalation
            data = {"stage": clock.stage, "cycle": clock.cycle, "level": escalation.level,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None}
            assignee = [ticket.assignee.email] if ticket.assignee and ticket.assignee.email else []
            if escalation.level == Level.WARNING:
                timeline.add(Kind.SLA_WARNING, None, **data)
                escalation.actions["notify"] = "assignee" if ticket.assignee_id else "managers"
                item.recipients = assignee if ticket.assignee_id else audience.managers()
            elif escalation.level == Level.BREACH:
                timeline.add(Kind.SLA_BREACHED, None, **data)
                actions: dict[str, Any] = {"notify": "managers"}
                # One priority step per ticket per batch, even when two of its clocks breach.
                if ticket.pk not in bumps and (higher := PRIORITY_UP.get(ticket.priority)):
                    bumps[ticket.pk] = (ticket, ticket.priority, f"SLA {clock.stage} breached")
                    actions["priority"] = [ticket.priority, higher]
                    ticket.priority = higher
                    # The priority change's event goes here, between breach and escalation.
                    timeline.add(Kind.PRIORITY_CHANGED, None, old=actions["priority"][0],
                                 new=higher, reason=bumps[ticket.pk][2])
                timeline.add(Kind.ESCALATED, None, **data, **actions)
                escalation.actions.update(actions)
                item.recipients = sorted({*audience.managers(), *assignee})
            else:
                actions, new_assignee = _reassign(ticket, clock)
                timeline.add(Kind.ESCALATED, None, **data, **actions)
                escalation.actions.update(actions)
                # The agent who now has it is told; nobody free of that tier: on-call is paged.
                item.recipients = new_assignee if actions["reassigned"] else audience.oncall()
        if bumps:
            # The raised priorities' targets for the tickets' running clocks, all at once.
            moved = retarget.retarget_tickets(
                [ticket for ticket, _, _ in bumps.values()],
                reasons={pk: f"{reason}: priority {old} -> {ticket.priority}"
                         for pk, (ticket, old, reason) in bumps.items()},
                now=now,
            )
            services.save_priorities([ticket for ticket, _, _ in bumps.values()], now=now)
            for pk, records in moved.items():
                _note_moves(timelines[pk], records)
        # One INSERT for every ticket's events of the batch.
        TicketEvent.objects.bulk_create(
            [event for timeline in timelines.values() for event in timeline.events]
        )

    def describe(self, subject: Ticket) -> dict[str, Any]:
        return {
            "type": "ticket", "id": subject.pk, "reference": subject.reference,
            "priority": subject.priority, "title": subject.subject,
            "url": reverse("admin:tickets_ticket_change", args=[subject.pk]),
        }


def _note_moves(timeline: services.Timeline, records: list[dict[str, Any]]) -> None:
    """What the bump moved goes on its priority_changed event, as an agent's change notes it."""
    changed = [e for e in timeline.events if e.kind == Kind.PRIORITY_CHANGED]
    if records and changed:
        changed[-1].data["sla"] = records


def _reassign(ticket: Ticket, clock: SlaClock) -> tuple[dict[str, Any], list[str]]:
    """Second level: hand the ticket to an agent of a higher tier through routing; when nobody
    of that tier has room, page the on-call manager. Returns what was done and the new
    assignee's address (to tell them)."""
    old = ticket.assignee_id
    # Runs in the watcher's transaction (it joins it), with the ticket row it holds locked: the
    # reassignment commits iff this escalation does. It returns the agent now responsible, or
    # None when nobody of that tier has room (then only the on-call page remains).
    agent = routing.escalate_assignment(
        ticket=ticket, min_tier=settings.SLA_ESCALATION_MIN_TIER,
        reason=f"SLA {clock.stage} overdue",
    )
    new = getattr(agent, "user_id", None) if agent is not None else None
    if agent is None or new is None:
        return {"notify": "oncall", "reassigned": False}, []
    ticket.assignee_id = new
    email = [agent.user.email] if agent.user.email else []
    return {"notify": "assignee" if new != old else "oncall", "reassigned": new != old,
            "from": old, "to": new}, email


def register() -> None:
    effects.register(TicketEffects())
    # The routing queue's safety net: tickets left unassigned (no agent free at intake, or a
    # slot freed by a transaction that raced the intake) get another chance every pass.
    effects.register_pass_hook("routing.dispatch_all", routing.dispatch_all)
