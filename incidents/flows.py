"""The incident flows the API, the admin, the Alertmanager receiver and the surge detector call.
Each is one transaction (it joins the caller's, e.g. the receiver's, as a savepoint, else opens
one; open_incident, on the alert intake's hot path, joins without a savepoint), locks the
incident row first and then, through sla.services, its clocks: the lock order the SLA watcher
relies on (it takes incident rows only with SKIP LOCKED). Each lifecycle step stamps its stage
time, feeds the matching SLA event and lands on the timeline.

Linking tickets and post-mortems: incidents.linking and incidents.postmortem."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from incidents import services
from incidents.models import Incident, IncidentEvent, StatusUpdate
from incidents.services import IncidentStateError, Timeline
from sla import retarget
from sla import services as sla
from tickets.models import Category

Kind = IncidentEvent.Kind
Status = Incident.Status
UNCHANGED: Any = object()


def open_incident(
    *,
    title: str,
    severity: str,
    source: str,
    opened_by: User | None,
    description: str = "",
    service: str = "",
    component: str = "",
    started_at: datetime | None = None,
    detected_at: datetime | None = None,
    dedup_key: str = "",
    details: dict[str, Any] | None = None,
    runbook_url: str = "",
    category: Category | None = None,
    now: datetime | None = None,
) -> tuple[Incident, bool]:
    """Open an incident and start its stage clocks from the timestamps the integration gave
    (detected: now unless given; started: detected unless given). While an incident with the
    same `dedup_key` is open, this adds a `repeated` event to it instead and returns it:
    (incident, created). Racing repeats meet the partial unique index: the loser waits for
    the winner's commit, then finds its incident."""
    now = now or timezone.now()
    detected_at = detected_at or now
    started_at = started_at or detected_at
    if started_at > detected_at:
        raise ValueError("started_at must not be after detected_at")
    fields = {
        "title": title, "severity": severity, "source": source, "opened_by": opened_by,
        "description": description, "service": service, "component": component,
        "started_at": started_at, "detected_at": detected_at, "dedup_key": dedup_key,
        "details": details or {}, "runbook_url": runbook_url, "category": category,
    }
    with transaction.atomic(savepoint=False):
        if dedup_key and (existing := open_by_key(dedup_key)) is not None:
            return _repeat(existing, opened_by, title=title, severity=severity, now=now), False
        try:
            # A savepoint only where a twin can race us to the key.
            with transaction.atomic(savepoint=bool(dedup_key)):
                incident, timeline = services.create_incident(now=now, **fields)
        except IntegrityError:
            if not dedup_key or (existing := open_by_key(dedup_key)) is None:
                raise
            return _repeat(existing, opened_by, title=title, severity=severity, now=now), False
        clocks = sla.start_incident_clocks(
            incident_id=incident.pk, severity=severity, started_at=started_at,
            detected_at=detected_at,
        )
        for clock in clocks:
            if clock.stopped_at is not None and clock.breached_at is not None:
                # A stage already over when we heard of it (detection took too long): on the
                # timeline and in the report, nobody to page for it now.
                timeline.add(
                    Kind.STAGE_MISSED, None, stage=clock.stage,
                    target_seconds=clock.target_seconds,
                    took_seconds=round((clock.stopped_at - clock.started_at).total_seconds()),
                )
        timeline.flush()
    return incident, True


def open_by_key(dedup_key: str) -> Incident | None:
    """The open incident holding `dedup_key`, locked (at most one: partial unique index)."""
    return (
        Incident.objects.select_for_update(no_key=True)
        .filter(dedup_key=dedup_key, status__in=Incident.OPEN_STATUSES)
        .first()
    )


def _repeat(
    incident: Incident, actor: User | None, *, title: str, severity: str, now: datetime
) -> Incident:
    timeline = Timeline(incident, now)
    timeline.add(Kind.REPEATED, actor, title=title, severity=severity)
    timeline.flush()
    services.save_fields(incident, now=now)
    return incident


def locked(incident: Incident) -> Incident:
    """The incident row, locked FOR NO KEY UPDATE: flows on one incident queue behind each
    other, while inserts that merely reference it (events, a surge linking a new ticket) do
    not wait (their foreign key takes KEY SHARE, which this lock leaves free)."""
    return Incident.objects.select_for_update(no_key=True).get(pk=incident.pk)


def acknowledge(
    *, incident: Incident, actor: User, commander: User | None = None,
    take_command: bool = True, now: datetime | None = None,
) -> Incident:
    """Someone is on it: the respond stage is met, and the incident has a commander (the one
    named, else whoever had it, else the person acknowledging unless `take_command` is off,
    as for an integration relaying an acknowledgement). Repeating it changes nothing unless
    it names a new commander."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        timeline, fields = Timeline(incident, now), []
        if incident.acknowledged_at is None:
            incident.acknowledged_at = now
            fields.append("acknowledged_at")
            if incident.status == Status.TRIGGERED:
                services.set_status(incident, Status.ACKNOWLEDGED, actor, timeline, now=now,
                                    kind=Kind.ACKNOWLEDGED)
                fields.append("status")
            else:
                timeline.add(Kind.ACKNOWLEDGED, actor)
            sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                             events=["responded"], now=now)
        wanted = commander or incident.commander or (actor if take_command else None)
        if wanted is not None and wanted.pk != incident.commander_id:
            timeline.add(Kind.COMMANDER_CHANGED, actor, old=_name(incident.commander),
                         new=wanted.get_username())
            incident.commander = wanted
            fields.append("commander")
        if fields:
            services.save_fields(incident, *fields, now=now)
        timeline.flush()
    return incident


def set_commander(
    *, incident: Incident, actor: User, commander: User, now: datetime | None = None
) -> Incident:
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        if incident.commander_id != commander.pk:
            timeline = Timeline(incident, now)
            timeline.add(Kind.COMMANDER_CHANGED, actor, old=_name(incident.commander),
                         new=commander.get_username())
            incident.commander = commander
            services.save_fields(incident, "commander", now=now)
            timeline.flush()
    return incident


def classify(
    *, incident: Incident, actor: User, severity: str | None = None,
    category: Any = UNCHANGED, service: str | None = None, now: datetime | None = None,
) -> Incident:
    """Confirm (or change) severity, category and service: the classify stage is met the first
    time. A new severity re-targets the running clocks to that severity's policy, as a ticket's
    priority change does."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        timeline, fields = Timeline(incident, now), []
        changes: dict[str, Any] = {}
        if severity and severity != incident.severity:
            changes["severity"] = [incident.severity, severity]
            incident.severity = severity
            fields.append("severity")
        if category is not UNCHANGED and category != incident.category:
            changes["category"] = [_slug(incident.category), _slug(category)]
            incident.category = category
            fields.append("category")
        if service is not None and service != incident.service:
            changes["service"] = [incident.service, service]
            incident.service = service
            fields.append("service")
        if incident.classified_at is None:
            incident.classified_at = now
            fields.append("classified_at")
            sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                             events=["classified"], now=now)
        elif not changes:
            return incident
        if "severity" in changes:
            moved = retarget.retarget_incident_clocks(
                incident_id=incident.pk, severity=incident.severity,
                reason="severity {} -> {}".format(*changes["severity"]), now=now,
            )
            if moved:
                changes["sla"] = moved
        timeline.add(Kind.CLASSIFIED, actor, **changes)
        services.save_fields(incident, *fields, now=now)
        timeline.flush()
    return incident


def post_update(
    *, incident: Incident, author: User, body: str, public: bool = True,
    now: datetime | None = None,
) -> StatusUpdate:
    """A status update. A public one keeps the update cadence (the status_update stage is met
    and the next one starts) and is relayed as a reply to every linked ticket, by a django-q2
    task enqueued in this transaction (tickets.incident_relay). Internal ones do neither:
    customers never see them."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        update = StatusUpdate.objects.create(
            incident=incident, author=author, body=body, public=public, status=incident.status,
            created_at=now,
        )
        timeline = Timeline(incident, now)
        timeline.add(Kind.STATUS_UPDATE, author, update_id=update.pk, public=public)
        if public:
            sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                             events=["status_update"], now=now)
            if incident.ticket_links.exists():
                async_task("tickets.incident_relay.relay_update", update.pk,
                           task_name=f"incident-update-{update.pk}", group="incidents")
        services.save_fields(incident, now=now)
        timeline.flush()
    return update


def mitigate(*, incident: Incident, actor: User, now: datetime | None = None) -> Incident:
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        timeline = Timeline(incident, now)
        services.set_status(incident, Status.MITIGATED, actor, timeline, now=now,
                            kind=Kind.MITIGATED)
        sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                         events=["mitigated"], now=now)
        services.save_fields(incident, "status", "mitigated_at", now=now)
        timeline.flush()
    return incident


def resolve(
    *, incident: Incident, actor: User | None, resolve_tickets: bool = False, note: str = "",
    now: datetime | None = None,
) -> tuple[Incident, list[str]]:
    """Resolved: the classify, respond, resolve and update stages stop (met or breached) and
    the post-mortem stage starts. Returns warnings for the person resolving, e.g. alerts of
    its source that still fire. `resolve_tickets` resolves the linked open tickets too (a
    django-q2 task enqueued in this transaction: tickets.incident_relay)."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        timeline = Timeline(incident, now)
        firing = [str(a) for a in incident.alerts.filter(ends_at__isnull=True)]
        warnings = (
            [f"{len(firing)} alert(s) of its source still firing: {', '.join(firing[:5])}"]
            if firing else []
        )
        services.set_status(incident, Status.RESOLVED, actor, timeline, now=now,
                            kind=Kind.RESOLVED, note=note, still_firing=firing,
                            resolve_tickets=resolve_tickets)
        sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                         events=["resolved"], now=now)
        services.save_fields(incident, "status", "resolved_at", now=now)
        if resolve_tickets and incident.ticket_links.exists():
            async_task("tickets.incident_relay.resolve_linked", incident.pk,
                       actor.pk if actor else None, task_name=f"incident-resolve-{incident.pk}",
                       group="incidents")
        timeline.flush()
    return incident, warnings


def reopen(
    *, incident: Incident, actor: User | None, reason: str = "", now: datetime | None = None
) -> Incident:
    """Back to work on a resolved incident (not one whose post-mortem is published: open a new
    one): a new resolve cycle and update cadence start, the post-mortem clock waits."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = locked(incident)
        if incident.status != Status.RESOLVED:
            raise IncidentStateError(f"Only a resolved incident can be reopened, not a "
                                     f"{incident.get_status_display()} one.")
        timeline = Timeline(incident, now)
        back = Status.ACKNOWLEDGED if incident.acknowledged_at else Status.TRIGGERED
        services.set_status(incident, back, actor, timeline, now=now, kind=Kind.REOPENED,
                            reason=reason)
        incident.resolved_at = None
        incident.reopened_count += 1
        sla.apply_events(incident_id=incident.pk, severity=incident.severity,
                         events=["reopened"], now=now)
        services.save_fields(incident, "status", "resolved_at", "reopened_count", now=now)
        timeline.flush()
    return incident


def _name(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def _slug(category: Category | None) -> str | None:
    return category.slug if category is not None else None
