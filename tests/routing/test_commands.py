"""routing_dispatch, routing_check_load and the dispatch task."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from routing import tasks
from routing.models import AgentProfile
from tests.routing.factories import category_for, make_agent
from tests.tickets.factories import TicketFactory
from tickets.models import Ticket


@pytest.mark.django_db
def test_it_dispatches_from_the_command_and_the_task(capsys):
    network = category_for("network")
    agent = make_agent("a", {"network": 3}, capacity=2)
    first, second = TicketFactory(category=network), TicketFactory(category=network)

    call_command("routing_dispatch")
    assert "1 queued" not in capsys.readouterr().out
    assert tasks.dispatch_all() == 0

    assert set(Ticket.objects.filter(assignee=agent.user).values_list("pk", flat=True)) == {
        first.pk, second.pk
    }


@pytest.mark.django_db
def test_it_reports_and_fixes_load_drift(capsys):
    network = category_for("network")
    agent = make_agent("a", {"network": 3}, capacity=5)
    TicketFactory(category=network)
    call_command("routing_dispatch")
    AgentProfile.objects.filter(pk=agent.pk).update(load=3)  # a write that bypassed services

    with pytest.raises(CommandError, match="1 agent"):
        call_command("routing_check_load")
    call_command("routing_check_load", "--fix")
    call_command("routing_check_load")

    agent.refresh_from_db()
    assert agent.load == 1
    assert "checked, 0 drifted" in capsys.readouterr().out
