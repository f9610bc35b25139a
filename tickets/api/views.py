from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from routing.models import RoutingDecision
from sla.models import SlaClock
from tickets import flows
from tickets.api.idempotency import HEADER, KEY_PATTERN, IdempotentRequest
from tickets.api.permissions import TicketRolePermission, request_role
from tickets.api.render import render_ticket
from tickets.api.serializers import (
    CommentCreateSerializer,
    CommentSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketSerializer,
)
from tickets.models import Comment, Ticket, TicketEvent
from tickets.rest import StrictPageNumberPagination, query_choice
from tickets.roles import STAFF_ROLES, signed_in_user
from tickets.services import TicketStateError


class TicketPagination(StrictPageNumberPagination):
    page_size = 25
    max_page_size = 100


IDEMPOTENCY_PARAM = OpenApiParameter(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
    OpenApiParameter.HEADER,
    description="Optional. 1-255 visible ASCII characters (a UUID is ideal). A retry with the "
    "same key within 24 h returns the first response.",
)
ERROR = {"$ref": "#/components/schemas/Error"}
STATUS_PARAM = OpenApiParameter(
    "status", OpenApiTypes.STR, enum=Ticket.Status.values, description="Filter by status."
)


class TicketViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [TicketRolePermission]
    pagination_class = TicketPagination
    serializer_class = TicketSerializer
    queryset = Ticket.objects.none()  # for schema generation; real scoping in get_queryset
    lookup_value_regex = r"\d+"

    def _staff(self) -> bool:
        return request_role(self.request) in STAFF_ROLES

    def get_queryset(self) -> QuerySet[Ticket]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular introspection
            return Ticket.objects.none()
        qs = Ticket.objects.select_related("customer", "assignee", "category")
        if not self._staff():
            # Scoping by owner is the access control: anything else is a 404.
            qs = qs.filter(customer=signed_in_user(self.request))
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch("comments", queryset=Comment.objects.select_related("author")),
                Prefetch("events", queryset=TicketEvent.objects.select_related("actor")),
            )
            if self._staff():  # customers are not shown SLA clocks nor routing decisions
                qs = qs.prefetch_related(
                    Prefetch("sla_clocks", queryset=SlaClock.objects.order_by("started_at", "id")),
                    Prefetch(
                        "routing_decisions",
                        queryset=RoutingDecision.objects.select_related("agent__user").order_by(
                            "-id"
                        )[:1],
                        to_attr="latest_routing",
                    ),
                )
        if self.action == "list" and (
            wanted := query_choice(self.request, "status", Ticket.Status.values)
        ):
            qs = qs.filter(status=wanted)
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "staff": self._staff()}

    def get_serializer_class(self) -> type:
        return TicketDetailSerializer if self.action == "retrieve" else TicketSerializer

    @extend_schema(parameters=[STATUS_PARAM])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=TicketCreateSerializer,
        responses={
            201: TicketSerializer,
            422: OpenApiResponse(ERROR, description="Idempotency-Key reused with another body."),
        },
        parameters=[IDEMPOTENCY_PARAM],
    )
    def create(self, request: Request) -> Response:
        data = TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        idem = IdempotentRequest.from_request(request)
        if idem and (replayed := idem.replay()):
            return replayed

        body: dict[str, Any] = {}

        def respond(ticket: Ticket) -> None:
            body.update(render_ticket(ticket))
            if idem:
                idem.store(status.HTTP_201_CREATED, body)

        try:
            flows.submit_ticket(
                customer=signed_in_user(request), **data.validated_data, before_commit=respond
            )
        except IntegrityError:
            # A concurrent request with the same key committed first: answer as it did.
            if idem and (replayed := idem.replay()):
                return replayed
            raise
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CommentCreateSerializer,
        responses={
            201: CommentSerializer,
            409: OpenApiResponse(ERROR, description="The ticket is closed."),
        },
    )
    @action(detail=True, methods=["post"], url_path="comments")
    def comments(self, request: Request, pk: str | None = None) -> Response:
        ticket = self.get_object()
        data = CommentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        staff = self._staff()
        if data.validated_data["internal"] and not staff:
            raise PermissionDenied("Only staff can add internal notes.")
        try:
            comment = flows.reply(
                ticket=ticket, author=signed_in_user(request), is_staff=staff, **data.validated_data
            )
        except TicketStateError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
