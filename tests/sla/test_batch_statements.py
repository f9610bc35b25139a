"""An outage makes thousands of clocks breach at once: a watcher batch costs the same number
of statements for 3 breaches as for 60 (set-based writes: one UPDATE per kind of change, one
INSERT per table), whatever the effects (priority bumps that re-target other clocks, timeline
events, notifications)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sla.models import SlaClock
from sla.watcher import escalate_batch
from tests.sla.conftest import later, submit
from tests.sla.factories import WebhookEndpointFactory
from tickets.models import Ticket, TicketEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="SQLite splits a large INSERT into several (its bound-variable "
                              "limit): the constant count is PostgreSQL's"),
]


def breach_batch(customer, agent, count: int) -> list[str]:
    for _ in range(count):
        ticket = submit(customer)  # normal: first response due at 2 h
        Ticket.objects.filter(pk=ticket.pk).update(assignee=agent)
    at = later(hours=2)
    SlaClock.objects.filter(stage="first_response").update(level=1)  # warned already
    with CaptureQueriesContext(connection) as ctx:
        claimed, escalated, _ = escalate_batch(now=at, batch_size=100)
    assert (claimed, escalated) == (count, count)
    return [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]


# Claim, lock tickets, clocks UPDATE; re-target (lock other clocks, UPDATE them); tickets UPDATE
# (priority, due); events INSERT; managers and webhook endpoints read once; escalations INSERT;
# notifications INSERT; the django-q2 task INSERT.
STATEMENTS = 12


@pytest.mark.parametrize("count", [3, 60])
def test_a_batch_of_breaches_costs_a_constant_number_of_statements(alice, agnes, max_manager,
                                                                   frozen, count, settings):
    settings.SURGE_ENABLED = False  # 60 identical tickets at once would be a surge incident
    WebhookEndpointFactory()
    statements = breach_batch(alice, agnes, count)

    assert len(statements) == STATEMENTS, "\n".join(statements)
    # ... and every effect happened: bumped, re-targeted, on the timeline.
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"high"}
    assert TicketEvent.objects.filter(kind="priority_changed").count() == count
    assert SlaClock.objects.filter(stage="resolution", target_seconds=8 * 3600).count() == count
