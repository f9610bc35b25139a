"""SLA policies, the clocks they start, the escalations the watcher records and the notification
outbox. Row-local facts only; every write is in sla.services / sla.watcher / sla.notifications."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from sla.calendar import BusinessCalendar
from sla.targets import StageTarget, parse_stages
from tickets.models import Category, Ticket


class SlaPolicy(models.Model):
    """Targets per kind of subject and priority (tickets) or severity (incidents), optionally
    narrowed to one category. The most specific active policy wins (category over none, exact
    priority over blank = any). Deactivate instead of deleting: clocks keep a snapshot anyway."""

    class Kind(models.TextChoices):
        TICKET = "ticket"
        INCIDENT = "incident"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.TICKET)
    priority = models.CharField(
        max_length=20, blank=True, help_text="Ticket priority or incident severity; blank = any."
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    calendar = models.JSONField(
        null=True,
        blank=True,
        help_text='Business hours, e.g. {"tz": "Europe/Berlin", "weekly": {"mon": [["09:00", '
        '"17:00"]]}, "holidays": ["2026-12-25"]}. Empty = 24x7.',
    )
    stages = models.JSONField(help_text="Stage targets (see sla/targets.py).")
    escalate_after_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Second escalation level this long after a breach (wall time); empty = none.",
    )
    is_active = models.BooleanField(default=True)
    # Part of the per-process policy cache fingerprint (sla.policies): every save() moves it.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "SLA policies"
        constraints = [
            # One active policy per (kind, priority, category): matching is never ambiguous.
            models.UniqueConstraint(
                fields=["kind", "priority", "category"],
                condition=Q(is_active=True, category__isnull=False),
                name="sla_policy_one_active_cat",
            ),
            models.UniqueConstraint(
                fields=["kind", "priority"],
                condition=Q(is_active=True, category__isnull=True),
                name="sla_policy_one_active",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        try:
            parse_stages(self.stages)
        except ValueError as exc:
            errors["stages"] = str(exc)
        if self.calendar is not None:
            try:
                BusinessCalendar.from_dict(self.calendar)
            except ValueError as exc:
                errors["calendar"] = str(exc)
        if errors:
            raise ValidationError(errors)

    def stage_targets(self) -> tuple[StageTarget, ...]:
        return parse_stages(self.stages)


class SlaClock(models.Model):
    """One stage of one subject (a ticket, or an incident by id), cycle 1 unless the stage
    repeats. The targets are snapshotted at start: editing a policy never rewrites history.

    `next_check_at` is the one deadline the watcher looks at: the time of the next escalation
    level not yet recorded (warning, breach, second level), NULL when there is nothing left to do
    (met, paused, last level reached)."""

    class State(models.TextChoices):
        RUNNING = "running"
        PAUSED = "paused"
        MET = "met"
        BREACHED = "breached"

    class Level(models.IntegerChoices):
        NONE = 0
        WARNING = 1
        BREACH = 2
        ESCALATION = 3

    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="sla_clocks"
    )
    # No FK: the incidents app sits above sla (import-linter) and owns that relation.
    incident_id = models.BigIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=40)
    cycle = models.PositiveIntegerField(default=1)

    # The policy as it was when the clock started. policy_id is not an FK so deleting a policy
    # keeps its clocks (and the breach report) intact.
    policy_id = models.BigIntegerField(null=True, blank=True)
    policy_name = models.CharField(max_length=100, blank=True)
    target_seconds = models.PositiveIntegerField()
    # {"warn_at": 0.8, "calendar": {...} | null, "escalate_after_seconds": int | null,
    #  "stop_on": [...], "pause_on": [...], "resume_on": [...]}
    snapshot = models.JSONField(default=dict)

    state = models.CharField(max_length=10, choices=State, default=State.RUNNING)
    level = models.PositiveSmallIntegerField(choices=Level, default=Level.NONE)
    started_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Empty while paused.")
    next_check_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0, help_text="Wall time spent paused.")
    remaining_seconds = models.IntegerField(
        null=True, blank=True, help_text="Business time left when paused."
    )
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(ticket__isnull=False, incident_id__isnull=True)
                | Q(ticket__isnull=True, incident_id__isnull=False),
                name="sla_clock_one_subject",
            ),
            models.UniqueConstraint(
                fields=["ticket", "stage", "cycle"],
                condition=Q(ticket__isnull=False),
                name="sla_clock_ticket_stage",
            ),
            models.UniqueConstraint(
                fields=["incident_id", "stage", "cycle"],
                condition=Q(incident_id__isnull=False),
                name="sla_clock_incident_stage",
            ),
        ]
        indexes = [
            # The watcher's claim query (sla.watcher.escalate_batch, through _due):
            #   WHERE next_check_at <= now ORDER BY next_check_at LIMIT 100 FOR UPDATE SKIP LOCKED
            # Only clocks with work left are in it, so a pass costs the same at 10k or 1M clocks.
            models.Index(
                fields=["next_check_at"],
                name="sla_clock_next_check",
                condition=Q(next_check_at__isnull=False),
            ),
            # The breach report (admin list and GET /api/v1/sla/breaches/), newest first.
            models.Index(
                fields=["-breached_at"],
                name="sla_clock_breached",
                condition=Q(breached_at__isnull=False),
            ),
            models.Index(
                fields=["incident_id"],
                name="sla_clock_incident",
                condition=Q(incident_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stage} of {self.subject_kind} {self.subject_id} ({self.state})"

    @property
    def subject_kind(self) -> str:
        """"ticket" or "incident": which app's effect handler (sla.effects) it belongs to."""
        return "ticket" if self.ticket_id is not None else "incident"

    @property
    def subject_id(self) -> int:
        subject_id = self.ticket_id if self.ticket_id is not None else self.incident_id
        assert subject_id is not None  # the sla_clock_one_subject constraint
        return subject_id

    @property
    def is_active(self) -> bool:
        """Still counting or escalating: not stopped and not paused."""
        return self.stopped_at is None and self.paused_at is None

    def step_at(self, level: int) -> datetime | None:
        """When escalation `level` falls due (None: the policy has no such level or the clock
        is paused)."""
        if level == self.Level.WARNING:
            return self.warn_at
        if level == self.Level.BREACH:
            return self.due_at
        after = self.snapshot.get("escalate_after_seconds")
        if level == self.Level.ESCALATION and after is not None and self.due_at is not None:
            return self.due_at + timedelta(seconds=after)
        return None

    def next_step(self) -> tuple[int, datetime] | None:
        """The first escalation level above the one reached, with its due time."""
        for level in range(self.level + 1, self.Level.ESCALATION + 1):
            at = self.step_at(level)
            if at is not None:
                return level, at
        return None

    def time_left(self, now: datetime) -> timedelta | None:
        """Time to the deadline (negative when overdue); business time left while paused."""
        if self.stopped_at is not None:
            return None
        if self.due_at is None:
            return (
                timedelta(seconds=self.remaining_seconds)
                if self.remaining_seconds is not None
                else None
            )
        return self.due_at - now

    def calendar(self) -> BusinessCalendar | None:
        raw = self.snapshot.get("calendar")
        return BusinessCalendar.from_dict(raw) if raw else None


class Escalation(models.Model):
    """One escalation level reached by one clock: the exactly-once record. The unique
    (clock, level) constraint is the backstop behind the watcher's row lock."""

    class Kind(models.TextChoices):
        WARNING = "warning"
        BREACH = "breach"
        ESCALATION = "escalation"

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="escalations")
    level = models.PositiveSmallIntegerField(choices=SlaClock.Level)
    kind = models.CharField(max_length=12, choices=Kind)
    step_at = models.DateTimeField(help_text="When this level fell due.")
    created_at = models.DateTimeField(help_text="When the watcher recorded it.")
    actions = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clock", "level"], name="sla_escalation_once")
        ]
        indexes = [models.Index(fields=["-created_at"], name="sla_escalation_recent")]

    def __str__(self) -> str:
        return f"{self.kind} of clock {self.clock_id}"

    @property
    def idempotency_key(self) -> str:
        # Stable per (clock, level): receivers drop repeats of an at-least-once delivery.
        return f"sla-{self.clock_id}-{self.level}"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """An outgoing webhook: every escalation is POSTed here as JSON, signed with HMAC-SHA256."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500, help_text="http(s) only; redirects are not followed.")
    secret = models.CharField(max_length=100, default=_new_secret)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """Outbox row: one email (to a list of recipients) or one webhook POST for one escalation,
    written in the watcher's transaction and delivered at least once by django-q2 tasks."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        WEBHOOK = "webhook"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=10, choices=Channel)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recipients = models.JSONField(default=list, blank=True)
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the watcher's outbox pass should (re-)enqueue it: a safety net for lost tasks and the
    # time of the next retry after a failure.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender's lease: a second task for the same row (django-q2 redelivery) does not send
    # while the first one may still be sending.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Which sender holds the lease: a task claims its rows in one UPDATE, then reads back those
    # carrying its token.
    claim_token = models.CharField(max_length=32, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The watcher's outbox pass (sla.notifications.requeue_due): pending rows due now.
            models.Index(
                fields=["next_attempt_at"],
                name="sla_notification_due",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} for {self.escalation_id} ({self.status})"


class Delivery(models.Model):
    """One attempt to deliver a notification: the delivery log."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    attempt = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["notification", "attempt"], name="sla_delivery_attempt")]

    def __str__(self) -> str:
        return f"attempt {self.attempt} of {self.notification_id}: {self.status_code}"


class WatcherHeartbeat(models.Model):
    """One row per running watcher (host:pid), upserted every pass; /healthz reads the newest."""

    name = models.CharField(max_length=200, unique=True)
    last_pass_at = models.DateTimeField()
    passes = models.BigIntegerField(default=0)
    last_pass_ms = models.FloatField(default=0)
    last_escalations = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.name


class Breach(SlaClock):
    """The breach report in the admin: clocks that missed their deadline (proxy, no table)."""

    class Meta:
        proxy = True
        verbose_name = "SLA breach"
        verbose_name_plural = "SLA breaches"
