"""The agents' workspace pages inside the admin (DeskAdminSite.get_urls wraps each in
admin_view: staff login required). Reads go through desk.queue; every write through
tickets.flows / routing, like the API's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from desk.queue import PRIORITY_RANK, SCOPES, QueueFilters, queue_page
from routing import agents as agent_services
from routing.claiming import claim_next_ticket, queue_depth
from routing.models import AgentProfile
from routing.services import RoutingError
from tickets import flows
from tickets.models import Category, Ticket
from tickets.roles import signed_in_user
from tickets.services import TicketStateError

CHANGE_TICKET = "tickets.change_ticket"


@permission_required("tickets.view_ticket", raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    from desk.site import site_context

    user = signed_in_user(request)
    filters = QueueFilters.from_query(request.GET)
    page = queue_page(user, filters, timezone.now())
    context = {
        **site_context(request, "Queue"),
        "page": page,
        "filters": filters,
        "scopes": [(key, label, filters.query(scope=key)) for key, label in SCOPES.items()],
        "categories": [
            (c.slug, c.name, filters.query(category=c.slug))
            for c in Category.objects.filter(is_active=True).only("slug", "name")
        ],
        "priorities": [(p, filters.query(priority=p)) for p in PRIORITY_RANK],
        "teams": [
            (t, filters.query(team=t))
            for t in AgentProfile.objects.exclude(team="").order_by("team")
            .values_list("team", flat=True).distinct()
        ],
        "clear": {
            "category": filters.query(category=""), "priority": filters.query(priority=""),
            "team": filters.query(team=""),
        },
        "prev_query": filters.query(page=filters.page - 1) if filters.page > 1 else None,
        "next_query": filters.query(page=filters.page + 1) if page.has_next else None,
        "queued": queue_depth(),
    }
    return TemplateResponse(request, "desk/queue.html", context)


@require_POST
@permission_required(CHANGE_TICKET, raise_exception=True)
def take_next(request: HttpRequest) -> HttpResponse:
    claim = claim_next_ticket(user=signed_in_user(request))
    if claim.ticket is None:
        messages.warning(request, claim.reason)
        return redirect("admin:desk_queue")
    messages.success(request, f"You took {claim.ticket.reference}: {claim.ticket.subject}")
    return redirect("admin:tickets_ticket_change", claim.ticket.pk)


@require_POST
@permission_required(CHANGE_TICKET, raise_exception=True)
def bulk_act(request: HttpRequest) -> HttpResponse:
    """The queue's action bar: assign to me, set pending, resolve, for the ticked rows."""
    user = signed_in_user(request)
    action = request.POST.get("action", "")
    ids = [int(i) for i in request.POST.getlist("ticket") if i.isdigit()]
    done, refused = 0, []
    for ticket in Ticket.objects.filter(pk__in=ids).order_by("pk"):
        try:
            if action == "assign_to_me":
                flows.assign_to(ticket=ticket, user=user, actor=user)
            elif action in ("pending", "resolved"):
                flows.update_status(ticket=ticket, status=action, actor=user)
            else:
                messages.error(request, "Choose an action.")
                break
            done += 1
        except (TicketStateError, RoutingError) as exc:
            refused.append(f"{ticket.reference}: {exc}")
    if done:
        messages.success(request, f"{done} ticket(s) updated.")
    for reason in refused:
        messages.warning(request, reason)
    return HttpResponseRedirect(request.POST.get("next") or reverse("admin:desk_queue"))


@require_POST
@permission_required(CHANGE_TICKET, raise_exception=True)
def ticket_act(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticket page's buttons: assign to me, escalate by hand."""
    user = signed_in_user(request)
    ticket = get_object_or_404(Ticket, pk=pk)
    action = request.POST.get("action")
    try:
        if action == "assign_to_me":
            flows.assign_to(ticket=ticket, user=user, actor=user)
            messages.success(request, f"{ticket.reference} is yours.")
        elif action == "escalate":
            reason = request.POST.get("reason", "").strip()[:200]
            ticket = flows.escalate_by_hand(ticket=ticket, actor=user, reason=reason)
            messages.success(request, f"Escalated: priority now {ticket.priority}.")
        else:
            messages.error(request, "Unknown action.")
    except (TicketStateError, RoutingError) as exc:
        messages.error(request, str(exc))
    return redirect("admin:tickets_ticket_change", pk)


@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """The header's availability switch: the signed-in agent's own profile only."""
    profile = getattr(request, "agent_profile", None)
    value = request.POST.get("availability", "")
    if profile is None or value not in AgentProfile.Availability.values:
        messages.error(request, "You have no agent profile, or that is not an availability.")
    elif not request.user.has_perm("routing.set_own_availability"):
        messages.error(request, "Your role cannot set availability.")
    else:
        profile = agent_services.set_availability(
            agent=profile, availability=value, actor=signed_in_user(request)
        )
        messages.success(request, f"You are now {value} (load {profile.load}/{profile.capacity}).")
    back = request.POST.get("next", "")
    return HttpResponseRedirect(back if back.startswith("/admin/") else reverse("admin:desk_queue"))
