"""The API's callers, one per role, with tokens and a little of everything to act on: the world
the schemathesis run and the access matrix share.

customer_a (alice) and customer_b (bob) each own a ticket with a comment and a breached SLA
clock; agent agnes has an agent profile; max is a manager; ian an integration. One incident is
open, with customer A's ticket linked to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from incidents import linking
from tests.incidents.factories import open_incident
from tests.routing.factories import AgentProfileFactory
from tests.sla.factories import ClockFactory
from tests.tickets.factories import CommentFactory, TicketFactory
from tickets.api.authentication import issue_token

ROLES = ("customer_a", "customer_b", "agent", "manager", "integration", "anonymous")


@dataclass
class World:
    users: dict[str, Any]
    tokens: dict[str, str | None]
    tickets: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens[role]
        return {"Authorization": f"Token {token}"} if token else {}


@pytest.fixture
def world(alice, bob, agnes, max_manager, ian) -> World:
    users = {"customer_a": alice, "customer_b": bob, "agent": agnes, "manager": max_manager,
             "integration": ian, "anonymous": None}
    AgentProfileFactory(user=agnes)
    tickets = {}
    for role in ("customer_a", "customer_b"):
        ticket = TicketFactory(customer=users[role], subject=f"{role} private subject")
        CommentFactory(ticket=ticket, author=users[role], body=f"{role} private comment")
        ClockFactory(ticket=ticket, state="breached", breached_at=ticket.created_at, level=2)
        tickets[role] = ticket
    tokens = {role: (issue_token(user)[1] if user else None) for role, user in users.items()}
    incident = open_incident()
    linking.link_tickets(incident=incident, tickets=[tickets["customer_a"]], actor=agnes)
    return World(users=users, tokens=tokens, tickets=tickets, extra={"incident": incident})


@pytest.fixture
def keep_test_connection(db: None) -> Any:
    """Calls through the real WSGI handler (schemathesis' in-process transport) fire
    request_started/request_finished, whose close_old_connections would close pytest-django's
    connection and its test transaction on PostgreSQL (../shared/RELIABILITY.md 4.4). Django's
    own test Client disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(settings) -> None:
    """Hundreds of requests per role in seconds: the per-user rate limit (tested on its own in
    tests/tickets/test_api_validation.py) would answer most of them 429."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": None}}


# Open findings, for the incidents app's owner (this branch does not change that app): per
# operation, the schemathesis check that still fails and why. Only that check is skipped for that
# operation; every other check (no server error, documented statuses, content types, ...) still
# runs on it. Remove an entry with its fix.
_INCIDENT_DETAIL = (
    ("response_schema_conformance",),
    "IncidentDetail.category, .commander, .opened_by and IncidentEvent.actor are null but not "
    "nullable in the schema (allow_null=True); runbook_url \"\" is not a uri",
)
KNOWN_FAILURES: dict[str, tuple[tuple[str, ...], str]] = {
    "GET /api/v1/incidents/": (
        ("response_schema_conformance", "negative_data_rejection"),
        "Incident.category and .commander are null but not nullable in the schema; "
        "?page_size=null is accepted (IncidentPagination is DRF's lenient one: use "
        "tickets.rest.StrictPageNumberPagination)",
    ),
    "POST /api/v1/incidents/": (
        ("response_schema_conformance", "positive_data_acceptance"),
        _INCIDENT_DETAIL[1] + "; rejects a schema-valid body (runbook_url, ...) with 400",
    ),
    "GET /api/v1/incidents/{id}/": _INCIDENT_DETAIL,
    "POST /api/v1/incidents/{id}/acknowledge/": _INCIDENT_DETAIL,
    "POST /api/v1/incidents/{id}/classify/": _INCIDENT_DETAIL,
    "POST /api/v1/incidents/{id}/link/": (
        ("response_schema_conformance", "not_a_server_error", "status_code_conformance",
         "positive_data_acceptance"),
        _INCIDENT_DETAIL[1] + "; SERVER ERROR (500) for ticket ids beyond 64 bits "
        "(LinkSerializer's IntegerField has no max_value); an unknown ticket id is a 400 "
        "for a schema-valid body (404 or 422 would say 'state', not 'malformed')",
    ),
    "DELETE /api/v1/incidents/{id}/link/{ticket_id}/": _INCIDENT_DETAIL,
    "POST /api/v1/incidents/{id}/mitigate/": _INCIDENT_DETAIL,
    "POST /api/v1/incidents/{id}/resolve/": _INCIDENT_DETAIL,
    "PUT /api/v1/incidents/{id}/postmortem/": (
        ("response_schema_conformance",),
        "PostMortem.published_by and ActionItem.owner are null but not nullable in the schema",
    ),
    "POST /api/v1/integrations/alertmanager/": (
        ("negative_data_rejection", "positive_data_acceptance"),
        "accepts externalURL: 0 (a number where the schema says string); rejects a "
        "schema-valid body with extra keys (the schema allows additional properties)",
    ),
    "POST /api/v1/integrations/pagerduty/v2/enqueue": (
        ("positive_data_acceptance",),
        "rejects a schema-valid body (images: [{}], payload.custom_details: null) with 400",
    ),
}
