"""Workspace blocks for pages the desk does not own: the incident page's header with its stage
clocks as badges ("respond · overdue by 12 min") in the viewer's time zone, MTTA/MTTR so far,
status updates and linked tickets at a glance (the incident admin keeps its full inlines)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from desk.present import clock_badge, duration, local
from incidents.models import Incident
from sla.models import SlaClock

register = template.Library()

STAGE_ORDER = ["detect", "classify", "respond", "resolve", "status_update", "postmortem"]


@register.inclusion_tag("desk/incident_summary.html")
def incident_summary(incident: Incident | None) -> dict[str, Any]:
    """Three queries: the clocks, the latest updates, the linked tickets."""
    if incident is None or incident.pk is None:
        return {"incident": None}
    now = timezone.now()
    latest: dict[str, SlaClock] = {}
    for clock in SlaClock.objects.filter(incident_id=incident.pk).order_by("cycle", "id"):
        latest[clock.stage] = clock  # the current cycle of each stage
    badges = [clock_badge(latest[s], now) for s in sorted(
        latest, key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 99)]
    updates = list(incident.updates.select_related("author").order_by("-created_at")[:3])
    tickets = list(incident.ticket_links.select_related("ticket").order_by("-linked_at")[:10])
    ack = incident.acknowledged_at
    return {
        "incident": incident,
        "badges": badges,
        "detected": local(incident.detected_at),
        "tta": duration(ack - incident.detected_at) if ack else None,
        "ttr": duration(incident.resolved_at - incident.detected_at)
        if incident.resolved_at else None,
        "open_for": duration(now - incident.detected_at) if incident.is_open else None,
        "updates": [{"at": local(u.created_at), "who": u.author.get_username() if u.author
                     else "Switchboard", "public": u.public, "body": u.body} for u in updates],
        "tickets": [link.ticket for link in tickets],
    }
