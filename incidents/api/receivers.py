"""Monitoring's doors in: Prometheus Alertmanager's webhook (payload version 4) and a
PagerDuty Events API v2 compatible endpoint, for integration tokens (managers may post too, to
test a set-up). Both answer only after the notification is committed, so a 2xx means stored;
database trouble is a 503, which both senders retry, and a malformed body a 400, which they
drop."""

from __future__ import annotations

import uuid
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import alertmanager, flows
from incidents.models import Incident
from tickets.rest import StrictCharField, StrictChoiceField, StrictIntegerField
from tickets.roles import INTEGRATION, MANAGER, role_of, signed_in_user

ALERT_STATUSES = ["firing", "resolved"]  # also the schema's AlertStatusEnum
# Alertmanager's "no end yet" timestamp.
ZERO_TIME = "0001-01-01T00:00:00Z"


class IsIntegration(BasePermission):
    message = "Only integration tokens (or managers) may post alerts."

    def has_permission(self, request: Any, view: Any) -> bool:
        return role_of(request.user) in (INTEGRATION, MANAGER)


class StringMapField(serializers.DictField):
    """Label and annotation maps: strings only (Alertmanager never sends anything else)."""

    child = StrictCharField(allow_blank=True, max_length=10_000)


class AlertTimeField(serializers.DateTimeField):
    """RFC 3339 with Alertmanager's zero time meaning "none"."""

    def to_internal_value(self, value: Any) -> Any:
        if value == ZERO_TIME:
            return None
        return super().to_internal_value(value)


class AlertmanagerAlertSerializer(serializers.Serializer):
    status = StrictChoiceField(choices=ALERT_STATUSES)
    labels = StringMapField()
    annotations = StringMapField(required=False, default=dict)
    startsAt = AlertTimeField()
    endsAt = AlertTimeField(required=False, allow_null=True, default=None)
    generatorURL = StrictCharField(
        required=False, allow_blank=True, default="", max_length=1000
    )
    fingerprint = StrictCharField(max_length=64, pattern=r"^[0-9a-f]+$",
                                  pattern_message="Must be hexadecimal.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["startsAt"] is None:
            raise serializers.ValidationError({"startsAt": ["Required."]})
        return attrs


class AlertmanagerPayloadSerializer(serializers.Serializer):
    """Alertmanager's webhook body, version 4 (fields we do not use are accepted and kept in
    the stored notification)."""

    version = StrictChoiceField(choices=["4"])
    receiver = StrictCharField(max_length=200)
    status = StrictChoiceField(choices=ALERT_STATUSES)
    groupKey = StrictCharField(max_length=10_000)
    alerts = serializers.ListField(
        child=AlertmanagerAlertSerializer(), min_length=1, max_length=1000
    )
    groupLabels = StringMapField(required=False, default=dict)
    commonLabels = StringMapField(required=False, default=dict)
    commonAnnotations = StringMapField(required=False, default=dict)
    externalURL = StrictCharField(
        required=False, allow_blank=True, default="", max_length=1000
    )
    truncatedAlerts = StrictIntegerField(required=False, default=0, min_value=0)


class AlertmanagerReceiver(APIView):
    permission_classes = [IsIntegration]

    @extend_schema(
        request=AlertmanagerPayloadSerializer,
        responses={200: OpenApiResponse(description="Stored and applied (or a repeat).")},
        summary="Prometheus Alertmanager webhook receiver (payload version 4)",
    )
    def post(self, request: Request) -> Response:
        data = AlertmanagerPayloadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = alertmanager.receive(
            dict(data.validated_data), raw=request.data, user=signed_in_user(request)
        )
        incident = outcome.incident
        return Response({
            "status": "repeat" if outcome.repeat else "ok",
            "incident": None if incident is None else {
                "id": incident.pk, "reference": incident.reference, "status": incident.status,
            },
            "created": outcome.created,
            "fired": outcome.fired,
            "resolved": outcome.resolved,
        })


# PagerDuty's severities (the schema's PagerDutySeverityEnum) -> ours.
PD_SEVERITY = {"critical": "sev1", "error": "sev2", "warning": "sev3", "info": "sev4"}
PD_ACTIONS = ["trigger", "acknowledge", "resolve"]


class PagerDutyPayloadSerializer(serializers.Serializer):
    """PagerDuty's payload object; its other fields ("class", ...) are accepted and ignored."""

    summary = StrictCharField(max_length=1024)
    # (DRF takes declared fields off the class: this "source" does not shadow Field.source)
    source = StrictCharField(max_length=255)  # type: ignore[assignment]
    severity = StrictChoiceField(choices=list(PD_SEVERITY))
    timestamp = serializers.DateTimeField(required=False)
    component = StrictCharField(max_length=255, required=False, default="")
    group = StrictCharField(max_length=255, required=False, default="")
    custom_details = serializers.JSONField(required=False, default=dict, allow_null=True)


class PagerDutyEventSerializer(serializers.Serializer):
    routing_key = StrictCharField(max_length=255)
    event_action = StrictChoiceField(choices=PD_ACTIONS)
    dedup_key = StrictCharField(max_length=255, required=False)
    payload = PagerDutyPayloadSerializer(required=False)
    client = StrictCharField(max_length=255, required=False)
    client_url = StrictCharField(max_length=1000, required=False)
    # Accepted (PagerDuty takes them) and not used.
    links = serializers.ListField(child=serializers.JSONField(allow_null=True), required=False)
    images = serializers.ListField(child=serializers.JSONField(allow_null=True), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["event_action"] == "trigger" and "payload" not in attrs:
            raise serializers.ValidationError({"payload": ["Required for trigger events."]})
        if attrs["event_action"] != "trigger" and "dedup_key" not in attrs:
            raise serializers.ValidationError(
                {"dedup_key": ["Required for acknowledge and resolve events."]}
            )
        return attrs


class PagerDutyEvents(APIView):
    """PagerDuty Events API v2 semantics (trigger / acknowledge / resolve by dedup_key): a
    trigger while the key's incident is open adds to it; after it resolved, a trigger opens a
    new one. Acknowledge and resolve of an unknown or closed key are accepted and ignored,
    as PagerDuty does."""

    permission_classes = [IsIntegration]

    @extend_schema(
        request=PagerDutyEventSerializer,
        responses={202: OpenApiResponse(description='{"status": "success", "dedup_key": ...}')},
        summary="PagerDuty Events API v2 compatible endpoint",
    )
    def post(self, request: Request) -> Response:
        data = PagerDutyEventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = data.validated_data
        key = event.get("dedup_key") or uuid.uuid4().hex
        user = signed_in_user(request)
        if event["event_action"] == "trigger":
            payload = event["payload"]
            flows.open_incident(
                title=payload["summary"][:200], severity=PD_SEVERITY[payload["severity"]],
                source=Incident.Source.PAGERDUTY, opened_by=user, dedup_key=f"pd:{key}"[:255],
                service=payload["source"][:100], component=payload["component"][:100],
                started_at=min(payload.get("timestamp") or timezone.now(), timezone.now()),
                details={"routing_key_suffix": event["routing_key"][-4:],
                         "group": payload["group"],
                         "custom_details": payload["custom_details"] or {}},
            )
        else:
            incident = Incident.objects.filter(
                dedup_key=f"pd:{key}"[:255], status__in=Incident.OPEN_STATUSES
            ).first()
            if incident is not None and event["event_action"] == "acknowledge":
                flows.acknowledge(incident=incident, actor=user, take_command=False)
            elif incident is not None:
                flows.resolve(incident=incident, actor=user, note="resolved by PagerDuty event")
        return Response({"status": "success", "message": "Event processed", "dedup_key": key},
                        status=status.HTTP_202_ACCEPTED)
