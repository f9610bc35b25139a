"""The ticket page's read-only blocks (tickets.admin.TicketAdmin shows them): the summary with
SLA badges, the conversation (internal notes marked), the clocks, the routing decision and the
timeline, all in words and in the agent's time zone. Each block is one query at most, over
rows the admin's change view prefetches (desk.ticket_page.load)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from desk.present import current_badges, describe_event, duration, local, stage_label
from routing.models import RoutingDecision
from sla.models import SlaClock
from tickets.models import Comment, Ticket, TicketEvent


@dataclass
class TicketView:
    ticket: Ticket
    comments: list[Comment]
    events: list[TicketEvent]
    clocks: list[SlaClock]
    decision: RoutingDecision | None
    now: datetime


def load(ticket: Ticket) -> TicketView:
    """Four queries: comments with authors, events with actors, clocks, the latest decision."""
    comments = list(Comment.objects.filter(ticket=ticket).select_related("author"))
    events = list(TicketEvent.objects.filter(ticket=ticket).select_related("actor"))
    clocks = list(SlaClock.objects.filter(ticket=ticket).order_by("started_at", "id"))
    decision = (
        RoutingDecision.objects.filter(ticket=ticket).select_related("agent__user")
        .order_by("-id").first()
    )
    return TicketView(ticket, comments, events, clocks, decision, timezone.now())


def cached(ticket: Ticket) -> TicketView:
    view = getattr(ticket, "_desk_view", None)
    if view is None:
        view = load(ticket)
        ticket._desk_view = view  # type: ignore[attr-defined]  # one load per change view
    return view


def summary(ticket: Ticket) -> SafeString:
    view = cached(ticket)
    return render_to_string("desk/ticket_summary.html", {
        "t": ticket, "badges": current_badges(view.clocks, view.now),
        "age": duration(view.now - ticket.created_at), "created": local(ticket.created_at),
    })


def conversation(ticket: Ticket) -> SafeString:
    view = cached(ticket)
    messages: list[dict[str, Any]] = [{
        "who": ticket.customer.get_username(), "at": local(ticket.created_at),
        "body": ticket.description, "kind": "customer", "subject": ticket.subject,
    }]
    for c in view.comments:
        kind = "note" if c.internal else (
            "customer" if c.author_id == ticket.customer_id else "staff")
        messages.append({"who": c.author.get_username(), "at": local(c.created_at),
                         "body": c.body, "kind": kind})
    return render_to_string("desk/conversation.html", {"messages": messages})


def clocks(ticket: Ticket) -> SafeString:
    view = cached(ticket)
    rows = []
    for clock in view.clocks:
        badge = current_badges([clock], view.now)[0]
        cycle = f" (cycle {clock.cycle})" if clock.cycle > 1 else ""
        rows.append({
            "stage": stage_label(clock.stage) + cycle,
            "badge": badge, "target": duration(timedelta(seconds=clock.target_seconds)),
            "started": local(clock.started_at), "due": local(clock.due_at),
            "policy": clock.policy_name,
        })
    return render_to_string("desk/clocks.html", {"rows": rows})


def routing_explanation(ticket: Ticket) -> str:
    decision = cached(ticket).decision
    if decision is None:
        return ("Not routed yet: it has no category (triage)." if ticket.needs_triage
                else "No routing decision recorded.")
    when = local(decision.created_at)
    verb = {"assigned": "Assigned", "queued": "Queued", "unassigned": "Unassigned",
            "kept": "Kept"}.get(decision.outcome, decision.outcome)
    return f"{verb} on {when} ({decision.trigger}): {decision.explanation}."


def guesses(ticket: Ticket) -> str:
    """The classifier's top guesses, in words, for a ticket it was unsure about."""
    if not ticket.category_guesses:
        return "-"
    parts = [f"{slug} ({p:.0%})" for slug, p in ticket.category_guesses]
    lead = ("The model was unsure; its best guesses: " if ticket.needs_triage
            else "Model's guesses: ")
    return lead + ", ".join(parts)


def timeline(ticket: Ticket) -> SafeString:
    view = cached(ticket)
    items = [{"at": local(e.created_at), "text": describe_event(e), "kind": e.kind}
             for e in view.events]
    return render_to_string("desk/timeline.html", {"items": items})

