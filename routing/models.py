"""Agents, their skills and the routing decisions made about tickets. Row-local facts only:
every write (assignment, load, availability) goes through routing.services."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from tickets.models import Ticket


def validate_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"Unknown time zone {value!r}: use an IANA name such as "
                              "Europe/Berlin.") from exc


class Skill(models.Model):
    """What a category needs (tickets.Category.skill holds a Skill.slug)."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name or self.slug


class AgentProfile(models.Model):
    """One per staff user who takes tickets.

    `load` is the number of open tickets assigned to the agent. It is denormalised so routing
    reads and updates one row instead of counting tickets under a lock; every assignment,
    unassignment, close and reopen changes it in the same transaction as the ticket (see
    routing.services). `routing_check_load` audits it against the tickets.

    Capacity: automatic routing only ever increments with `WHERE load < capacity`. A manager may
    knowingly assign beyond capacity (explicit confirmation); that path raises `overbooked` by
    the same amount, so the CHECK constraint (load <= capacity + overbooked) still holds and
    still catches any *other* path that over-assigns. Releasing a ticket shrinks `overbooked`
    back towards zero. Routing never uses the overbooked allowance."""

    class Availability(models.TextChoices):
        AVAILABLE = "available"
        AWAY = "away"
        OFFLINE = "offline"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    capacity = models.PositiveSmallIntegerField(
        default=10, help_text="Maximum open tickets routing gives this agent at once."
    )
    tier = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(3)]
    )
    team = models.CharField(max_length=100, blank=True)
    availability = models.CharField(
        max_length=10, choices=Availability, default=Availability.OFFLINE
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # The agent's workspace shows times and deadlines in this zone (desk.middleware).
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone],
        help_text="IANA time zone the workspace shows times in, e.g. Europe/Berlin.",
    )
    load = models.PositiveIntegerField(default=0, editable=False)
    overbooked = models.PositiveIntegerField(
        default=0, editable=False, help_text="Confirmed manual assignments beyond capacity."
    )

    class Meta:
        ordering = ["user__username"]
        permissions = [("set_own_availability", "Can set own availability")]
        constraints = [
            models.CheckConstraint(
                condition=Q(load__lte=F("capacity") + F("overbooked")),
                name="agent_load_within_capacity",
            ),
            models.CheckConstraint(condition=Q(tier__gte=1, tier__lte=3), name="agent_tier_1_3"),
        ]
        indexes = [
            # dispatch_all: "who has room right now?" (available agents only).
            models.Index(
                fields=["load"],
                name="agent_available",
                condition=Q(availability="available"),
            ),
        ]

    def __str__(self) -> str:
        return self.user.get_username()

    @property
    def spare(self) -> int:
        return max(0, self.capacity - self.load)


class AgentSkill(models.Model):
    agent = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agents")
    level = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )

    class Meta:
        ordering = ["skill__slug"]
        constraints = [
            # Also the index routing's candidate query starts from (skill -> agents).
            models.UniqueConstraint(fields=["skill", "agent"], name="agent_skill_unique"),
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=5), name="agent_skill_level_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id}:{self.skill_id}@{self.level}"


class RoutingDecision(models.Model):
    """Why a ticket went to whom (or to nobody): the answer to "why did this go to her?".
    Append-only, one row per decision; the ticket's timeline event carries its id."""

    class Outcome(models.TextChoices):
        ASSIGNED = "assigned"
        QUEUED = "queued"
        UNASSIGNED = "unassigned"
        KEPT = "kept"  # escalation found nobody better: the assignee stays

    class Trigger(models.TextChoices):
        INTAKE = "intake"
        CATEGORIZED = "categorized"
        DISPATCH = "dispatch"
        MANUAL = "manual"
        ESCALATION = "escalation"
        REQUEUE = "requeue"
        REOPEN = "reopen"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="routing_decisions")
    trigger = models.CharField(max_length=12, choices=Trigger)
    outcome = models.CharField(max_length=12, choices=Outcome)
    agent = models.ForeignKey(
        AgentProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    skill = models.SlugField(max_length=100, blank=True)
    min_tier = models.PositiveSmallIntegerField(default=1, help_text="Tier the decision required.")
    # The caller's own requirement (incidents, escalation), as opposed to the priority rule:
    # it sticks to the ticket, so the queue only hands it to agents of at least this tier.
    explicit_tier = models.PositiveSmallIntegerField(null=True, blank=True)
    rule = models.CharField(max_length=100, help_text="The rule that decided, or why nobody.")
    explanation = models.CharField(max_length=500)
    # [{agent, username, load, capacity, level, tier, last_assigned_at}, ...] best first.
    candidates = models.JSONField(default=list, blank=True)
    over_capacity = models.BooleanField(default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The ticket detail's "latest decision" and the queue's per-ticket tier requirement.
            models.Index(fields=["ticket", "-id"], name="routing_decision_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.outcome} ({self.rule})"
