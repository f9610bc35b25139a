"""Business-hours policies: due times count only working time in the policy's time zone, across
the spring-forward weekend (Europe/Berlin, Sun 29 Mar 2026), including a pause."""

from __future__ import annotations

import pytest
import time_machine

from sla.models import SlaClock
from tests.sla.conftest import BERLIN_9_TO_5, clocks, make_policy, submit, utc
from tickets import flows
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

def test_it_counts_business_hours_across_the_dst_weekend(alice):
    make_policy(calendar=BERLIN_9_TO_5, stages=[
        {"name": "first_response", "target_seconds": 2 * 3600, "warn_at": 0.5,
         "stop_on": ["first_response"]},
    ])
    # Fri 27 Mar 16:00 CET = 15:00 UTC: one working hour left on Friday.
    with time_machine.travel(utc(2026, 3, 27, 15, 0), tick=False):
        ticket = submit(alice)

    first = clocks(ticket)["first_response"]
    # ... and the second one is Mon 30 Mar 09:00-10:00 CEST (UTC+2 after the switch).
    assert first.due_at == utc(2026, 3, 30, 8, 0)
    assert first.warn_at == utc(2026, 3, 27, 16, 0)  # 1 h in: Friday 17:00 CET, the closing


def test_a_pause_over_the_weekend_moves_due_by_business_time(alice, agnes):
    make_policy(calendar=BERLIN_9_TO_5, stages=[
        {"name": "resolution", "target_seconds": 8 * 3600, "warn_at": None,
         "stop_on": ["resolved"], "pause_on": ["pending"], "resume_on": ["open"]},
    ])
    with time_machine.travel(utc(2026, 3, 27, 15, 0), tick=False) as t:  # Fri 16:00 CET
        ticket = submit(alice)
        t.move_to(utc(2026, 3, 27, 15, 30))  # Fri 16:30 CET: 7.5 working hours left
        flows.update_status(ticket=ticket, status=Ticket.Status.PENDING, actor=agnes)
        assert clocks(ticket)["resolution"].remaining_seconds == int(7.5 * 3600)

        t.move_to(utc(2026, 3, 30, 9, 0))  # Mon 11:00 CEST
        flows.update_status(ticket=ticket, status=Ticket.Status.OPEN, actor=agnes)

    resolution = clocks(ticket)["resolution"]
    assert resolution.state == SlaClock.State.RUNNING
    # Mon 11:00-17:00 CEST is 6 h; the last 1.5 h run Tue 09:00-10:30 CEST = 08:30 UTC.
    assert resolution.due_at == utc(2026, 3, 31, 8, 30)
    ticket.refresh_from_db()
    assert ticket.sla_due_at == resolution.due_at
