"""Every write to incidents and their timeline. Like tickets.services these run inside the
caller's transaction (incidents.flows holds it) and buffer timeline events: the caller flushes
one INSERT for all of a flow's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from incidents.models import STATUS_TRANSITIONS, Incident, IncidentEvent
from tickets.services import require_transaction

Kind = IncidentEvent.Kind


class IncidentStateError(Exception):
    """A change the incident's lifecycle does not allow (e.g. publishing a post-mortem of an
    incident that is still open)."""


@dataclass
class Timeline:
    """Collects a flow's incident events and writes them in one INSERT at the end. Events are
    stamped with the flow's `now` (an integration's or a demo's past instant) when given."""

    incident: Incident
    now: datetime | None = None
    events: list[IncidentEvent] = field(default_factory=list)

    def add(self, kind: str, actor: User | None = None, **data: Any) -> IncidentEvent:
        event = IncidentEvent(
            incident=self.incident, kind=kind, actor=actor, data=data,
            created_at=self.now or timezone.now(),
        )
        self.events.append(event)
        return event

    def flush(self) -> list[IncidentEvent]:
        require_transaction("incidents.services")
        written, self.events = self.events, []
        if written:
            IncidentEvent.objects.bulk_create(written)
        return written


def create_incident(*, now: datetime, **fields: Any) -> tuple[Incident, Timeline]:
    """Insert an incident and start its timeline with a `created` event (written on flush)."""
    require_transaction("incidents.services")
    incident = Incident.objects.create(created_at=now, updated_at=now, **fields)
    timeline = Timeline(incident, now)
    timeline.add(
        Kind.CREATED, fields.get("opened_by"), source=incident.source,
        severity=incident.severity, dedup_key=incident.dedup_key,
        started_at=incident.started_at.isoformat(), detected_at=incident.detected_at.isoformat(),
    )
    return incident, timeline


def set_status(
    incident: Incident, status: str, actor: User | None, timeline: Timeline, *, now: datetime,
    kind: str, **data: Any,
) -> None:
    """Move the incident along its lifecycle (STATUS_TRANSITIONS), stamping the stage time;
    the event `kind` records it. Saved by the caller (save_fields)."""
    if status not in STATUS_TRANSITIONS[incident.status]:
        raise IncidentStateError(f"A {incident.status} incident cannot become {status}.")
    old = incident.status
    incident.status = status
    stamps: dict[str, str] = {
        Incident.Status.MITIGATED: "mitigated_at",
        Incident.Status.RESOLVED: "resolved_at",
        Incident.Status.POSTMORTEM_PUBLISHED: "postmortem_published_at",
    }
    if status in stamps:
        setattr(incident, stamps[status], now)
    timeline.add(kind, actor, old=old, new=status, **data)


def save_fields(incident: Incident, *fields: str, now: datetime) -> None:
    incident.updated_at = now
    incident.save(update_fields=[*fields, "updated_at"])
