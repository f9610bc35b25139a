"""Incidents: an outage or degradation opened by monitoring, by staff or by a surge of tickets,
with its stage timestamps (the SLA clocks count between them), status updates, linked tickets,
an append-only timeline, the alerts that fired it and its post-mortem. Row-local facts only:
every write goes through incidents.services / incidents.flows."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tickets.models import Category, Comment, Ticket, new_reference


def new_incident_reference() -> str:
    return new_reference("INC")


class Incident(models.Model):
    class Severity(models.TextChoices):
        SEV1 = "sev1", "SEV1"
        SEV2 = "sev2", "SEV2"
        SEV3 = "sev3", "SEV3"
        SEV4 = "sev4", "SEV4"

    class Status(models.TextChoices):
        TRIGGERED = "triggered"
        ACKNOWLEDGED = "acknowledged"
        MITIGATED = "mitigated"
        RESOLVED = "resolved"
        POSTMORTEM_PUBLISHED = "postmortem_published", "post-mortem published"

    class Source(models.TextChoices):
        API = "api"
        ALERTMANAGER = "alertmanager"
        PAGERDUTY = "pagerduty", "PagerDuty events"
        SURGE = "surge", "ticket surge"
        STAFF = "staff"

    OPEN_STATUSES = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.MITIGATED)

    reference = models.CharField(
        max_length=20, unique=True, default=new_incident_reference, editable=False
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    service = models.CharField(max_length=100, blank=True, help_text="Affected service.")
    component = models.CharField(max_length=100, blank=True)
    severity = models.CharField(max_length=4, choices=Severity)
    status = models.CharField(max_length=20, choices=Status, default=Status.TRIGGERED)
    source = models.CharField(max_length=12, choices=Source)
    # While the incident is open, a repeat with the same key adds to it (partial unique index).
    # Alertmanager's are "am:<hash of receiver and groupKey>", surges' "surge:<key>".
    dedup_key = models.CharField(max_length=255, blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="commanded_incidents",
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    runbook_url = models.URLField(max_length=500, blank=True)
    # What the integration said about it (alert labels, PagerDuty custom details), for people.
    details = models.JSONField(default=dict, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="The integration or person who opened it.",
    )

    # The stages' timestamps: the SLA clocks (sla app, by incident id) count between them.
    started_at = models.DateTimeField(help_text="When the problem began.")
    detected_at = models.DateTimeField(help_text="When it was noticed.")
    classified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    reopened_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    linked_tickets = models.ManyToManyField(
        Ticket, through="IncidentTicket", related_name="incidents", blank=True
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=Q(status__in=["triggered", "acknowledged", "mitigated"])
                & ~Q(dedup_key=""),
                name="incident_open_dedup_key",
            ),
            models.CheckConstraint(
                condition=Q(started_at__lte=models.F("detected_at")),
                name="incident_started_before_detected",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="incident_status_recent"),
            models.Index(fields=["severity", "-created_at"], name="incident_severity_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


# Allowed status changes (incidents.services.set_status refuses the others). Reopening goes
# back to acknowledged (or triggered if nobody had acknowledged it).
STATUS_TRANSITIONS: dict[str, set[str]] = {
    Incident.Status.TRIGGERED: {Incident.Status.ACKNOWLEDGED, Incident.Status.MITIGATED,
                                Incident.Status.RESOLVED},
    Incident.Status.ACKNOWLEDGED: {Incident.Status.MITIGATED, Incident.Status.RESOLVED},
    Incident.Status.MITIGATED: {Incident.Status.RESOLVED},
    Incident.Status.RESOLVED: {Incident.Status.POSTMORTEM_PUBLISHED, Incident.Status.TRIGGERED,
                               Incident.Status.ACKNOWLEDGED},
    Incident.Status.POSTMORTEM_PUBLISHED: set(),
}


class IncidentEvent(models.Model):
    """Append-only timeline entry, like TicketEvent: who did what, when, with structured data."""

    class Kind(models.TextChoices):
        CREATED = "created"
        REPEATED = "repeated"
        ACKNOWLEDGED = "acknowledged"
        CLASSIFIED = "classified"
        COMMANDER_CHANGED = "commander_changed"
        STATUS_UPDATE = "status_update"
        TICKET_LINKED = "ticket_linked"
        TICKET_UNLINKED = "ticket_unlinked"
        MITIGATED = "mitigated"
        RESOLVED = "resolved"
        REOPENED = "reopened"
        POSTMORTEM_SAVED = "postmortem_saved"
        POSTMORTEM_PUBLISHED = "postmortem_published"
        ALERT_FIRED = "alert_fired"
        ALERT_RESOLVED = "alert_resolved"
        STAGE_MISSED = "stage_missed"
        SLA_WARNING = "sla_warning"
        SLA_BREACHED = "sla_breached"
        ESCALATED = "escalated"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Empty for the system (SLA watcher, surge detector).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"], name="incident_event_time")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.incident_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValueError("IncidentEvent rows are append-only")
        super().save(*args, **kwargs)


class StatusUpdate(models.Model):
    """What responders tell: public updates reach the linked tickets' customers as replies and
    keep the status-update cadence; internal ones stay with staff."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    body = models.TextField()
    public = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Incident.Status, help_text="At the time.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{'public' if self.public else 'internal'} update on {self.incident_id}"


class IncidentTicket(models.Model):
    """A ticket linked to an incident (by hand or by the surge detector)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="ticket_links")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="incident_links")
    linked_at = models.DateTimeField(default=timezone.now)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=20, default="manual")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket"], name="incident_ticket_once")
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} in incident {self.incident_id}"


class UpdateReply(models.Model):
    """A public status update relayed to one linked ticket as a reply: the unique pair makes the
    relay (a django-q2 task, delivered at least once) post each reply exactly once."""

    update = models.ForeignKey(StatusUpdate, on_delete=models.CASCADE, related_name="replies")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["update", "ticket"], name="update_reply_once")
        ]

    def __str__(self) -> str:
        return f"update {self.update_id} on ticket {self.ticket_id}"


class AlertOccurrence(models.Model):
    """One firing of one Alertmanager alert (its fingerprint hashes the labels) from startsAt;
    a re-fire has a new startsAt and is a new occurrence."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="alerts")
    receiver = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    generator_url = models.URLField(max_length=1000, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["receiver", "fingerprint", "starts_at"], name="alert_occurrence_once"
            )
        ]
        indexes = [
            models.Index(fields=["incident"], name="alert_firing",
                         condition=Q(ends_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.labels.get('alertname', self.fingerprint)} from {self.starts_at}"

    @property
    def firing(self) -> bool:
        return self.ends_at is None


class AlertNotification(models.Model):
    """Each distinct webhook body Alertmanager sent, stored before it is answered (durable) and
    kept for audit; a byte-identical repeat (repeat_interval) matches its hash and adds
    nothing."""

    receiver = models.CharField(max_length=200)
    group_key = models.TextField()
    status = models.CharField(max_length=10)
    body_sha256 = models.CharField(max_length=64, unique=True)
    payload = models.JSONField()
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["received_at"], name="alert_notification_received")]

    def __str__(self) -> str:
        return f"{self.status} from {self.receiver} at {self.received_at}"


class PostMortem(models.Model):
    """The written review of an incident. Impact figures (duration, tickets and customers
    affected) and the timeline are computed from the incident (incidents.postmortem)."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    summary = models.TextField(blank=True)
    impact = models.TextField(blank=True, help_text="Who and what was affected, in words.")
    detection = models.TextField(blank=True, help_text="How it was noticed.")
    root_cause = models.TextField(blank=True)
    trigger = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    lessons = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"post-mortem of {self.incident_id}"


class ActionItem(models.Model):
    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=500)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="incident_actions",
    )
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return self.description


class SurgeCounter(models.Model):
    """Tickets counted per surge key (a category, or a subject fingerprint) in tumbling time
    buckets, with an exponentially weighted baseline: one UPSERT per ticket and key, whatever
    the history (incidents.surge documents the rule)."""

    key = models.CharField(max_length=80, primary_key=True)
    bucket = models.BigIntegerField(help_text="Current bucket: seconds since the epoch // width.")
    count = models.PositiveIntegerField(default=0, help_text="Tickets in the current bucket.")
    previous = models.PositiveIntegerField(default=0, help_text="Tickets in the bucket before.")
    baseline = models.FloatField(default=0, help_text="Usual tickets per bucket (EWMA, biased "
                                 "towards 0 until enough buckets were seen).")
    buckets_seen = models.PositiveIntegerField(default=0)
    # The first ticket counted in the current / previous bucket: where a surge's tickets start.
    first_id = models.BigIntegerField(null=True)
    previous_first_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return self.key
