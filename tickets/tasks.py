"""E-mails to customers (django-q2 tasks, enqueued by tickets.flows after the commit): a staff
reply, and the resolution with the way to confirm it and rate it. At least once: django-q2
may deliver a task twice, so a customer may rarely get a notice twice (never a wrong one)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from tickets.models import Comment, Ticket

log = logging.getLogger(__name__)


def email_customer(ticket_id: int, kind: str, comment_id: int | None = None) -> bool:
    """kind: "reply" (a public staff reply, `comment_id`) or "resolved". Returns whether a mail
    was sent (not when the customer has no address or the comment became invisible)."""
    ticket = Ticket.objects.select_related("customer").filter(pk=ticket_id).first()
    if ticket is None or not ticket.customer.email:
        return False
    api = f"{settings.SITE_URL}/api/v1/tickets/{ticket.pk}"
    if kind == "reply":
        comment = (
            Comment.objects.select_related("author")
            .filter(pk=comment_id, ticket=ticket, internal=False).first()
            if comment_id is not None else None
        )
        if comment is None:
            return False
        subject = f"[{ticket.reference}] Re: {ticket.subject}"
        body = (
            f"{comment.author.get_username()} replied to your ticket {ticket.reference}:\n\n"
            f"{comment.body}\n\n"
            f"-- \nRead the whole conversation: GET {api}/\n"
            f"Answer: POST {api}/comments/ with {{\"body\": \"...\"}}\n"
        )
    elif kind == "resolved":
        subject = f"[{ticket.reference}] Resolved: {ticket.subject}"
        body = (
            f"We have resolved your ticket {ticket.reference} ({ticket.subject}).\n\n"
            f"Is it solved for you? Confirm it: POST {api}/confirm/\n"
            f"Not solved? Reply and it reopens: POST {api}/comments/ with {{\"body\": \"...\"}}\n\n"
            f"How did we do? Rate us from 1 to 5 (once), with an optional comment:\n"
            f"POST {api}/rating/ with {{\"score\": 5, \"comment\": \"...\"}}\n"
        )
    else:
        raise ValueError(f"unknown customer notice {kind!r}")
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [ticket.customer.email])
    log.info("customer notice %s for %s sent", kind, ticket.reference)
    return True
