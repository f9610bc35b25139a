"""seed_demo lays down a history that fills every part of the workspace, stays idempotent, and
with --tickets 0 creates no ticket at all (the peer comparison bench relies on it)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from sla.models import Escalation, SlaClock
from tickets.models import Rating, Ticket, TicketEvent


@pytest.mark.django_db
def test_it_creates_users_team_and_model_but_no_ticket_with_tickets_0():
    call_command("seed_demo", "--tickets", "0", "--agents", "3", "--agent-capacity", "1000")

    assert Ticket.objects.count() == 0
    from routing.models import AgentProfile

    assert set(AgentProfile.objects.values_list("capacity", flat=True)) == {1000}


@pytest.mark.django_db
def test_it_replays_a_history_that_fills_the_report_and_stays_idempotent():
    call_command("seed_demo", "--tickets", "40", "--days", "10", "--customers", "5")
    made = Ticket.objects.count()
    call_command("seed_demo", "--tickets", "40", "--days", "10", "--customers", "5")

    assert made == Ticket.objects.count() >= 35
    assert SlaClock.objects.filter(state="met").exists()
    assert SlaClock.objects.filter(state="breached").exists()
    assert Escalation.objects.filter(kind="breach").exists()
    assert Rating.objects.exists()
    assert TicketEvent.objects.filter(kind="status_changed", data__new="resolved").exists()
    oldest = Ticket.objects.order_by("created_at").first()
    newest = Ticket.objects.order_by("created_at").last()
    assert (newest.created_at - oldest.created_at).days >= 5  # spread over the past
    assert Ticket.objects.filter(status__in=Ticket.OPEN_STATUSES).exists()  # a live queue
    from incidents.models import Incident, PostMortem

    assert Incident.objects.filter(resolved_at__isnull=False).exists()
    assert Incident.objects.filter(status__in=Incident.OPEN_STATUSES).exists()
    assert PostMortem.objects.filter(published_at__isnull=False).exists()
