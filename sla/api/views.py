"""The SLA breach report for managers: GET /api/v1/sla/breaches/ (JSON, paginated) and
/api/v1/sla/breaches.csv (or ?format=csv; streamed, all matching rows).

Managers only: the report compares people's and teams' performance; agents see the clocks of
each ticket on its detail view instead, so they get 403 here (as do customers/integrations).
The admin applies the same rule (sla/apps.py role_permissions: agents have no SLA list
permission)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.pagination import BasePagination
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from sla.api.serializers import CSV_FIELDS, BreachSerializer, csv_row
from sla.models import SlaClock
from tickets.models import Ticket
from tickets.rest import (
    StrictPageNumberPagination,
    query_bool,
    query_choice,
    query_datetime,
    query_text,
)
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


class BreachPagination(StrictPageNumberPagination):
    page_size = 50
    max_page_size = 500


STAGE_PATTERN = r"[A-Za-z0-9_-]{1,40}"
FILTERS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME,
                     description="Breached at or after (ISO 8601; without an offset: UTC)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Breached before."),
    OpenApiParameter("stage", {"type": "string", "pattern": f"^{STAGE_PATTERN}$"},
                     description="Stage name, e.g. first_response."),
    OpenApiParameter("subject", OpenApiTypes.STR, enum=["ticket", "incident"]),
    OpenApiParameter("priority", OpenApiTypes.STR, enum=Ticket.Priority.values,
                     description="Ticket priority."),
    OpenApiParameter("open", OpenApiTypes.BOOL, description="true: only clocks not yet stopped."),
]


class BreachList(generics.ListAPIView):
    """A filter that is present must be valid (an empty one included): 400 naming it, in JSON,
    whatever format was asked for, and before a byte of CSV is sent."""

    permission_classes = [IsManager]
    serializer_class = BreachSerializer
    pagination_class: type[BasePagination] | None = BreachPagination
    renderer_classes = [JSONRenderer, CSVRenderer]
    queryset = SlaClock.objects.none()

    def get_queryset(self) -> QuerySet[SlaClock]:
        request = self.request
        # Served by the partial index sla_clock_breached (breached_at DESC).
        qs = (
            SlaClock.objects.filter(breached_at__isnull=False)
            .select_related("ticket")
            .order_by("-breached_at", "-id")
        )
        if (since := query_datetime(request, "since")) is not None:
            qs = qs.filter(breached_at__gte=since)
        if (until := query_datetime(request, "until")) is not None:
            qs = qs.filter(breached_at__lt=until)
        if stage := query_text(request, "stage", STAGE_PATTERN):
            qs = qs.filter(stage=stage)
        if subject := query_choice(request, "subject", ["ticket", "incident"]):
            qs = qs.filter(ticket__isnull=subject != "ticket")
        if priority := query_choice(request, "priority", Ticket.Priority.values):
            qs = qs.filter(ticket__priority=priority)
        if query_bool(request, "open"):
            qs = qs.filter(stopped_at__isnull=True)
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF answers an unknown ?format= with a 404; it is a bad parameter.
        formats = [r.format for r in self.get_renderers()]
        if "format" in request.query_params and not force:
            query_choice(request, "format", formats)
        return super().perform_content_negotiation(request, force)

    def handle_exception(self, exc: Exception) -> Any:
        # Errors are JSON even on ?format=csv (the CSV renderer would print a Python repr).
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(parameters=FILTERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        if request.accepted_renderer.format == "csv":
            return self._csv()
        return super().get(request, *args, **kwargs)

    def _csv(self) -> StreamingHttpResponse:
        now = timezone.now()
        writer = csv.writer(_Echo())
        clocks = self.get_queryset()  # validates the filters now: an error is still a 400
        if isinstance(self.paginator, StrictPageNumberPagination):
            # ?format=csv on the paginated URL: all rows, but page/page_size must still be valid.
            self.paginator.get_page_size(self.request)
            self.paginator.validate_page(self.request)

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_FIELDS)
            for clock in clocks.iterator(chunk_size=2000):
                yield writer.writerow(csv_row(clock, now))

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="sla-breaches.csv"'
        return response


class BreachCsv(BreachList):
    """/api/v1/sla/breaches.csv: every matching row, streamed; no pagination."""

    pagination_class = None
    renderer_classes = [CSVRenderer, JSONRenderer]

    @extend_schema(parameters=FILTERS, responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        return self._csv()
