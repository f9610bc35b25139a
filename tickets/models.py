"""Tickets, their conversation and their timeline. Row-local facts only: every write goes
through tickets.services (or the flows built on it), never through save() side effects."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# Crockford's base32 without I, L, O, U: readable over the phone, no look-alike characters.
_REF_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference(prefix: str = "SB") -> str:
    """SB-XXXXX-XXXXX: random (50 bits), so references leak neither volume nor neighbours and
    need no second query after the insert; the unique constraint is the backstop. Incidents
    use the same scheme with their own prefix."""
    chars = "".join(secrets.choice(_REF_ALPHABET) for _ in range(10))
    return f"{prefix}-{chars[:5]}-{chars[5:]}"


class Category(models.Model):
    """A ticket topic. Data, not code: agents and managers edit them in the admin."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # The skill an agent needs to handle this category; routing matches it against agents'
    # skills by slug (several categories may share one skill).
    skill = models.SlugField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    class Priority(models.TextChoices):
        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"
        URGENT = "urgent"

    class Status(models.TextChoices):
        NEW = "new"
        OPEN = "open"
        PENDING = "pending", "pending on customer"
        RESOLVED = "resolved"
        CLOSED = "closed"

    class Channel(models.TextChoices):
        API = "api"
        WEB = "web"
        EMAIL = "email"
        PHONE = "phone"
        IMPORT = "import"

    class CategorySource(models.TextChoices):
        NONE = "", "none"
        MODEL = "model"
        AGENT = "agent"
        IMPORT = "import"

    reference = models.CharField(max_length=20, unique=True, default=new_reference, editable=False)
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(max_length=settings.TICKET_SUBJECT_MAX)
    description = models.TextField()
    priority = models.CharField(max_length=10, choices=Priority, default=Priority.NORMAL)
    status = models.CharField(max_length=10, choices=Status, default=Status.NEW)
    channel = models.CharField(max_length=10, choices=Channel, default=Channel.API)

    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    category_source = models.CharField(
        max_length=10, choices=CategorySource, default=CategorySource.NONE, blank=True
    )
    # What the classifier said, kept even when it was not confident enough to set `category`.
    category_confidence = models.FloatField(null=True, blank=True)
    classifier_version = models.CharField(max_length=64, blank=True)
    category_guesses = models.JSONField(default=list, blank=True)  # top 3 [[slug, p], ...]
    needs_triage = models.BooleanField(default=False)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # Earliest due time of the ticket's running SLA clocks, kept by sla.services so the routing
    # queue can order by "breaches soonest" without importing the SLA app.
    sla_due_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A customer's own list, newest first (GET /api/v1/tickets/ as a customer).
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_recent"),
            # Staff lists filtered by status.
            models.Index(fields=["status", "-created_at"], name="ticket_status_recent"),
            # Live load of an agent (routing): open tickets per assignee.
            models.Index(
                fields=["assignee", "status"],
                name="ticket_assignee_open",
                condition=Q(status__in=["new", "open", "pending"]),
            ),
            # Routing queue: unassigned open tickets, earliest SLA breach first.
            models.Index(
                fields=["sla_due_at", "created_at"],
                name="ticket_queue",
                condition=Q(assignee__isnull=True, status__in=["new", "open", "pending"]),
            ),
            # Triage queue in the admin.
            models.Index(
                fields=["created_at"], name="ticket_triage", condition=Q(needs_triage=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


# Allowed status changes; anything else is refused by tickets.services.change_status.
STATUS_TRANSITIONS: dict[str, set[str]] = {
    Ticket.Status.NEW: {Ticket.Status.OPEN, Ticket.Status.PENDING, Ticket.Status.RESOLVED,
                        Ticket.Status.CLOSED},
    Ticket.Status.OPEN: {Ticket.Status.PENDING, Ticket.Status.RESOLVED, Ticket.Status.CLOSED},
    Ticket.Status.PENDING: {Ticket.Status.OPEN, Ticket.Status.RESOLVED, Ticket.Status.CLOSED},
    Ticket.Status.RESOLVED: {Ticket.Status.OPEN, Ticket.Status.CLOSED},
    Ticket.Status.CLOSED: set(),
}


class Comment(models.Model):
    """A public reply or an internal note. Internal notes are never shown to customers."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_comments"
    )
    body = models.TextField()
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_time")]

    def __str__(self) -> str:
        kind = "note" if self.internal else "reply"
        return f"{kind} by {self.author_id} on {self.ticket_id}"


class TicketEvent(models.Model):
    """Append-only timeline entry: who did what to the ticket, when, with structured data.
    Written only by services; the admin shows it read-only and the API never edits it."""

    class Kind(models.TextChoices):
        CREATED = "created"
        STATUS_CHANGED = "status_changed"
        COMMENTED = "commented"
        CATEGORIZED = "categorized"
        TRIAGE = "triage"
        PRIORITY_CHANGED = "priority_changed"
        ASSIGNED = "assigned"
        UNASSIGNED = "unassigned"
        QUEUED = "queued"
        SLA_WARNING = "sla_warning"
        SLA_BREACHED = "sla_breached"
        ESCALATED = "escalated"
        INCIDENT_LINKED = "incident_linked"
        INCIDENT_UNLINKED = "incident_unlinked"
        RATED = "rated"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty for the system (classifier, router, SLA watcher).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_time")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args, **kwargs):
        # Append-only: an existing event is history and must not be rewritten.
        if self.pk is not None and not self._state.adding:
            raise ValueError("TicketEvent rows are append-only")
        super().save(*args, **kwargs)


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an Idempotency-Key, replayed to retries of the same
    user with the same key within IDEMPOTENCY_TTL_HOURS (Stripe / IETF draft semantics)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class Rating(models.Model):
    """A customer's satisfaction rating of their resolved ticket: once per ticket (1-5 and an
    optional comment), the CSAT figure of the managers' report."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="rating")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_1_to_5"),
        ]
        # The report's CSAT over a period.
        indexes = [models.Index(fields=["created_at"], name="rating_created")]

    def __str__(self) -> str:
        return f"{self.score}/5 for {self.ticket_id}"
