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


# Known exceptions: per operation, the schemathesis check that is skipped there and why. Only
# that check is skipped for that operation; every other check (no server error, documented
# statuses, content types, ...) still runs on it. Remove an entry with its fix.
KNOWN_FAILURES: dict[str, tuple[tuple[str, ...], str]] = {
    "GET /api/v1/reports/sla/": (
        ("positive_data_acceptance",),
        "a report covers at most 367 days, and `from` must come before `to`: rules across two "
        "parameters no JSON Schema can state (400 naming the field, tests/desk)",
    ),
    "POST /api/v1/incidents/": (
        ("positive_data_acceptance",),
        "business rules no JSON Schema can state: started_at must not be after detected_at, "
        "and neither may be in the future (400 naming the field, tested in "
        "tests/incidents/test_api.py)",
    ),
    "POST /api/v1/integrations/pagerduty/v2/enqueue": (
        ("positive_data_acceptance",),
        "PagerDuty's rule that `payload` is required for trigger events only (and `dedup_key` "
        "for acknowledge and resolve) is not in the schema (tests/incidents/test_pagerduty.py)",
    ),
}
