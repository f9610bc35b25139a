"""Post-mortems: written by staff, published once the incident is resolved (which meets the
post-mortem stage), rendered as Markdown for the API and the admin. The impact figures and the
timeline are computed from the incident, never typed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.flows import locked
from incidents.models import ActionItem, Incident, IncidentEvent, PostMortem
from incidents.services import IncidentStateError, Timeline
from sla import services as sla
from tickets.models import Ticket

Kind = IncidentEvent.Kind
TEXT_FIELDS = ("summary", "impact", "detection", "root_cause", "trigger", "resolution", "lessons")


@dataclass(frozen=True)
class ActionItemInput:
    description: str
    owner: User | None = None
    due_date: date | None = None
    done: bool = False


def save_postmortem(
    *, incident: Incident, author: User, fields: dict[str, str],
    actions: Sequence[ActionItemInput] | None = None, now: datetime | None = None,
) -> PostMortem:
    """Create or update the post-mortem's text; `actions`, when given, replaces the action
    items. Allowed at any time (drafts start while the incident is open)."""
    now = now or timezone.now()
    unknown = set(fields) - set(TEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown post-mortem fields: {sorted(unknown)}")
    with transaction.atomic():
        incident = locked(incident)
        postmortem, _ = PostMortem.objects.select_for_update().get_or_create(
            incident=incident, defaults={"author": author}
        )
        for name, value in fields.items():
            setattr(postmortem, name, value)
        postmortem.updated_at = now
        postmortem.save()
        if actions is not None:
            postmortem.actions.all().delete()
            ActionItem.objects.bulk_create(
                [ActionItem(postmortem=postmortem, description=a.description, owner=a.owner,
                            due_date=a.due_date, done=a.done) for a in actions]
            )
        timeline = Timeline(incident, now)
        timeline.add(Kind.POSTMORTEM_SAVED, author, fields=sorted(fields),
                     actions=None if actions is None else len(actions))
        timeline.flush()
    return postmortem


def publish_postmortem(
    *, incident: Incident, actor: User, now: datetime | None = None
) -> PostMortem:
    """Publish: the incident must be resolved and the post-mortem say what happened (summary)
    and why (root cause). Meets the post-mortem stage."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        postmortem = PostMortem.objects.select_for_update().filter(incident=incident).first()
        if postmortem is None or not postmortem.summary.strip() or not (
            postmortem.root_cause.strip()
        ):
            raise IncidentStateError("Write the post-mortem's summary and root cause first.")
        timeline = Timeline(incident, now)
        services.set_status(incident, Incident.Status.POSTMORTEM_PUBLISHED, actor, timeline,
                            now=now, kind=Kind.POSTMORTEM_PUBLISHED)
        sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                         events=["postmortem_done"], now=now)
        services.save_fields(incident, "status", "postmortem_published_at", now=now)
        postmortem.published_at, postmortem.published_by = now, actor
        postmortem.save(update_fields=["published_at", "published_by"])
        timeline.flush()
    return postmortem


def impact(incident: Incident, now: datetime | None = None) -> dict[str, Any]:
    """Duration (start to resolution, or to now while open), time to detect / acknowledge,
    linked tickets and distinct customers affected."""
    now = now or timezone.now()
    end = incident.resolved_at or now
    tickets = Ticket.objects.filter(incident_links__incident=incident)
    return {
        "duration_seconds": _seconds(end - incident.started_at),
        "time_to_detect_seconds": _seconds(incident.detected_at - incident.started_at),
        "time_to_acknowledge_seconds": (
            _seconds(incident.acknowledged_at - incident.detected_at)
            if incident.acknowledged_at else None
        ),
        "linked_tickets": tickets.count(),
        "customers_affected": tickets.values("customer").distinct().count(),
        "ongoing": incident.resolved_at is None,
    }


def _seconds(delta: timedelta) -> int:
    return max(0, round(delta.total_seconds()))


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "n/a"
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def describe_event(event: IncidentEvent) -> str:
    """One timeline line in words."""
    d, who = event.data, event.actor.get_username() if event.actor else "system"
    text = _EVENT_TEXT.get(event.kind)
    return text(d, who) if text else event.kind


def _changes(d: dict[str, Any]) -> str:
    return "".join(f"; {k} {v[0]} -> {v[1]}" for k, v in d.items()
                   if k != "sla" and isinstance(v, list) and len(v) == 2)


_EVENT_TEXT: dict[str, Any] = {
    Kind.CREATED: lambda d, who: f"opened ({d.get('source')}, "
    f"{str(d.get('severity', '')).upper()})",
    Kind.REPEATED: lambda d, who: "reported again",
    Kind.ACKNOWLEDGED: lambda d, who: f"acknowledged by {who}",
    Kind.CLASSIFIED: lambda d, who: f"classified by {who}{_changes(d)}",
    Kind.COMMANDER_CHANGED: lambda d, who: f"commander: {d.get('new')}",
    Kind.STATUS_UPDATE: lambda d, who: f"{'public' if d.get('public') else 'internal'} "
    f"update by {who}",
    Kind.TICKET_LINKED: lambda d, who: f"tickets linked ({d.get('reason')}): "
    f"{', '.join(d.get('tickets', []))}",
    Kind.TICKET_UNLINKED: lambda d, who: f"ticket unlinked: {', '.join(d.get('tickets', []))}",
    Kind.MITIGATED: lambda d, who: f"mitigated by {who}",
    Kind.RESOLVED: lambda d, who: f"resolved by {who}"
    + (f": {d['note']}" if d.get("note") else ""),
    Kind.REOPENED: lambda d, who: f"reopened by {who}"
    + (f": {d['reason']}" if d.get("reason") else ""),
    Kind.POSTMORTEM_SAVED: lambda d, who: f"post-mortem edited by {who}",
    Kind.POSTMORTEM_PUBLISHED: lambda d, who: f"post-mortem published by {who}",
    Kind.ALERT_FIRED: lambda d, who: f"alert firing: {d.get('alert')}",
    Kind.ALERT_RESOLVED: lambda d, who: f"alert resolved: {d.get('alert')}",
    Kind.STAGE_MISSED: lambda d, who: f"{d.get('stage')} target missed: took "
    f"{_duration(d.get('took_seconds'))} (target {_duration(d.get('target_seconds'))})",
    Kind.SLA_WARNING: lambda d, who: f"{d.get('stage')} due soon",
    Kind.SLA_BREACHED: lambda d, who: f"{d.get('stage')} overdue",
    Kind.ESCALATED: lambda d, who: f"escalated ({d.get('stage')}): {d.get('notify', '')}",
}


def render_markdown(incident: Incident, now: datetime | None = None) -> str:
    """The post-mortem document: written sections, computed impact, action items and the
    incident's timeline."""
    postmortem = PostMortem.objects.filter(incident=incident).first()
    figures = impact(incident, now)
    status = (
        f"published {postmortem.published_at:%Y-%m-%d %H:%M} UTC"
        if postmortem and postmortem.published_at else "draft"
    )
    lines = [
        f"# Post-mortem: {incident.reference} {incident.title}",
        "",
        f"*{incident.get_severity_display()}, {incident.service or 'no service given'}; {status}*",
        "",
    ]
    for name in TEXT_FIELDS:
        text = getattr(postmortem, name, "") if postmortem else ""
        if name == "impact":
            lines += [
                "## Impact", "",
                f"- Duration: {_duration(figures['duration_seconds'])}"
                + (" (ongoing)" if figures["ongoing"] else ""),
                f"- Time to detect: {_duration(figures['time_to_detect_seconds'])}",
                f"- Time to acknowledge: {_duration(figures['time_to_acknowledge_seconds'])}",
                f"- Linked tickets: {figures['linked_tickets']}",
                f"- Customers affected: {figures['customers_affected']}",
            ]
            lines += ["", text.strip(), ""] if text.strip() else [""]
            continue
        title = name.replace("_", " ").capitalize()
        lines += [f"## {title}", "", text.strip() or "_(not written yet)_", ""]
    lines += ["## Action items", ""]
    actions = list(postmortem.actions.select_related("owner")) if postmortem else []
    lines += [
        f"- [{'x' if a.done else ' '}] {a.description}"
        f" (owner: {a.owner.get_username() if a.owner else 'unassigned'}"
        f", due {a.due_date.isoformat() if a.due_date else 'no date'})"
        for a in actions
    ] or ["_(none)_"]
    lines += ["", "## Timeline (UTC)", ""]
    for event in incident.events.select_related("actor"):
        lines.append(f"- {event.created_at:%Y-%m-%d %H:%M:%S} {describe_event(event)}")
    return "\n".join(lines) + "\n"
