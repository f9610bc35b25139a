from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from routing import agents as agent_services
from routing import selectors
from routing.api.serializers import AgentSerializer, AvailabilitySerializer
from routing.models import AgentProfile
from tickets.roles import STAFF_ROLES, role_of, signed_in_user


class StaffOnly(BasePermission):
    """Agents and managers only; customers and integrations get 403."""

    message = "Only staff can see agents."

    def has_permission(self, request: Any, view: Any) -> bool:
        return role_of(request.user) in STAFF_ROLES


class AgentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET /agents/ lists the team with live load; /agents/me/ is the caller's own profile,
    the only one they can change (there is no route that changes someone else's)."""

    permission_classes = [StaffOnly]
    serializer_class = AgentSerializer
    pagination_class = None  # a team, not a table: tens to a few thousand small rows

    def get_queryset(self) -> QuerySet[AgentProfile]:
        return selectors.list_agents()

    def _own_profile(self) -> AgentProfile:
        profile = selectors.list_agents().filter(user=signed_in_user(self.request)).first()
        if profile is None:
            raise NotFound("You have no agent profile.")
        return profile

    @extend_schema(
        request=AvailabilitySerializer,
        responses={
            200: AgentSerializer,
            404: OpenApiResponse({"$ref": "#/components/schemas/Error"},
                                 description="You have no agent profile."),
        },
    )
    @action(detail=False, methods=["get", "patch"], url_path="me")
    def me(self, request: Request) -> Response:
        profile = self._own_profile()
        if request.method == "PATCH":
            if not request.user.has_perm("routing.set_own_availability"):
                self.permission_denied(request, message="Your role cannot set availability.")
            # A partial update: an empty body changes nothing and answers the profile.
            data = AvailabilitySerializer(data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            if "availability" in data.validated_data:
                agent_services.set_availability(
                    agent=profile,
                    availability=data.validated_data["availability"],
                    actor=signed_in_user(request),
                )
                profile = self._own_profile()
        return Response(AgentSerializer(profile).data)
