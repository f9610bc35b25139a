"""The SLA breach report for managers: GET /api/v1/sla/breaches/ (JSON, paginated) and
/api/v1/sla/breaches.csv (or ?format=csv; streamed, all matching rows).

Managers only: the report compares people's and teams' performance; agents see the clocks of
each ticket on its detail view instead, so they get 403 here (as do customers/integrations).
The admin applies the same rule (sla/apps.py role_permissions: agents have no SLA list
permission)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from sla.api.serializers import CSV_FIELDS, BreachSerializer, csv_row
from sla.models import SlaClock
from tickets.roles import MANAGER, role_of


class IsManager(BasePermission):
    message = "The SLA breach report is for managers."

    def has_permission(self, request: Any, view: Any) -> bool:
        return role_of(request.user) == MANAGER


class CSVRenderer(BaseRenderer):
    """Lets content negotiation accept ?format=csv; the view streams the body itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
               ) -> bytes:
        return b"" if data is None else str(data).encode()


class _Echo:
    def write(self, value: str) -> str:
        return value


class BreachPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


FILTERS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Breached at or after."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Breached before."),
    OpenApiParameter("stage", OpenApiTypes.STR),
    OpenApiParameter("subject", OpenApiTypes.STR, enum=["ticket", "incident"]),
    OpenApiParameter("priority", OpenApiTypes.STR, description="Ticket priority."),
    OpenApiParameter("open", OpenApiTypes.BOOL, description="Only clocks not yet stopped."),
]


class BreachList(generics.ListAPIView):
    permission_classes = [IsManager]
    serializer_class = BreachSerializer
    pagination_class = BreachPagination
    renderer_classes = [JSONRenderer, CSVRenderer]
    queryset = SlaClock.objects.none()

    def get_queryset(self) -> QuerySet[SlaClock]:
        params = self.request.query_params
        # Served by the partial index sla_clock_breached (breached_at DESC).
        qs = (
            SlaClock.objects.filter(breached_at__isnull=False)
            .select_related("ticket")
            .order_by("-breached_at", "-id")
        )
        for name, lookup in (("since", "breached_at__gte"), ("until", "breached_at__lt")):
            if value := params.get(name):
                qs = qs.filter(**{lookup: _datetime(name, value)})
        if stage := params.get("stage"):
            qs = qs.filter(stage=stage)
        if subject := params.get("subject"):
            if subject not in ("ticket", "incident"):
                raise ValidationError({"subject": ["Must be ticket or incident."]})
            qs = qs.filter(ticket__isnull=subject != "ticket")
        if priority := params.get("priority"):
            qs = qs.filter(ticket__priority=priority)
        if params.get("open") in ("1", "true"):
            qs = qs.filter(stopped_at__isnull=True)
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(parameters=FILTERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("csv") or request.accepted_renderer.format == "csv":
            return self._csv()
        return super().get(request, *args, **kwargs)

    def _csv(self) -> StreamingHttpResponse:
        now = timezone.now()
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_FIELDS)
            for clock in self.get_queryset().iterator(chunk_size=2000):
                yield writer.writerow(csv_row(clock, now))

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sla-breaches.csv"'
        return response


def _datetime(name: str, value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValidationError({name: ["Use an ISO 8601 date-time."]})
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)
