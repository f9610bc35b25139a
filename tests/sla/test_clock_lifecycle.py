"""Clocks follow the ticket: started at intake, stopped by the first public staff reply and by
resolution, paused while pending on the customer (due moves by the paused span), new cycle on
reopen. Policy edits do not rewrite running clocks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from sla import policies, services
from sla.models import SlaClock, SlaPolicy
from tests.sla.conftest import T0, clocks, later, make_policy, submit
from tickets import flows
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_it_starts_first_response_and_resolution_clocks_at_intake(alice, frozen):
    ticket = submit(alice)

    got = clocks(ticket)
    assert set(got) == {"first_response", "resolution"}
    first = got["first_response"]
    assert first.state == SlaClock.State.RUNNING
    assert first.started_at == T0
    assert first.due_at == later(hours=2)  # seeded default: normal first response 2 h
    assert first.warn_at == later(minutes=96)  # 80 %
    assert first.next_check_at == first.warn_at
    assert got["resolution"].due_at == later(hours=24)
    assert first.snapshot["stop_on"] == ["first_response", "resolved", "closed"]
    ticket.refresh_from_db()
    assert ticket.sla_due_at == later(hours=2)


@pytest.mark.parametrize(("priority", "first", "resolution"), [
    ("urgent", 15 * 60, 4 * 3600), ("high", 3600, 8 * 3600), ("low", 8 * 3600, 72 * 3600),
])
def test_it_takes_targets_from_the_priority_policy(alice, frozen, priority, first, resolution):
    got = clocks(submit(alice, priority=priority))

    assert got["first_response"].target_seconds == first
    assert got["resolution"].target_seconds == resolution


def test_it_stops_first_response_on_the_first_public_staff_reply(alice, agnes, frozen):
    ticket = submit(alice)
    frozen.move_to(later(minutes=30))
    flows.reply(ticket=ticket, author=agnes, body="Internal", internal=True, is_staff=True)
    assert clocks(ticket)["first_response"].state == SlaClock.State.RUNNING

    flows.reply(ticket=ticket, author=agnes, body="On it", internal=False, is_staff=True)

    first = clocks(ticket)["first_response"]
    assert first.state == SlaClock.State.MET
    assert first.stopped_at == later(minutes=30)
    assert first.next_check_at is None
    ticket.refresh_from_db()
    assert ticket.sla_due_at == later(hours=24)  # now the resolution clock's


def test_a_late_reply_stops_the_clock_as_breached(alice, agnes, frozen):
    ticket = submit(alice)
    frozen.move_to(later(hours=3))

    flows.reply(ticket=ticket, author=agnes, body="Sorry", internal=False, is_staff=True)

    first = clocks(ticket)["first_response"]
    assert first.state == SlaClock.State.BREACHED
    assert first.breached_at == later(hours=2)


def test_pending_pauses_resolution_and_customer_reply_resumes_it(alice, agnes, frozen):
    ticket = submit(alice)
    frozen.move_to(later(hours=1))
    flows.update_status(ticket=ticket, status=Ticket.Status.PENDING, actor=agnes)

    paused = clocks(ticket)["resolution"]
    assert paused.state == SlaClock.State.PAUSED
    assert paused.due_at is None and paused.next_check_at is None
    assert paused.remaining_seconds == 23 * 3600
    ticket.refresh_from_db()
    assert ticket.sla_due_at == later(hours=2)  # first response still runs

    frozen.move_to(later(hours=6))
    flows.reply(ticket=ticket, author=alice, body="Here you go", internal=False, is_staff=False)

    resumed = clocks(ticket)["resolution"]
    assert resumed.state == SlaClock.State.RUNNING
    assert resumed.due_at == later(hours=24 + 5)  # moved by the 5 h paused span
    assert resumed.paused_seconds == 5 * 3600
    assert resumed.warn_at == later(hours=19.2 + 5)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_resolving_meets_every_clock_and_reopening_starts_a_new_cycle(alice, agnes, frozen):
    ticket = submit(alice)
    frozen.move_to(later(hours=1))
    flows.update_status(ticket=ticket, status=Ticket.Status.RESOLVED, actor=agnes)

    assert {c.state for c in SlaClock.objects.filter(ticket=ticket)} == {SlaClock.State.MET}
    ticket.refresh_from_db()
    assert ticket.sla_due_at is None

    frozen.move_to(later(hours=2))
    flows.reply(ticket=ticket, author=alice, body="Still broken", internal=False, is_staff=False)

    again = clocks(ticket)["resolution"]
    assert again.cycle == 2
    assert again.state == SlaClock.State.RUNNING
    assert again.due_at == later(hours=2 + 24)
    assert SlaClock.objects.filter(ticket=ticket).count() == 3  # first response not restarted


def test_it_does_not_rewrite_running_clocks_when_the_policy_changes(alice, frozen):
    ticket = submit(alice)
    policy = SlaPolicy.objects.get(kind="ticket", priority="normal", is_active=True)
    policy.stages[0]["target_seconds"] = 60
    policy.save()

    assert clocks(ticket)["first_response"].due_at == later(hours=2)
    # New tickets get the edit, once the process notices it (SLA_POLICY_CHECK_SECONDS).
    policies.invalidate()
    assert clocks(submit(alice))["first_response"].target_seconds == 60


def test_it_honours_an_integration_start_time_so_a_clock_can_start_overdue(alice, frozen):
    ticket = submit(alice)
    SlaClock.objects.filter(ticket=ticket).delete()

    with time_machine.travel(T0, tick=False):
        from django.db import transaction

        with transaction.atomic():
            started = services.start_ticket_clocks(
                ticket=ticket, timeline=None, started_at=T0 - timedelta(hours=3)  # type: ignore[arg-type]
            )

    first = next(c for c in started if c.stage == "first_response")
    assert first.due_at == T0 - timedelta(hours=1)
    assert first.next_check_at < T0  # picked up by the next watcher pass


def test_it_starts_no_clocks_without_an_active_policy(alice, frozen):
    SlaPolicy.objects.filter(kind="ticket").update(is_active=False)
    policies.invalidate()
    ticket = submit(alice)

    assert not SlaClock.objects.filter(ticket=ticket).exists()
    assert ticket.sla_due_at is None


def test_a_category_policy_beats_the_priority_policy(alice, frozen):
    from tests.tickets.factories import CategoryFactory

    category = CategoryFactory()
    make_policy(name="printers", category=category, priority="")
    ticket = submit(alice)
    assert clocks(ticket)["first_response"].policy_name == "Tickets: normal"

    ticket.category = category
    assert services.policy_for(kind="ticket", priority="normal", category_id=category.pk).name == (
        "printers"
    )
