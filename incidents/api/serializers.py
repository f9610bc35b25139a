"""Input validation and output of /api/v1/incidents/. Every output field is listed explicitly;
input is strict (wrong JSON types and unknown fields are 400s naming the field)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from incidents.models import (
    ActionItem,
    AlertOccurrence,
    Incident,
    IncidentEvent,
    PostMortem,
    StatusUpdate,
)
from incidents.postmortem import TEXT_FIELDS, describe_event
from sla.api.serializers import ClockSerializer
from sla.models import Escalation
from tickets.models import Category
from tickets.rest import (
    NoUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictIntegerField,
    line_field,
)
from tickets.roles import STAFF_ROLES, role_of

# An integration's clock may run a little ahead of ours; further than this is a mistake.
FUTURE_SKEW = timedelta(minutes=5)


class IncidentCreateSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    title = line_field(max_length=200)
    description = StrictCharField(max_length=10_000, required=False, allow_blank=True, default="")
    severity = StrictChoiceField(choices=Incident.Severity.choices)
    service = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    component = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField(required=False, help_text="When the problem began.")
    detected_at = serializers.DateTimeField(
        required=False, help_text="When it was noticed (default: now)."
    )
    dedup_key = StrictCharField(
        max_length=255, required=False, help_text="While an incident with this key is open, "
        "a repeat is added to it (200) instead of opening another (201).",
    )
    runbook_url = StrictCharField(
        max_length=500, required=False, allow_blank=True, default="",
        pattern=r"^(https?://[^\s\x00]+)?$", pattern_message="Must be an http(s) URL.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        now = timezone.now()
        for name in ("started_at", "detected_at"):
            if name in attrs and attrs[name] > now + FUTURE_SKEW:
                raise serializers.ValidationError({name: ["Must not be in the future."]})
        detected = attrs.get("detected_at", now)
        if "started_at" in attrs and attrs["started_at"] > detected:
            raise serializers.ValidationError(
                {"started_at": ["Must not be after detected_at (or now, when that is not given)."]}
            )
        return attrs


def _staff_user(value: Any) -> Any:
    user = get_user_model().objects.filter(username=value, is_active=True).first()
    if user is None or role_of(user) not in STAFF_ROLES:
        raise serializers.ValidationError("No agent or manager with this username.")
    return user


class AcknowledgeSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    commander = StrictCharField(
        max_length=150, required=False, help_text="Username of the agent or manager taking "
        "command (default: whoever has it, else you).",
    )

    def validate_commander(self, value: str) -> Any:
        return _staff_user(value)


class CommanderSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    commander = StrictCharField(max_length=150)

    def validate_commander(self, value: str) -> Any:
        return _staff_user(value)


class ClassifySerializer(NoUnknownFieldsMixin, serializers.Serializer):
    severity = StrictChoiceField(choices=Incident.Severity.choices, required=False)
    category = StrictCharField(
        max_length=100, required=False, allow_null=True, help_text="Category slug, or null."
    )
    service = StrictCharField(max_length=100, required=False, allow_blank=True)

    def validate_category(self, value: str | None) -> Category | None:
        if value is None:
            return None
        category = Category.objects.filter(slug=value).first()
        if category is None:
            raise serializers.ValidationError("No category with this slug.")
        return category


class UpdateCreateSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    body = StrictCharField(max_length=settings.COMMENT_BODY_MAX)
    public = StrictBooleanField(
        default=True, help_text="Public updates reach linked tickets' customers and keep the "
        "update cadence; internal ones stay with staff.",
    )


class LinkSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    tickets = serializers.ListField(
        child=StrictIntegerField(min_value=1, max_value=2**63 - 1), min_length=1,
        max_length=500, help_text="Ticket ids (404 when one does not exist).",
    )


class ResolveSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    resolve_tickets = StrictBooleanField(
        default=False, help_text="Also resolve the linked open tickets."
    )


class ReopenSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    reason = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class ActionItemInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    description = StrictCharField(max_length=500)
    owner = StrictCharField(max_length=150, required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    done = StrictBooleanField(default=False)

    def validate_owner(self, value: str | None) -> Any:
        return None if value is None else _staff_user(value)


class PostMortemInputSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    summary = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    impact = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    detection = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    root_cause = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    trigger = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    resolution = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    lessons = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    action_items = serializers.ListField(
        child=ActionItemInputSerializer(), required=False, max_length=100
    )


# --- output ----------------------------------------------------------------------------------


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


class IncidentSerializer(serializers.ModelSerializer):
    """List view."""

    commander = serializers.CharField(source="commander.username", read_only=True, default=None,
        allow_null=True)
    category = serializers.CharField(source="category.slug", read_only=True, default=None,
        allow_null=True)
    open = serializers.BooleanField(source="is_open", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id", "reference", "title", "severity", "status", "open", "source", "service",
            "component", "commander", "category", "dedup_key", "started_at", "detected_at",
            "classified_at", "acknowledged_at", "mitigated_at", "resolved_at",
            "postmortem_published_at", "reopened_count", "created_at", "updated_at",
        ]
        read_only_fields = fields


class StatusUpdateSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, default=None,
        allow_null=True)

    class Meta:
        model = StatusUpdate
        fields = ["id", "author", "body", "public", "status", "created_at"]
        read_only_fields = fields


class IncidentEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None,
        allow_null=True)
    text = serializers.SerializerMethodField()

    class Meta:
        model = IncidentEvent
        fields = ["id", "kind", "actor", "created_at", "text", "data"]
        read_only_fields = fields

    def get_text(self, event: IncidentEvent) -> str:
        return describe_event(event)


class EscalationSerializer(serializers.ModelSerializer):
    stage = serializers.CharField(source="clock.stage", read_only=True)
    cycle = serializers.IntegerField(source="clock.cycle", read_only=True)

    class Meta:
        model = Escalation
        fields = ["id", "stage", "cycle", "level", "kind", "step_at", "created_at", "actions"]
        read_only_fields = fields


class AlertSerializer(serializers.ModelSerializer):
    firing = serializers.BooleanField(read_only=True)

    class Meta:
        model = AlertOccurrence
        fields = ["fingerprint", "labels", "annotations", "starts_at", "ends_at", "firing",
                  "generator_url"]
        read_only_fields = fields


class LinkedTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    reference = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    customer = serializers.CharField(source="customer.username", read_only=True)


class ActionItemSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True, default=None,
        allow_null=True)

    class Meta:
        model = ActionItem
        fields = ["id", "description", "owner", "due_date", "done"]
        read_only_fields = fields


class PostMortemSerializer(serializers.ModelSerializer):
    action_items = ActionItemSerializer(source="actions", many=True, read_only=True)
    author = serializers.CharField(source="author.username", read_only=True, default=None,
        allow_null=True)
    published_by = serializers.CharField(
        source="published_by.username", read_only=True, default=None, allow_null=True
    )
    markdown = serializers.SerializerMethodField()
    impact_figures = serializers.SerializerMethodField()

    class Meta:
        model = PostMortem
        fields = [*TEXT_FIELDS, "action_items", "author", "updated_at", "published_at",
                  "published_by", "impact_figures", "markdown"]
        read_only_fields = fields

    def get_markdown(self, postmortem: PostMortem) -> str:
        from incidents.postmortem import render_markdown

        return render_markdown(postmortem.incident)

    @extend_schema_field(serializers.DictField())
    def get_impact_figures(self, postmortem: PostMortem) -> dict[str, Any]:
        from incidents.postmortem import impact

        return impact(postmortem.incident)


class IncidentDetailSerializer(IncidentSerializer):
    """Detail view: stages (clocks with due times and state), status updates, linked tickets,
    escalations, alerts and the timeline. Integrations see no tickets (ids of customers'
    tickets are not theirs to know) and no internal updates."""

    stages = serializers.SerializerMethodField()
    updates = serializers.SerializerMethodField()
    linked_tickets = serializers.SerializerMethodField()
    escalations = serializers.SerializerMethodField()
    alerts = AlertSerializer(many=True, read_only=True)
    timeline = IncidentEventSerializer(source="events", many=True, read_only=True)
    runbook_url = serializers.CharField(read_only=True)  # may be "" (not a uri)
    opened_by = serializers.CharField(source="opened_by.username", read_only=True, default=None,
        allow_null=True)

    class Meta(IncidentSerializer.Meta):
        fields = [
            *IncidentSerializer.Meta.fields, "description", "runbook_url", "details", "opened_by",
            "stages", "updates", "linked_tickets", "escalations", "alerts", "timeline",
        ]
        read_only_fields = fields

    def _staff(self) -> bool:
        return bool(self.context.get("staff"))

    @extend_schema_field(ClockSerializer(many=True))
    def get_stages(self, incident: Incident) -> list[dict[str, Any]]:
        return list(ClockSerializer(self.context["clocks"], many=True, context=self.context).data)

    @extend_schema_field(StatusUpdateSerializer(many=True))
    def get_updates(self, incident: Incident) -> list[dict[str, Any]]:
        updates = [u for u in incident.updates.all() if self._staff() or u.public]
        return list(StatusUpdateSerializer(updates, many=True).data)

    @extend_schema_field(LinkedTicketSerializer(many=True))
    def get_linked_tickets(self, incident: Incident) -> list[dict[str, Any]]:
        if not self._staff():
            return []
        return list(LinkedTicketSerializer(incident.linked_tickets.all(), many=True).data)

    @extend_schema_field(EscalationSerializer(many=True))
    def get_escalations(self, incident: Incident) -> list[dict[str, Any]]:
        return list(EscalationSerializer(self.context["escalations"], many=True).data)
