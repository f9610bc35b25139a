"""Exactly once under concurrent watchers, on PostgreSQL (SKIP LOCKED is the thing under test).

Each thread has its own database connection (Django's are per thread), so the row locks really
compete; a Barrier starts the passes together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from sla.models import Escalation, Notification, SlaClock
from sla.watcher import run_pass
from tests.concurrency import run_concurrently
from tests.sla.factories import ClockFactory
from tests.tickets.factories import TicketFactory, UserFactory
from tickets.models import TicketEvent

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite has no row locks (select_for_update is a no-op): needs PostgreSQL",
    ),
]
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def make_due_clocks(n: int) -> None:
    customer = UserFactory()
    tickets = [TicketFactory(customer=customer) for _ in range(n)]
    started = NOW - timedelta(hours=2)  # warn, due and second level all passed
    SlaClock.objects.bulk_create(
        ClockFactory.build(ticket=t, started_at=started, next_check_at=started) for t in tickets
    )


@pytest.mark.parametrize("watchers", [2, 4])
def test_concurrent_watchers_escalate_each_level_exactly_once(watchers):
    make_due_clocks(250)

    errors = run_concurrently([lambda: run_pass(now=NOW, batch_size=50)] * watchers)

    assert errors == []
    assert Escalation.objects.count() == 250 * 3
    assert Escalation.objects.filter(level=2).values("clock").distinct().count() == 250
    assert TicketEvent.objects.filter(kind="sla_breached").count() == 250
    assert SlaClock.objects.filter(next_check_at__isnull=False).count() == 0
    # One email (managers: none here, so only on-call/assignee rules apply) or webhook per
    # non-superseded escalation at most: never duplicated.
    keys = list(Notification.objects.values_list("idempotency_key", "channel"))
    assert len(keys) == len(set(keys))


def test_a_second_pass_racing_the_first_finds_nothing_left():
    make_due_clocks(100)

    errors = run_concurrently(
        [lambda: [run_pass(now=NOW, batch_size=10) for _ in range(3)]] * 2
    )

    assert errors == []
    assert Escalation.objects.count() == 300


def test_a_flow_stopping_a_clock_while_the_watcher_runs_stays_consistent(alice):
    from tickets import flows

    make_due_clocks(60)
    tickets = list(SlaClock.objects.values_list("ticket_id", flat=True))

    def stop_all() -> None:
        from tickets.models import Ticket

        for pk in tickets:
            flows.update_status(ticket=Ticket(pk=pk), status="closed", actor=None)

    def watch() -> None:
        for _ in range(5):
            run_pass(now=NOW, batch_size=7)

    errors = run_concurrently([watch, stop_all])

    assert errors == []
    for clock in SlaClock.objects.all():
        assert clock.stopped_at is not None and clock.next_check_at is None
        levels = sorted(clock.escalations.values_list("level", flat=True))
        assert levels in ([], [1, 2, 3])  # whole batch or nothing, never half a chain


def test_priority_changes_racing_the_watcher_escalate_each_level_once_at_the_new_deadline():
    from tickets import flows
    from tickets.models import Ticket

    customer, agent = UserFactory(), UserFactory()
    tickets = [TicketFactory(customer=customer) for _ in range(40)]
    started = NOW - timedelta(minutes=48)  # warning due now (being claimed), deadline in 12 min
    SlaClock.objects.bulk_create(
        ClockFactory.build(ticket=t, started_at=started, next_check_at=NOW) for t in tickets
    )

    def reprioritize() -> None:
        for ticket in tickets:  # urgent: 15 min from the start, so 33 min overdue now
            flows.edit_ticket(
                ticket=Ticket(pk=ticket.pk), actor=agent, priority="urgent", category=None,
                status=None, reply="", internal=False,
            )

    def watch() -> None:
        for _ in range(5):
            run_pass(now=NOW, batch_size=7)

    # The flow reads the clock (timezone.now()); time_machine moves it for every thread.
    with time_machine.travel(NOW, tick=False):
        errors = run_concurrently([reprioritize, watch])
        run_pass(now=NOW)  # whatever the race left due

    assert errors == []
    for clock in SlaClock.objects.all():
        assert clock.target_seconds == 15 * 60
        assert clock.breached_at == started + timedelta(minutes=15)
        assert sorted(clock.escalations.values_list("level", flat=True)) == [1, 2, 3]
        assert clock.escalations.get(level=2).step_at == started + timedelta(minutes=15)
