"""Input validation and output rendering for /api/v1/tickets/. Every output field is listed
explicitly: a new model field never leaks into the API by accident."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from routing.api.serializers import DecisionSerializer
from sla.api.serializers import ClockSerializer
from tickets.models import Comment, Ticket, TicketEvent
from tickets.rest import (
    NoUnknownFieldsMixin,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    line_field,
)


class TicketCreateSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    """A new ticket. Unknown fields are refused (400)."""

    subject = line_field(max_length=settings.TICKET_SUBJECT_MAX)
    description = StrictCharField(max_length=settings.TICKET_DESCRIPTION_MAX)
    priority = StrictChoiceField(choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL)


class CommentCreateSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    """A reply, or an internal note (staff only). Unknown fields are refused (400)."""

    body = StrictCharField(max_length=settings.COMMENT_BODY_MAX)
    internal = StrictBooleanField(default=False)


class CommentSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "author", "body", "internal", "created_at"]
        read_only_fields = fields


# Timeline entries a customer may see, and the data keys shown to them. Routing explanations,
# classifier scores and internal-note events are for staff only.
CUSTOMER_EVENT_DATA: dict[str, set[str]] = {
    TicketEvent.Kind.CREATED: {"priority", "channel"},
    TicketEvent.Kind.STATUS_CHANGED: {"old", "new"},
    TicketEvent.Kind.COMMENTED: {"comment_id"},
    TicketEvent.Kind.ASSIGNED: set(),
    TicketEvent.Kind.PRIORITY_CHANGED: {"old", "new"},
}


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "created_at", "data"]
        read_only_fields = fields


def visible_events(events: list[TicketEvent], *, staff: bool) -> list[dict[str, Any]]:
    rendered = EventSerializer(events, many=True).data
    if staff:
        return list(rendered)
    shown = []
    for event, row in zip(events, rendered, strict=True):
        keys = CUSTOMER_EVENT_DATA.get(event.kind)
        if keys is None or (
            event.kind == TicketEvent.Kind.COMMENTED and event.data.get("internal")
        ):
            continue
        row["data"] = {k: v for k, v in event.data.items() if k in keys}
        shown.append(row)
    return shown


class TicketSerializer(serializers.ModelSerializer):
    """List view: the ticket without its conversation."""

    customer = serializers.CharField(source="customer.username", read_only=True)
    assignee = serializers.CharField(
        source="assignee.username", read_only=True, default=None, allow_null=True
    )
    category = serializers.CharField(
        source="category.slug", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "description",
            "priority",
            "status",
            "channel",
            "category",
            "customer",
            "assignee",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields


class TicketDetailSerializer(TicketSerializer):
    """Detail view: the ticket with its conversation and timeline, filtered for customers."""

    comments = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    sla = serializers.SerializerMethodField()
    routing = serializers.SerializerMethodField()

    class Meta(TicketSerializer.Meta):
        fields = [*TicketSerializer.Meta.fields, "comments", "timeline", "sla", "routing"]
        read_only_fields = fields

    def _staff(self) -> bool:
        return bool(self.context.get("staff"))

    def get_comments(self, ticket: Ticket) -> list[dict[str, Any]]:
        comments = [c for c in ticket.comments.all() if self._staff() or not c.internal]
        return list(CommentSerializer(comments, many=True).data)

    def get_timeline(self, ticket: Ticket) -> list[dict[str, Any]]:
        return visible_events(list(ticket.events.all()), staff=self._staff())

    @extend_schema_field(ClockSerializer(many=True))
    def get_sla(self, ticket: Ticket) -> list[dict[str, Any]]:
        """The SLA clocks (state, due, time left) for staff; internal targets are not shown to
        customers. Prefetched by the view (one query for all clocks)."""
        if not self._staff():
            return []
        return list(ClockSerializer(ticket.sla_clocks.all(), many=True, context=self.context).data)

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_routing(self, ticket: Ticket) -> dict[str, Any] | None:
        """Why the ticket is with its assignee (or waiting): the latest routing decision, for
        staff only (candidates' loads are internal). Prefetched by the view."""
        if not self._staff():
            return None
        latest = getattr(ticket, "latest_routing", None)
        return dict(DecisionSerializer(latest[0]).data) if latest else None
