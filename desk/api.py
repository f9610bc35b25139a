"""GET /api/v1/reports/sla/?from=&to=&group_by= : the SLA report as JSON for managers' BI tools
(the same numbers as the report page, desk.reports). Managers only: agents and customers get
403, like the breach list."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from desk import reports
from tickets.roles import MANAGER, role_of


class IsManager(BasePermission):
    message = "The SLA report is for managers."

    def has_permission(self, request: Any, view: Any) -> bool:
        return role_of(request.user) == MANAGER


class RowSerializer(serializers.Serializer):
    group = serializers.CharField()
    stage = serializers.CharField()
    total = serializers.IntegerField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance = serializers.FloatField(allow_null=True, help_text="met / total, 0-1")


class TimesSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median_seconds = serializers.IntegerField(allow_null=True)
    p90_seconds = serializers.IntegerField(allow_null=True)


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance = serializers.FloatField(allow_null=True)


class KpiSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=["fcr", "first_response_2h", "csat", "reopen_rate"])
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    target = serializers.FloatField()
    met = serializers.BooleanField(allow_null=True)
    basis = serializers.IntegerField(help_text="tickets (or ratings) it is computed from")


class IncidentTimesSerializer(TimesSerializer):
    mean_seconds = serializers.IntegerField(allow_null=True)


class IncidentsSerializer(serializers.Serializer):
    opened = serializers.DictField(child=serializers.IntegerField(), help_text="by severity")
    mtta = IncidentTimesSerializer(help_text="detected -> acknowledged")
    mttr = IncidentTimesSerializer(help_text="detected -> resolved")
    stages = RowSerializer(many=True)


class EscalationsSerializer(serializers.Serializer):
    warning = serializers.IntegerField()
    breach = serializers.IntegerField()
    escalation = serializers.IntegerField()


class SlaReportSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    time_zone = serializers.CharField()
    group_by = serializers.ChoiceField(choices=list(reports.GROUPS))
    rows = RowSerializer(many=True)
    by_stage = RowSerializer(many=True)
    first_response = TimesSerializer()
    resolution = TimesSerializer()
    escalations = EscalationsSerializer()
    daily = DaySerializer(many=True)
    kpis = KpiSerializer(many=True)
    incidents = IncidentsSerializer()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # "from" is a Python keyword
        return fields


PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: 6 days ago)."),
    OpenApiParameter("to", OpenApiTypes.DATE,
                     description="Last day, inclusive (default: today)."),
    OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(reports.GROUPS),
                     description="Breakdown of `rows` (default: stage)."),
]


class SlaReportView(APIView):
    permission_classes = [IsManager]

    @extend_schema(parameters=PARAMS, responses={200: SlaReportSerializer})
    def get(self, request: Request) -> Response:
        params = request.query_params
        tz = ZoneInfo(settings.TIME_ZONE)
        period = reports.default_period(timezone.localdate(timezone=tz), tz)
        first, last = period.first, period.last
        errors: dict[str, list[str]] = {}
        for name in ("from", "to"):
            if (raw := params.get(name)) is not None:  # given but empty is an error too
                try:
                    value = date.fromisoformat(raw)
                except ValueError:
                    errors[name] = ["Use a date: YYYY-MM-DD."]
                    continue
                first, last = (value, last) if name == "from" else (first, value)
        group_by = params.get("group_by", "stage")
        if group_by not in reports.GROUPS:
            errors["group_by"] = [f"Must be one of {list(reports.GROUPS)}."]
        if not errors and last < first:
            errors["to"] = ["Must not be before 'from'."]
        if not errors and (last - first).days > 366:
            errors["from"] = ["A report covers at most 367 days."]
        if errors:
            raise ValidationError(errors)
        period = reports.Period(first, last, tz)
        data = reports.build(period, breached_limit=0)
        rows = data.by_stage if group_by == "stage" else data.breakdowns[group_by]
        return Response({
            "from": first, "to": last, "time_zone": str(tz), "group_by": group_by,
            "rows": [r.as_dict() for r in rows],
            "by_stage": [r.as_dict() for r in data.by_stage],
            "first_response": data.first_response, "resolution": data.resolution,
            "escalations": data.escalations, "daily": data.daily,
            "kpis": [k.as_dict() for k in data.kpis],
            "incidents": {**data.incidents,
                          "stages": [r.as_dict() for r in data.incidents["stages"]]},
        })


urlpatterns = [path("reports/sla/", SlaReportView.as_view(), name="reports-sla")]
