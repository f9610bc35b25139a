"""Tickets linked to an incident: by staff (API, admin) or by the surge detector. Each link is
on both timelines; linking twice is a no-op (unique pair)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.flows import locked
from incidents.models import Incident, IncidentEvent, IncidentTicket
from incidents.services import Timeline
from tickets import services as ticket_services
from tickets.models import Ticket, TicketEvent
from tickets.sql import insert_new


def link_tickets(
    *, incident: Incident, tickets: Sequence[Ticket], actor: User | None,
    reason: str = "manual", now: datetime | None = None,
) -> list[Ticket]:
    """Link tickets not linked yet; returns those newly linked. The caller may hold a ticket's
    lock (the intake does): the incident row is locked after it, and the watcher never waits
    for either, so no cycle can form."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        already = set(
            IncidentTicket.objects.filter(incident=incident, ticket__in=tickets)
            .values_list("ticket_id", flat=True)
        )
        new = [t for t in {t.pk: t for t in tickets}.values() if t.pk not in already]
        if not new:
            return []
        IncidentTicket.objects.bulk_create(
            [IncidentTicket(incident=incident, ticket=t, linked_by=actor, linked_at=now,
                            reason=reason) for t in new],
            ignore_conflicts=True,  # a racing link of the same pair: one row either way
        )
        timeline = Timeline(incident, now)
        timeline.add(IncidentEvent.Kind.TICKET_LINKED, actor, reason=reason,
                     tickets=[t.reference for t in new])
        _ticket_events(new, TicketEvent.Kind.INCIDENT_LINKED, actor, incident, reason=reason)
        timeline.flush()
    return new


def link_new_ticket(*, incident: Incident, ticket: Ticket, reason: str) -> bool:
    """Link a ticket just taken in to an open incident without locking the incident row (the
    surge detector, for every ticket of a surging key: they must not queue behind each other
    on one row). Three INSERTs in one transaction; False when it was linked already.
    `incident` needs its pk, reference and title only."""
    now = timezone.now()
    with transaction.atomic():
        linked = insert_new(IncidentTicket, {
            "incident": incident.pk, "ticket": ticket.pk, "reason": reason,
            "linked_at": now,
        }, conflict=("incident", "ticket"))
        if linked is None:
            return False
        timeline = Timeline(incident, now)
        timeline.add(IncidentEvent.Kind.TICKET_LINKED, None, reason=reason,
                     tickets=[ticket.reference])
        timeline.flush()
        _ticket_events([ticket], TicketEvent.Kind.INCIDENT_LINKED, None, incident, reason=reason)
    return True


def unlink_ticket(
    *, incident: Incident, ticket: Ticket, actor: User, now: datetime | None = None
) -> bool:
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        removed, _ = IncidentTicket.objects.filter(incident=incident, ticket=ticket).delete()
        if not removed:
            return False
        timeline = Timeline(incident, now)
        timeline.add(IncidentEvent.Kind.TICKET_UNLINKED, actor, tickets=[ticket.reference])
        _ticket_events([ticket], TicketEvent.Kind.INCIDENT_UNLINKED, actor, incident)
        timeline.flush()
    return True


def _ticket_events(
    tickets: Sequence[Ticket], kind: str, actor: User | None, incident: Incident, **data: object
) -> None:
    events: list[TicketEvent] = []
    for ticket in tickets:
        timeline = ticket_services.Timeline(ticket)
        timeline.add(kind, actor, incident=incident.reference, title=incident.title, **data)
        events += timeline.events
    TicketEvent.objects.bulk_create(events)
