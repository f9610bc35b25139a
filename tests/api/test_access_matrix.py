"""Who may do what to whose objects, for every API operation the URL conf serves (OWASP API1
BOLA, API3 mass assignment, API5 function-level authorization).

EXPECTED is the inventory: one row per operation, one expected status per role. The operations
are read from the URL conf, so a new endpoint fails test_every_api_operation_is_in_the_matrix
until its row says what each role gets. Object endpoints act on customer A's ticket."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.test import APIClient

from routing.models import AgentProfile
from tests.api.conftest import ROLES
from tickets.models import Comment, Ticket

#            customer_a customer_b agent manager integration anonymous
EXPECTED: dict[str, tuple[int, int, int, int, int, int]] = {
    "GET /api/v1/tickets/": (200, 200, 200, 200, 403, 401),
    "POST /api/v1/tickets/": (201, 201, 403, 403, 403, 401),
    "GET /api/v1/tickets/{pk}/": (200, 404, 200, 200, 403, 401),
    "POST /api/v1/tickets/{pk}/comments/": (201, 404, 201, 201, 403, 401),
    # The customer's own actions on their ticket (customer A's is still open: nothing to
    # confirm or rate yet, 409; closing it is theirs to do).
    "POST /api/v1/tickets/{pk}/close/": (200, 404, 403, 403, 403, 401),
    "POST /api/v1/tickets/{pk}/confirm/": (409, 404, 403, 403, 403, 401),
    "POST /api/v1/tickets/{pk}/rating/": (409, 404, 403, 403, 403, 401),
    "GET /api/v1/tickets/{pk}/rating/": (404, 404, 403, 403, 403, 401),
    # The SLA report compares people and teams: managers only.
    "GET /api/v1/reports/sla/": (403, 403, 403, 200, 403, 401),
    "GET /api/v1/agents/": (403, 403, 200, 200, 403, 401),
    # Only agnes (the agent) has an agent profile; the manager has none.
    "GET /api/v1/agents/me/": (403, 403, 200, 404, 403, 401),
    "PATCH /api/v1/agents/me/": (403, 403, 200, 404, 403, 401),
    "GET /api/v1/sla/breaches/": (403, 403, 403, 200, 403, 401),
    "GET /api/v1/sla/breaches.csv": (403, 403, 403, 200, 403, 401),
    # The API's own description is public.
    "GET /api/v1/schema/": (200, 200, 200, 200, 200, 200),
    "GET /api/v1/docs/": (200, 200, 200, 200, 200, 200),
    # Incidents: integrations and staff open and read; only staff act. Customers never.
    "GET /api/v1/incidents/": (403, 403, 200, 200, 200, 401),
    "POST /api/v1/incidents/": (403, 403, 201, 201, 201, 401),
    "GET /api/v1/incidents/{pk}/": (403, 403, 200, 200, 200, 401),
    "POST /api/v1/incidents/{pk}/acknowledge/": (403, 403, 200, 200, 403, 401),
    "POST /api/v1/incidents/{pk}/classify/": (403, 403, 200, 200, 403, 401),
    "POST /api/v1/incidents/{pk}/commander/": (403, 403, 200, 200, 403, 401),
    "POST /api/v1/incidents/{pk}/link/": (403, 403, 200, 200, 403, 401),
    "DELETE /api/v1/incidents/{pk}/link/{ticket_id}/": (403, 403, 200, 200, 403, 401),
    "POST /api/v1/incidents/{pk}/updates/": (403, 403, 201, 201, 403, 401),
    "POST /api/v1/incidents/{pk}/mitigate/": (403, 403, 200, 200, 403, 401),
    "POST /api/v1/incidents/{pk}/resolve/": (403, 403, 200, 200, 403, 401),
    # Allowed, and answered by the incident's state: it is open (reopen 409), has no
    # post-mortem yet (GET 404, publish 409).
    "POST /api/v1/incidents/{pk}/reopen/": (403, 403, 409, 409, 403, 401),
    "GET /api/v1/incidents/{pk}/postmortem/": (403, 403, 404, 404, 403, 401),
    "PUT /api/v1/incidents/{pk}/postmortem/": (403, 403, 200, 200, 403, 401),
    "POST /api/v1/incidents/{pk}/postmortem/publish/": (403, 403, 409, 409, 403, 401),
    # Monitoring receivers: integrations (and managers, to test a set-up).
    "POST /api/v1/integrations/alertmanager/": (403, 403, 403, 200, 200, 401),
    "POST /api/v1/integrations/pagerduty/v2/enqueue": (403, 403, 403, 202, 202, 401),
}
ALERTMANAGER = Path(__file__).parent.parent / "incidents" / "alertmanager_0_25" / "001-firing.json"
BODIES: dict[str, Any] = {
    "POST /api/v1/tickets/": {"subject": "New one", "description": "Please help."},
    "POST /api/v1/tickets/{pk}/comments/": {"body": "Any news?"},
    "POST /api/v1/tickets/{pk}/rating/": {"score": 5},
    "PATCH /api/v1/agents/me/": {"availability": "away"},
    "POST /api/v1/incidents/": {"title": "Checkout down", "severity": "sev2"},
    "POST /api/v1/incidents/{pk}/commander/": {"commander": "agnes"},
    "POST /api/v1/incidents/{pk}/link/": lambda world: {
        "tickets": [world.tickets["customer_b"].pk]
    },
    "POST /api/v1/incidents/{pk}/updates/": {"body": "Investigating."},
    "POST /api/v1/integrations/alertmanager/": lambda world: json.loads(ALERTMANAGER.read_text()),
    "POST /api/v1/integrations/pagerduty/v2/enqueue": {
        "routing_key": "r" * 32, "event_action": "trigger",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "critical"},
    },
}


def api_operations() -> set[str]:
    """Every (method, path) the URL conf routes to a DRF view under /api/."""
    return {f"{method} {path}" for path, _, method, _ in EndpointEnumerator().get_api_endpoints()
            if path.startswith("/api/")}


def api_routes(patterns: list[Any] | None = None, prefix: str = "") -> set[str]:
    """Every route under api/ in the URL conf, DRF or not (e.g. a plain Django receiver)."""
    routes = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes |= api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            routes.add(route)
    return routes


def test_every_api_operation_is_in_the_matrix():
    assert api_operations() == set(EXPECTED), "add the new operation's row to EXPECTED"


def test_every_api_route_is_a_described_operation():
    described = {re.sub(r"\{(\w+)\}", r"<\1>", key.split(" ", 1)[1].lstrip("/"))
                 for key in EXPECTED}
    # Regex groups (?P<pk>...) and path converters <int:pk> both become <pk>.
    routes = {re.sub(r"<\w+:(\w+)>", r"<\1>",
                     re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>",
                            r.replace("^", "").replace("$", "")))
              for r in api_routes()}
    assert routes <= described, routes - described


def call(world, role: str, operation: str) -> Any:
    """The operation on the world's objects: {pk} is customer A's ticket under /tickets/, the
    open incident under /incidents/; {ticket_id} is customer A's ticket."""
    method, path = operation.split(" ", 1)
    ticket = world.tickets["customer_a"]
    pk = world.extra["incident"].pk if path.startswith("/api/v1/incidents/") else ticket.pk
    path = path.replace("{pk}", str(pk)).replace("{ticket_id}", str(ticket.pk))
    client = APIClient()
    client.credentials(**{"HTTP_" + k.upper(): v for k, v in world.headers(role).items()})
    body = BODIES.get(operation)
    return client.generic(method, path, data=_json(body(world) if callable(body) else body),
                          content_type="application/json")


def _json(body: dict[str, Any] | None) -> str:
    return json.dumps(body) if body is not None else ""


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_each_role_gets_the_expected_status(world, operation, role):
    comments_before = Comment.objects.count()

    resp = call(world, role, operation)

    body = b"".join(resp.streaming_content) if resp.streaming else resp.content
    assert resp.status_code == EXPECTED[operation][ROLES.index(role)], body
    if role in ("customer_b", "integration", "anonymous"):
        # Nobody but staff and the owner ever sees customer A's subject or comment (incidents
        # included: customer A's ticket is linked to the world's incident).
        assert b"customer_a private" not in body, operation
    if resp.status_code >= 400:
        assert Comment.objects.count() == comments_before  # refused means nothing written


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("suffix", ["", "comments/"])
def test_another_customers_ticket_answers_exactly_like_a_missing_one(world, method, suffix):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=world.headers("customer_b")["Authorization"])
    missing = Ticket.objects.order_by("-pk").first().pk + 1000

    def ask(pk):
        return client.generic(method, f"/api/v1/tickets/{pk}/{suffix}", data='{"body": "x"}',
                              content_type="application/json")

    foreign, absent = ask(world.tickets["customer_a"].pk), ask(missing)

    assert (foreign.status_code, foreign.json()) == (absent.status_code, absent.json())
    assert foreign.status_code in (404, 405)
    assert not Comment.objects.filter(
        ticket=world.tickets["customer_a"], author=world.users["customer_b"]
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    {}, {"status": "new"}, {"customer": "alice"}, {"customer": "1"}, {"page_size": "100"},
])
def test_a_customer_never_lists_another_customers_ticket(world, query):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=world.headers("customer_b")["Authorization"])

    body = client.get("/api/v1/tickets/", query).json()

    assert [t["id"] for t in body["results"]] == [world.tickets["customer_b"].pk]
    assert body["count"] == 1  # the count does not reveal other customers' tickets either


# --- Mass assignment: read-only fields stay as the server set them (checked in the database) --

TICKET_EXTRAS = {
    "status": "closed", "assignee": "agnes", "customer": "bob", "category": "network",
    "reference": "SB-FORGED", "id": 1, "created_at": "2000-01-01T00:00:00Z", "channel": "phone",
    "sla_due_at": "2100-01-01T00:00:00Z", "needs_triage": False, "first_response_at": None,
}


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), sorted(TICKET_EXTRAS.items()))
def test_a_customer_cannot_set_server_fields_when_creating(world, field, value):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=world.headers("customer_a")["Authorization"])
    before = set(Ticket.objects.values_list("pk", flat=True))

    resp = client.post("/api/v1/tickets/", {**BODIES["POST /api/v1/tickets/"], field: value},
                       format="json")

    assert resp.status_code == 400 and field in resp.json()
    assert set(Ticket.objects.values_list("pk", flat=True)) == before


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [
    ("author", "max"), ("ticket", 1), ("created_at", "2000-01-01T00:00:00Z"), ("id", 1),
])
def test_a_customer_cannot_set_server_fields_on_a_comment(world, field, value):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=world.headers("customer_a")["Authorization"])
    ticket = world.tickets["customer_a"]
    before = list(Comment.objects.values_list("pk", "author_id", "ticket_id"))

    resp = client.post(f"/api/v1/tickets/{ticket.pk}/comments/", {"body": "hi", field: value},
                       format="json")

    assert resp.status_code == 400 and field in resp.json()
    assert list(Comment.objects.values_list("pk", "author_id", "ticket_id")) == before


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [
    ("capacity", 99), ("load", 0), ("tier", 3), ("team", "elite"), ("user", 1), ("id", 5),
    ("skills", [{"skill": "network", "level": 5}]),
])
def test_an_agent_can_change_only_their_availability(world, field, value):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=world.headers("agent")["Authorization"])
    profile = AgentProfile.objects.get(user=world.users["agent"])
    before = AgentProfile.objects.filter(pk=profile.pk).values().get()

    resp = client.patch("/api/v1/agents/me/", {"availability": "away", field: value},
                        format="json")

    assert resp.status_code == 400 and field in resp.json()
    assert AgentProfile.objects.filter(pk=profile.pk).values().get() == before

