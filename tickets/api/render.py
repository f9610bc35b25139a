"""Hand-rolled rendering of a ticket for the create response: the hot path. Profiling showed
DRF building a ModelSerializer's fields on every instantiation costs ~1.3 ms of a ~4.3 ms create
request; this function produces the same JSON as TicketSerializer (a test compares the two)
for a fraction of that. Lists and details keep the serializers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from tickets.models import Ticket


def iso(value: datetime | None) -> str | None:
    """DRF's ISO 8601 datetime format in the current time zone (UTC): ...Z."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def render_ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "description": ticket.description,
        "priority": ticket.priority,
        "status": ticket.status,
        "channel": ticket.channel,
        "category": ticket.category.slug if ticket.category else None,
        "customer": ticket.customer.username,
        "assignee": ticket.assignee.username if ticket.assignee else None,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "first_response_at": iso(ticket.first_response_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
    }
