"""A category can select an SLA policy of its own: setting it (an agent's edit or the admin's
bulk "Set category") re-targets the ticket's running clocks like a priority change does."""

from __future__ import annotations

import pytest

from sla.models import Escalation
from tests.sla.conftest import clocks, later, make_policy, submit, sweep
from tests.tickets.factories import CategoryFactory
from tickets import flows
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def security():
    """A category whose tickets must be answered within 10 minutes, resolved within 2 h."""
    category = CategoryFactory(slug="security")
    make_policy(
        name="security", category=category, priority="",
        stages=[
            {"name": "first_response", "target_seconds": 600, "warn_at": 0.8,
             "stop_on": ["first_response", "resolved", "closed"]},
            {"name": "resolution", "target_seconds": 2 * 3600, "warn_at": 0.5,
             "start_on": ["created", "reopened"], "stop_on": ["resolved", "closed"]},
        ],
    )
    return category


def test_an_edit_setting_a_category_with_its_own_policy_re_targets_the_clocks(
    alice, agnes, security, frozen
):
    ticket = submit(alice)  # normal: first response due in 2 h
    frozen.move_to(later(minutes=3))

    flows.edit_ticket(
        ticket=ticket, actor=agnes, priority=ticket.priority, category=security, status=None,
        reply="", internal=False,
    )

    first = clocks(ticket)["first_response"]
    assert (first.policy_name, first.due_at) == ("security", later(minutes=10))
    assert clocks(ticket)["resolution"].due_at == later(hours=2)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == later(minutes=10)
    event = TicketEvent.objects.get(ticket=ticket, kind="categorized")
    assert {c["stage"] for c in event.data["sla"]} == {"first_response", "resolution"}
    assert "category none -> security" in first.snapshot["retargets"][0]["reason"]

    sweep(later(minutes=10))  # breached at the category's deadline, not at 2 h
    assert Escalation.objects.filter(clock=first, level=2).count() == 1


def test_the_bulk_set_category_action_re_targets_the_clocks(client, alice, agnes, security, frozen):
    tickets = [submit(alice), submit(alice)]
    frozen.move_to(later(minutes=1))
    client.force_login(agnes)

    client.post(
        "/admin/tickets/ticket/",
        {"action": "set_category", "_selected_action": [t.pk for t in tickets],
         "category": security.pk, "index": 0},
    )

    for ticket in tickets:
        assert clocks(ticket)["first_response"].due_at == later(minutes=10)
