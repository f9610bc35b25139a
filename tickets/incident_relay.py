"""Customers in the loop: an incident's public status updates reach its linked tickets as
replies, and resolving an incident may resolve its linked tickets. django-q2 tasks (enqueued
by incidents.flows in the incident's transaction, by name: the incidents app sits below the
ticket flows), on the tickets edge because they run the ticket flows.

At least once made exactly once: each relayed reply is recorded (UpdateReply, unique per
update and ticket) in the reply's own transaction, so a redelivered task skips tickets already
answered, and two deliveries racing on one ticket end with one reply (the loser's unique
violation rolls its reply back)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import IntegrityError

from incidents.models import Incident, StatusUpdate, UpdateReply
from tickets import flows
from tickets.models import Comment, Ticket
from tickets.services import TicketStateError

log = logging.getLogger(__name__)


def reply_text(update: StatusUpdate) -> str:
    incident = update.incident
    return (
        f"Update on incident {incident.reference} ({incident.title}), which affects this "
        f"ticket:\n\n{update.body}"
    )


def relay_update(update_id: int) -> int:
    """Post the public update to every linked ticket that has not had it; returns how many
    replies were posted. Closed tickets are skipped (nobody replies to a closed ticket)."""
    update = StatusUpdate.objects.select_related("incident", "author").get(pk=update_id)
    if not update.public or update.author is None:
        return 0
    done = set(UpdateReply.objects.filter(update=update).values_list("ticket_id", flat=True))
    posted = 0
    for ticket in Ticket.objects.filter(incident_links__incident=update.incident).exclude(
        status=Ticket.Status.CLOSED
    ).exclude(pk__in=done).order_by("pk"):
        try:
            flows.reply(
                ticket=ticket, author=update.author, body=reply_text(update), internal=False,
                is_staff=True, before_commit=_recorder(update, ticket),
            )
            posted += 1
        except IntegrityError:
            continue  # another delivery of this task replied first
        except TicketStateError:
            continue  # closed meanwhile
    return posted


def _recorder(update: StatusUpdate, ticket: Ticket) -> Callable[[Comment], None]:
    def record(comment: Comment) -> None:
        UpdateReply.objects.create(update=update, ticket=ticket, comment=comment)

    return record


def resolve_linked(incident_id: int, actor_id: int | None) -> int:
    """Resolve the incident's linked open tickets (the person resolving it asked for it)."""
    incident = Incident.objects.get(pk=incident_id)
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    resolved = 0
    for ticket in Ticket.objects.filter(
        incident_links__incident=incident, status__in=Ticket.OPEN_STATUSES
    ).order_by("pk"):
        try:
            flows.update_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=actor,
                                reason=f"incident {incident.reference} resolved")
            resolved += 1
        except TicketStateError:
            log.info("ticket %s could not be resolved with its incident", ticket.pk)
    return resolved
