"""What routing adds to the create path, statement by statement (the API-level total is pinned
in tests/tickets/test_api_create.py)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from routing import services
from tests.routing.factories import category_for, make_agent
from tickets import services as tickets


def route_new_ticket(customer, category):
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        plan = services.plan_route(category=category, priority="normal")
        ticket, timeline = tickets.create_ticket(
            customer=customer, subject="s", description="d", decided_fields={
                "category": category, **plan.ticket_fields,
            },
        )
        services.route_ticket(ticket=ticket, timeline=timeline, plan=plan)
        sql = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    return ticket, [s for s in sql if "tickets_ticket" not in s.split("VALUES")[0][:40]]


@pytest.mark.django_db
def test_it_routes_an_assigned_intake_ticket_in_three_statements(alice):
    network = category_for("network")
    agent = make_agent("a", {"network": 3})
    make_agent("b", {"network": 2})

    ticket, sql = route_new_ticket(alice, network)

    assert ticket.assignee_id == agent.user_id
    # 1 candidates (with eligibility counts), 2 take the slot (conditional UPDATE), 3 decision
    # INSERT. The assignee rides in the ticket INSERT (not counted here).
    assert len(sql) == 3, "\n".join(sql)
    assert ticket.assignee.username == "a"  # rendered without another query


@pytest.mark.django_db
def test_it_queues_an_intake_ticket_in_two_statements(alice):
    network = category_for("network")
    make_agent("full", {"network": 3}, load=2)

    ticket, sql = route_new_ticket(alice, network)

    assert ticket.assignee_id is None
    assert len(sql) == 2, "\n".join(sql)  # candidates + counts, decision INSERT
