"""What an SLA escalation does to an incident, registered with the watcher (sla.effects) by
IncidentsConfig.ready(): it lands on the incident's timeline, and people are told in order of
responsibility:

- warning: the commander (the managers while nobody commands it);
- breach: the commander and the managers; a SEV1 breach also pages on-call at once;
- second level (the policy's escalate_after, sooner for higher severities): on-call is paged,
  the commander told.

Nothing about the incident itself changes: severity is a person's call (classify)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from django.urls import reverse

from incidents.models import Incident, IncidentEvent
from incidents.services import Timeline
from sla import effects
from sla.effects import Audience, Reached
from sla.models import SlaClock

Level = SlaClock.Level
Kind = IncidentEvent.Kind


class IncidentEffects:
    kind = "incident"

    def lock(self, ids: Collection[int]) -> Mapping[int, Incident | None]:
        rows = {
            i.pk: i
            for i in Incident.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("commander")
            .filter(pk__in=ids)
        }
        missing = set(ids) - set(rows)
        # Missing: busy (skipped) or gone. A clock of an incident that no longer exists still
        # escalates (to the managers), it just has nothing to act on.
        busy = set(Incident.objects.filter(pk__in=missing).values_list("pk", flat=True))
        return {**rows, **{pk: None for pk in missing - busy}}

    def apply(self, reached: list[Reached], *, now: datetime, audience: Audience) -> None:
        timelines: dict[int, Timeline] = {}
        for item in reached:
            incident: Incident = item.subject
            timeline = timelines.setdefault(incident.pk, Timeline(incident))
            clock, escalation = item.clock, item.escalation
            data = {"stage": clock.stage, "cycle": clock.cycle, "level": escalation.level,
                    "due_at": clock.due_at.isoformat() if clock.due_at else None}
            commander = incident.commander
            lead = [commander.email] if commander is not None and commander.email else []
            if escalation.level == Level.WARNING:
                timeline.add(Kind.SLA_WARNING, None, **data)
                notify = "commander" if lead else "managers"
                item.recipients = lead or audience.managers()
            elif escalation.level == Level.BREACH:
                timeline.add(Kind.SLA_BREACHED, None, **data)
                page = incident.severity == Incident.Severity.SEV1
                notify = "commander, managers" + (", on-call" if page else "")
                item.recipients = sorted(
                    {*lead, *audience.managers(), *(audience.oncall() if page else [])}
                )
            else:
                notify = "on-call, commander"
                item.recipients = sorted({*audience.oncall(), *lead})
            escalation.actions["notify"] = notify
            if escalation.level >= Level.BREACH:
                timeline.add(Kind.ESCALATED, None, **data, notify=notify)
        # One INSERT for every incident's events of the batch.
        IncidentEvent.objects.bulk_create(
            [event for timeline in timelines.values() for event in timeline.events]
        )

    def describe(self, subject: Incident) -> dict[str, Any]:
        return {
            "type": "incident", "id": subject.pk, "reference": subject.reference,
            "severity": subject.severity, "title": subject.title,
            "url": reverse("admin:incidents_incident_change", args=[subject.pk]),
        }


def register() -> None:
    effects.register(IncidentEffects())
