"""The API's callers, one per role, with tokens and a little of everything to act on: the world
the schemathesis run and the access matrix share.

customer_a (alice) and customer_b (bob) each own a ticket with a comment and a breached SLA
clock; agent agnes has an agent profile; max is a manager; ian an integration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

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
    return World(users=users, tokens=tokens, tickets=tickets)


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
