"""What a customer does with their own ticket once it is answered: confirm the resolution,
close it, rate it (1-5, once). Customers only (staff act in the admin: 403 here); another
customer's ticket is a 404 like everywhere in the API."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets import flows
from tickets.api.serializers import TicketSerializer
from tickets.api.views import ERROR
from tickets.models import Rating, Ticket
from tickets.rest import NoUnknownFieldsMixin, StrictCharField
from tickets.roles import CUSTOMER, role_of, signed_in_user
from tickets.services import TicketStateError


class CustomerOnly(BasePermission):
    message = "Only the ticket's customer can do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return role_of(request.user) == CUSTOMER


class StrictScoreField(serializers.IntegerField):
    """A JSON integer 1-5: "5", 5.0 or true are refused like every type mismatch in this API."""

    default_error_messages = {"invalid": "Must be a JSON integer from 1 to 5."}

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class RatingCreateSerializer(NoUnknownFieldsMixin, serializers.Serializer):
    score = StrictScoreField(min_value=1, max_value=5)
    comment = StrictCharField(max_length=2000, required=False, default="", allow_blank=True)


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rating
        fields = ["score", "comment", "created_at"]
        read_only_fields = fields


class _OwnTicket(APIView):
    permission_classes = [CustomerOnly]

    def own_ticket(self, request: Request, pk: int) -> Ticket:
        return get_object_or_404(
            Ticket.objects.select_related("customer", "assignee", "category"),
            pk=pk, customer=signed_in_user(request),
        )


def _conflict(exc: TicketStateError) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


def _customer_closes(ticket: Ticket, request: Request, *, confirm: bool) -> Response:
    try:
        ticket = flows.customer_closes(ticket=ticket, customer=signed_in_user(request),
                                       confirm=confirm)
    except TicketStateError as exc:
        return _conflict(exc)
    return Response(TicketSerializer(ticket).data)


class ConfirmView(_OwnTicket):
    """POST /tickets/{id}/confirm/: the customer confirms a resolved ticket is solved (closed)."""

    @extend_schema(request=None, responses={
        200: TicketSerializer,
        409: OpenApiResponse(ERROR, description="The ticket is not resolved."),
    })
    def post(self, request: Request, pk: int) -> Response:
        return _customer_closes(self.own_ticket(request, pk), request, confirm=True)


class CloseView(_OwnTicket):
    """POST /tickets/{id}/close/: the customer closes their ticket (no longer needed)."""

    @extend_schema(request=None, responses={
        200: TicketSerializer,
        409: OpenApiResponse(ERROR, description="The ticket is already closed."),
    })
    def post(self, request: Request, pk: int) -> Response:
        return _customer_closes(self.own_ticket(request, pk), request, confirm=False)


class RatingView(_OwnTicket):
    """POST /tickets/{id}/rating/ {score: 1-5, comment?}: once per resolved or closed ticket
    (409 when still open or already rated); GET reads it back (404 until rated)."""

    @extend_schema(request=RatingCreateSerializer, responses={
        201: RatingSerializer,
        409: OpenApiResponse(ERROR, description="Still open, or already rated."),
    })
    def post(self, request: Request, pk: int) -> Response:
        ticket = self.own_ticket(request, pk)
        data = RatingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            rating = flows.rate(ticket=ticket, customer=signed_in_user(request),
                                **data.validated_data)
        except TicketStateError as exc:
            return _conflict(exc)
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: RatingSerializer})
    def get(self, request: Request, pk: int) -> Response:
        ticket = self.own_ticket(request, pk)
        rating = get_object_or_404(Rating, ticket=ticket)
        return Response(RatingSerializer(rating).data)
