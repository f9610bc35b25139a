"""/api/v1/incidents/: integrations and staff open and read incidents; staff work them
(acknowledge, classify, update, link tickets, resolve, reopen, post-mortem) through the same
flows the admin uses. Customers get 403: incidents are shown to them only as replies on their
own linked tickets."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from incidents import flows, linking, postmortem
from incidents.api import serializers as s
from incidents.models import Incident, IncidentEvent, PostMortem
from incidents.services import IncidentStateError
from sla.models import Escalation, SlaClock
from tickets.models import Ticket
from tickets.rest import StrictPageNumberPagination
from tickets.roles import INTEGRATION, STAFF_ROLES, role_of, signed_in_user

READ_ROLES = (*STAFF_ROLES, INTEGRATION)


class IncidentPermission(BasePermission):
    """Integrations and staff open and read; only staff act on an incident."""

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        role = role_of(request.user)
        if view.action in ("list", "retrieve", "create"):
            return role in READ_ROLES
        return role in STAFF_ROLES


class MarkdownRenderer(BaseRenderer):
    """Lets `?format=md` (or Accept: text/markdown) ask for the post-mortem document; the view
    writes the body itself."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
               ) -> bytes:
        return str(data.get("detail", "")).encode() if isinstance(data, dict) else b""


class IncidentPagination(StrictPageNumberPagination):
    page_size = 25
    max_page_size = 100


FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=Incident.Status.values),
    OpenApiParameter("severity", OpenApiTypes.STR, enum=Incident.Severity.values),
    OpenApiParameter("open", OpenApiTypes.BOOL, description="Only open (or only closed)."),
]
CONFLICT = OpenApiResponse(description="Not allowed in the incident's current status.")


class IncidentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    permission_classes = [IncidentPermission]
    pagination_class = IncidentPagination
    serializer_class = s.IncidentSerializer
    queryset = Incident.objects.none()  # for schema generation; see get_queryset
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Incident]:
        qs = Incident.objects.select_related("commander", "category", "opened_by")
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                "updates__author", "alerts",
                Prefetch("linked_tickets", queryset=Ticket.objects.select_related("customer")),
                Prefetch("events", queryset=IncidentEvent.objects.select_related("actor")),
            )
        if self.action == "list":
            qs = self._filtered(qs, self.request.query_params)
        return qs

    @staticmethod
    def _filtered(qs: QuerySet[Incident], params: Any) -> QuerySet[Incident]:
        errors = {}
        if (wanted := params.get("status")) is not None:
            if wanted not in Incident.Status.values:
                errors["status"] = [f"Must be one of {Incident.Status.values}."]
            qs = qs.filter(status=wanted)
        if (severity := params.get("severity")) is not None:
            if severity not in Incident.Severity.values:
                errors["severity"] = [f"Must be one of {Incident.Severity.values}."]
            qs = qs.filter(severity=severity)
        if (is_open := params.get("open")) is not None:
            if is_open not in ("true", "false", "1", "0"):
                errors["open"] = ["Must be true or false."]
            wanted_open = is_open in ("true", "1")
            qs = (qs.filter if wanted_open else qs.exclude)(status__in=Incident.OPEN_STATUSES)
        if errors:
            raise ValidationError(errors)
        return qs

    def _staff(self) -> bool:
        return role_of(self.request.user) in STAFF_ROLES

    def _detail(self, incident: Incident, code: int = status.HTTP_200_OK,
                **extra: Any) -> Response:
        """The incident as GET .../{id}/ shows it (after an action too)."""
        if self.action != "retrieve":
            incident = self.get_queryset().prefetch_related(
                "updates__author", "alerts", "events__actor", "linked_tickets__customer"
            ).get(pk=incident.pk)
        context = {
            **self.get_serializer_context(),
            "staff": self._staff(),
            "now": timezone.now(),
            "clocks": SlaClock.objects.filter(incident_id=incident.pk).order_by("started_at",
                                                                               "id"),
            "escalations": Escalation.objects.filter(clock__incident_id=incident.pk)
            .select_related("clock").order_by("created_at", "id"),
        }
        body = dict(s.IncidentDetailSerializer(incident, context=context).data)
        return Response({**body, **extra}, status=code)

    @extend_schema(parameters=FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: s.IncidentDetailSerializer})
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._detail(self.get_object())

    @extend_schema(
        request=s.IncidentCreateSerializer,
        responses={201: s.IncidentDetailSerializer,
                   200: OpenApiResponse(s.IncidentDetailSerializer,
                                        description="A repeat of an open incident's dedup_key: "
                                        "recorded on it, nothing new opened.")},
    )
    def create(self, request: Request) -> Response:
        data = s.IncidentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = Incident.Source.STAFF if self._staff() else Incident.Source.API
        incident, created = flows.open_incident(
            source=source, opened_by=signed_in_user(request), **data.validated_data
        )
        return self._detail(incident, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _act(self, serializer_class: type | None = None) -> tuple[Incident, dict[str, Any]]:
        incident = self.get_object()
        if serializer_class is None:
            return incident, {}
        data = serializer_class(data=self.request.data)
        data.is_valid(raise_exception=True)
        return incident, dict(data.validated_data)

    @extend_schema(request=s.AcknowledgeSerializer, responses={200: s.IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.AcknowledgeSerializer)
        return self._detail(flows.acknowledge(incident=incident, actor=signed_in_user(request),
                                              commander=data.get("commander")))

    @extend_schema(request=s.CommanderSerializer, responses={200: s.IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def commander(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.CommanderSerializer)
        return self._detail(flows.set_commander(incident=incident, actor=signed_in_user(request),
                                                commander=data["commander"]))

    @extend_schema(request=s.ClassifySerializer, responses={200: s.IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def classify(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.ClassifySerializer)
        return self._detail(flows.classify(
            incident=incident, actor=signed_in_user(request), severity=data.get("severity"),
            category=data.get("category", flows.UNCHANGED), service=data.get("service"),
        ))

    @extend_schema(request=s.UpdateCreateSerializer,
                   responses={201: s.StatusUpdateSerializer})
    @action(detail=True, methods=["post"])
    def updates(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.UpdateCreateSerializer)
        update = flows.post_update(incident=incident, author=signed_in_user(request), **data)
        return Response(s.StatusUpdateSerializer(update).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.LinkSerializer, responses={200: s.IncidentDetailSerializer})
    @action(detail=True, methods=["post"])
    def link(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.LinkSerializer)
        tickets = list(Ticket.objects.filter(pk__in=data["tickets"]))
        if missing := sorted(set(data["tickets"]) - {t.pk for t in tickets}):
            # Well-formed, but naming a ticket that does not exist: as for a missing resource.
            raise NotFound(f"No ticket with id {missing[0]}.")
        linking.link_tickets(incident=incident, tickets=tickets, actor=signed_in_user(request))
        return self._detail(incident)

    @extend_schema(request=None, responses={200: s.IncidentDetailSerializer})
    @action(detail=True, methods=["delete"], url_path=r"link/(?P<ticket_id>\d+)")
    def unlink(self, request: Request, pk: str | None = None,
               ticket_id: str | None = None) -> Response:
        incident, _ = self._act()
        ticket = Ticket.objects.filter(pk=int(ticket_id or 0)).first()
        if ticket is None or not linking.unlink_ticket(
            incident=incident, ticket=ticket, actor=signed_in_user(request)
        ):
            return Response({"detail": "That ticket is not linked to this incident."},
                            status=status.HTTP_404_NOT_FOUND)
        return self._detail(incident)

    @extend_schema(request=None, responses={200: s.IncidentDetailSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def mitigate(self, request: Request, pk: str | None = None) -> Response:
        incident, _ = self._act()
        return self._detail(flows.mitigate(incident=incident, actor=signed_in_user(request)))

    @extend_schema(request=s.ResolveSerializer, responses={200: s.IncidentDetailSerializer,
                                                           409: CONFLICT})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.ResolveSerializer)
        incident, warnings = flows.resolve(incident=incident, actor=signed_in_user(request),
                                           **data)
        return self._detail(incident, warnings=warnings)

    @extend_schema(request=s.ReopenSerializer, responses={200: s.IncidentDetailSerializer,
                                                          409: CONFLICT})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        incident, data = self._act(s.ReopenSerializer)
        return self._detail(flows.reopen(incident=incident, actor=signed_in_user(request),
                                         **data))

    @extend_schema(methods=["GET"], request=None, responses={200: s.PostMortemSerializer})
    @extend_schema(methods=["PUT"], request=s.PostMortemInputSerializer,
                   responses={200: s.PostMortemSerializer})
    @action(detail=True, methods=["get", "put"], url_path="postmortem",
            renderer_classes=[JSONRenderer, MarkdownRenderer])
    def postmortem(self, request: Request, pk: str | None = None) -> Response:
        """GET: the post-mortem (with its Markdown; `?format=md` for the document alone).
        PUT: write it (fields given replace theirs; `action_items` replaces the list)."""
        incident = self.get_object()
        if request.method == "PUT":
            data = s.PostMortemInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
            actions = fields.pop("action_items", None)
            postmortem.save_postmortem(
                incident=incident, author=signed_in_user(request), fields=fields,
                actions=None if actions is None else
                [postmortem.ActionItemInput(**a) for a in actions],
            )
        found = PostMortem.objects.filter(incident=incident).first()
        if request.accepted_renderer.format == "md":
            return HttpResponse(postmortem.render_markdown(incident),  # type: ignore[return-value]
                                content_type="text/markdown; charset=utf-8")
        if found is None:
            return Response({"detail": "No post-mortem written yet."},
                            status=status.HTTP_404_NOT_FOUND)
        return Response(s.PostMortemSerializer(found).data)

    @extend_schema(request=None, responses={200: s.PostMortemSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="postmortem/publish")
    def publish(self, request: Request, pk: str | None = None) -> Response:
        incident, _ = self._act()
        published = postmortem.publish_postmortem(incident=incident,
                                                  actor=signed_in_user(request))
        return Response(s.PostMortemSerializer(published).data)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, IncidentStateError):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)
