"""A priority change re-targets the ticket's running clocks: the new priority's targets, counted
from each clock's original start (pauses excluded); the watcher then fires at the new deadline,
once. A deadline already past is breached at the next pass; a breach already made stands.

Seeded targets (first response / resolution, second level after a breach): urgent 15 min / 4 h
(+15 min), normal 2 h / 24 h (+1 h), low 8 h / 72 h (+4 h); warnings at 80 %."""

from __future__ import annotations

import pytest
import time_machine

from sla.models import Escalation, SlaClock
from tests.sla.conftest import (
    BERLIN_9_TO_5,
    T0,
    clocks,
    later,
    make_policy,
    submit,
    sweep,
    utc,
)
from tickets import flows
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def set_priority(ticket, actor, priority):
    """An agent's edit that changes the priority only (what the admin's save does)."""
    ticket.refresh_from_db()
    return flows.edit_ticket(
        ticket=ticket, actor=actor, priority=priority, category=ticket.category, status=None,
        reply="", internal=False,
    )


def levels(ticket, stage="first_response"):
    return list(
        Escalation.objects.filter(clock__ticket=ticket, clock__stage=stage)
        .order_by("level")
        .values_list("level", flat=True)
    )


def due_of(ticket):
    ticket.refresh_from_db()
    return ticket.sla_due_at


def test_raising_the_priority_shortens_the_deadline_and_the_watcher_breaches_there_once(
    alice, agnes, frozen
):
    ticket = submit(alice, priority="low")  # first response due in 8 h
    frozen.move_to(later(minutes=10))

    set_priority(ticket, agnes, "urgent")

    first = clocks(ticket)["first_response"]
    assert (first.started_at, first.target_seconds) == (T0, 15 * 60)
    assert first.due_at == later(minutes=15)  # from the original start, not from the change
    assert first.warn_at == first.next_check_at == later(minutes=12)
    assert first.policy_name == "Tickets: urgent"
    assert clocks(ticket)["resolution"].due_at == later(hours=4)
    assert due_of(ticket) == later(minutes=15)

    sweep(later(minutes=12))
    assert levels(ticket) == [1]
    sweep(later(minutes=14, seconds=59))
    assert levels(ticket) == [1]
    sweep(later(minutes=15))
    assert levels(ticket) == [1, 2]
    for at in (later(minutes=16), later(minutes=30), later(hours=8), later(hours=12)):
        sweep(at)  # the old deadline (8 h) and its second level (12 h) fire nothing new

    assert levels(ticket) == [1, 2, 3]  # second level 15 min after the new deadline, once
    breach = Escalation.objects.get(clock__stage="first_response", level=2)
    assert breach.step_at == later(minutes=15)
    first.refresh_from_db()
    assert (first.state, first.breached_at) == (SlaClock.State.BREACHED, later(minutes=15))


def test_lowering_the_priority_lengthens_the_deadline_and_nothing_fires_at_the_old_one(
    alice, agnes, frozen
):
    ticket = submit(alice, priority="urgent")  # first response due in 15 min
    frozen.move_to(later(minutes=5))

    set_priority(ticket, agnes, "low")

    first = clocks(ticket)["first_response"]
    assert first.due_at == later(hours=8)
    assert first.warn_at == first.next_check_at == later(hours=6, minutes=24)
    assert clocks(ticket)["resolution"].due_at == later(hours=72)
    assert due_of(ticket) == later(hours=8)
    for at in (later(minutes=12), later(minutes=15), later(minutes=30), later(hours=4)):
        assert sweep(at).escalations == 0  # the old warning, deadline, second level, resolution

    sweep(later(hours=6, minutes=24))
    sweep(later(hours=8))

    assert levels(ticket) == [1, 2]
    assert Escalation.objects.get(clock__stage="first_response", level=2).step_at == later(hours=8)


def test_a_change_after_the_new_deadline_passed_escalates_at_the_next_pass_exactly_once(
    alice, agnes, frozen
):
    ticket = submit(alice, priority="low")
    frozen.move_to(later(hours=1))

    set_priority(ticket, agnes, "urgent")

    first = clocks(ticket)["first_response"]
    assert first.state == SlaClock.State.RUNNING  # the watcher records the breach
    assert first.due_at == later(minutes=15)
    assert first.next_check_at <= later(hours=1)
    assert due_of(ticket) == later(minutes=15)

    result = sweep(later(hours=1, seconds=1))
    again = sweep(later(hours=1, seconds=2))

    # Warning (superseded), breach, and the second level (15 min after the deadline) all due.
    assert levels(ticket) == [1, 2, 3]
    assert Escalation.objects.get(clock__stage="first_response", level=2).step_at == later(
        minutes=15
    )
    assert result.escalations == 3 and again.escalations == 0
    first.refresh_from_db()
    assert (first.state, first.breached_at) == (SlaClock.State.BREACHED, later(minutes=15))
    breached = TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.SLA_BREACHED)
    assert breached.count() == 1
    assert clocks(ticket)["resolution"].due_at == later(hours=4)  # 1 h of 4 used: still running


def test_an_already_breached_clock_is_neither_escalated_again_nor_un_breached(
    alice, agnes, frozen
):
    ticket = submit(alice)  # normal: first response 2 h, second level 1 h after
    sweep(later(minutes=96))
    sweep(later(hours=2))  # breached (and the watcher raised the priority to high)
    frozen.move_to(later(hours=2, minutes=10))

    set_priority(ticket, agnes, "urgent")
    sweep(later(hours=2, minutes=11))

    first = clocks(ticket)["first_response"]
    assert (first.state, first.breached_at, first.due_at) == (
        SlaClock.State.BREACHED, later(hours=2), later(hours=2),
    )
    assert (first.target_seconds, first.policy_name) == (7200, "Tickets: normal")
    assert levels(ticket) == [1, 2]
    assert clocks(ticket)["resolution"].due_at == later(hours=4)  # running: re-targeted

    frozen.move_to(later(hours=2, minutes=20))
    set_priority(ticket, agnes, "low")  # would not be due for 8 h under low
    for at in (later(hours=2, minutes=21), later(hours=3), later(hours=8)):
        sweep(at)

    first.refresh_from_db()
    assert (first.state, first.breached_at) == (SlaClock.State.BREACHED, later(hours=2))
    assert levels(ticket) == [1, 2, 3]  # its own second level (at 3 h), once
    assert TicketEvent.objects.filter(
        ticket=ticket, kind=TicketEvent.Kind.SLA_BREACHED, data__stage="first_response"
    ).count() == 1
    sla = TicketEvent.objects.filter(kind=TicketEvent.Kind.PRIORITY_CHANGED).last().data["sla"]
    assert {"stage": "first_response", "cycle": 1, "kept": "breached"} in sla


def test_an_overdue_clock_the_watcher_has_not_seen_yet_is_not_un_breached(alice, agnes, frozen):
    ticket = submit(alice, priority="urgent")
    frozen.move_to(later(minutes=16))  # a minute past the deadline, before any watcher pass

    set_priority(ticket, agnes, "low")
    sweep(later(minutes=16, seconds=1))

    first = clocks(ticket)["first_response"]
    assert (first.state, first.breached_at) == (SlaClock.State.BREACHED, later(minutes=15))
    assert levels(ticket) == [1, 2]


def test_a_paused_clock_keeps_its_pause_and_gets_the_new_business_time_left(
    api, alice, agnes, frozen
):
    ticket = submit(alice, priority="low")  # resolution 72 h
    frozen.move_to(later(minutes=30))
    flows.reply(ticket=ticket, author=agnes, body="On it", internal=False, is_staff=True)
    frozen.move_to(later(hours=1))
    flows.update_status(ticket=ticket, status=Ticket.Status.PENDING, actor=agnes)
    frozen.move_to(later(hours=2))

    set_priority(ticket, agnes, "urgent")  # 1 h of 4 used before the pause

    paused = clocks(ticket)["resolution"]
    assert paused.state == SlaClock.State.PAUSED
    assert (paused.paused_at, paused.paused_seconds) == (later(hours=1), 0)
    assert paused.remaining_seconds == 3 * 3600
    assert paused.due_at is None and paused.next_check_at is None
    assert due_of(ticket) is None
    shown = {c["stage"]: c for c in api(agnes).get(f"/api/v1/tickets/{ticket.pk}/").json()["sla"]}
    assert shown["resolution"]["time_left_seconds"] == 3 * 3600
    assert sweep(later(hours=5)).escalations == 0  # paused: would be overdue if it ran

    frozen.move_to(later(hours=6))
    flows.reply(ticket=ticket, author=alice, body="Here", internal=False, is_staff=False)

    resumed = clocks(ticket)["resolution"]
    assert resumed.paused_seconds == 5 * 3600
    assert resumed.due_at == later(hours=9)  # 3 h left, counted from the resume
    assert resumed.warn_at == later(hours=8, minutes=12)  # 48 min (20 % of 4 h) before
    sweep(later(hours=9))
    assert levels(ticket, "resolution") == [1, 2]


def test_pauses_before_the_change_still_move_the_deadline(alice, agnes, frozen):
    ticket = submit(alice)  # normal: resolution 24 h
    frozen.move_to(later(hours=1))
    flows.update_status(ticket=ticket, status=Ticket.Status.PENDING, actor=agnes)
    frozen.move_to(later(hours=3))
    flows.reply(ticket=ticket, author=alice, body="Here", internal=False, is_staff=False)
    assert clocks(ticket)["resolution"].due_at == later(hours=26)
    frozen.move_to(later(hours=4))

    set_priority(ticket, agnes, "urgent")

    resolution = clocks(ticket)["resolution"]
    assert resolution.due_at == later(hours=4 + 2)  # 4 h target + the 2 h paused
    assert resolution.paused_seconds == 2 * 3600


def test_a_deadline_already_passed_still_counts_the_earlier_pause(alice, agnes, frozen):
    ticket = submit(alice)  # normal: resolution 24 h
    frozen.move_to(later(hours=1))
    flows.update_status(ticket=ticket, status=Ticket.Status.PENDING, actor=agnes)
    frozen.move_to(later(hours=3))
    flows.reply(ticket=ticket, author=alice, body="Here", internal=False, is_staff=False)
    frozen.move_to(later(hours=7))  # 5 working hours used: 1 before the pause, 4 after

    set_priority(ticket, agnes, "urgent")
    sweep(later(hours=7, seconds=1))

    resolution = clocks(ticket)["resolution"]
    assert resolution.due_at == later(hours=6)  # 4 h used up at 6 h, not at 4 h
    assert (resolution.state, resolution.breached_at) == (SlaClock.State.BREACHED, later(hours=6))
    assert Escalation.objects.get(clock=resolution, level=2).step_at == later(hours=6)


def test_a_paused_clock_whose_new_deadline_fell_before_the_pause_is_breached_there(
    alice, agnes, frozen
):
    ticket = submit(alice, priority="low")
    frozen.move_to(later(minutes=10))
    flows.reply(ticket=ticket, author=agnes, body="On it", internal=False, is_staff=True)
    frozen.move_to(later(hours=5))
    flows.update_status(ticket=ticket, status=Ticket.Status.PENDING, actor=agnes)
    frozen.move_to(later(hours=6))

    set_priority(ticket, agnes, "urgent")  # 5 h used before the pause: 4 h was the target

    resolution = clocks(ticket)["resolution"]
    assert resolution.state == SlaClock.State.BREACHED
    assert resolution.breached_at == resolution.due_at == later(hours=4)
    assert resolution.paused_at == later(hours=5)  # still paused
    sweep(later(hours=6, seconds=1))
    sweep(later(hours=6, minutes=30))
    assert levels(ticket, "resolution") == [1, 2]  # breach recorded; nothing further paused

    frozen.move_to(later(hours=7))
    flows.reply(ticket=ticket, author=alice, body="Here", internal=False, is_staff=False)
    sweep(later(hours=7, seconds=1))
    sweep(later(hours=7, seconds=2))

    assert levels(ticket, "resolution") == [1, 2, 3]  # the second level once it resumed


def test_stopped_clocks_are_untouched(alice, agnes, frozen):
    ticket = submit(alice, priority="low")
    frozen.move_to(later(minutes=30))
    flows.reply(ticket=ticket, author=agnes, body="On it", internal=False, is_staff=True)
    frozen.move_to(later(hours=1))

    set_priority(ticket, agnes, "urgent")

    first = clocks(ticket)["first_response"]
    assert (first.state, first.stopped_at) == (SlaClock.State.MET, later(minutes=30))
    assert (first.target_seconds, first.due_at) == (8 * 3600, later(hours=8))
    assert clocks(ticket)["resolution"].due_at == later(hours=4)
    assert due_of(ticket) == later(hours=4)


def test_the_timeline_and_the_clock_say_what_changed_and_why(api, alice, agnes, frozen):
    ticket = submit(alice, priority="low")
    frozen.move_to(later(minutes=10))

    set_priority(ticket, agnes, "urgent")

    first = clocks(ticket)["first_response"]
    assert first.snapshot["retargets"] == [{
        "at": later(minutes=10).isoformat(), "reason": "priority low -> urgent",
        "policy": "Tickets: low", "target_seconds": 8 * 3600,
        "due_at": later(hours=8).isoformat(), "remaining_seconds": None,
    }]
    assert first.snapshot["escalate_after_seconds"] == 15 * 60
    event = next(
        e for e in api(agnes).get(f"/api/v1/tickets/{ticket.pk}/").json()["timeline"]
        if e["kind"] == "priority_changed"
    )
    assert event["actor"] == "agnes"
    sla = {c["stage"]: c for c in event["data"]["sla"]}
    assert sla["first_response"]["target_seconds"] == [8 * 3600, 15 * 60]
    assert sla["first_response"]["due_at"] == [
        later(hours=8).isoformat(), later(minutes=15).isoformat()
    ]
    assert sla["resolution"]["policy"] == "Tickets: urgent"
    # Customers see that the priority changed, not the internal targets.
    shown = api(alice).get(f"/api/v1/tickets/{ticket.pk}/").json()["timeline"]
    assert next(e for e in shown if e["kind"] == "priority_changed")["data"] == {
        "old": "low", "new": "urgent"
    }


def test_changing_back_restores_the_original_targets(alice, agnes, frozen):
    ticket = submit(alice, priority="low")
    frozen.move_to(later(minutes=5))
    set_priority(ticket, agnes, "urgent")
    frozen.move_to(later(minutes=10))

    set_priority(ticket, agnes, "low")

    first = clocks(ticket)["first_response"]
    assert (first.target_seconds, first.due_at, first.warn_at) == (
        8 * 3600, later(hours=8), later(hours=6, minutes=24),
    )
    assert len(first.snapshot["retargets"]) == 2
    assert due_of(ticket) == later(hours=8)


def test_an_agent_changing_the_priority_in_the_admin_re_targets_the_clocks(
    client, alice, agnes, frozen
):
    ticket = submit(alice, priority="low")
    frozen.move_to(later(minutes=10))
    client.force_login(agnes)

    resp = client.post(
        f"/admin/tickets/ticket/{ticket.pk}/change/",
        {
            "priority": "urgent", "category": "", "new_status": "", "reply": "",
            "reply_internal": "",
            "comments-TOTAL_FORMS": "0", "comments-INITIAL_FORMS": "0",
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
        },
    )

    assert resp.status_code == 302, resp.content.decode()[:2000]
    assert clocks(ticket)["first_response"].due_at == later(minutes=15)
    page = client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "Mar 2, 09:15" in page  # the first-response clock's new due time (ticket page)


@pytest.mark.parametrize("changed_at", [
    utc(2026, 3, 27, 15, 30),  # Fri 16:30 CET: 30 working minutes used
    utc(2026, 3, 30, 7, 30),  # Mon 09:30 CEST, after the DST switch: 1.5 h used
    utc(2026, 3, 30, 8, 30),  # Mon 10:30 CEST: 2.5 h used, past the new 2 h target
])
def test_business_hours_count_from_the_start_whenever_the_change_comes(alice, agnes, changed_at):
    for priority, hours in (("normal", 4), ("urgent", 2)):
        make_policy(priority=priority, calendar=BERLIN_9_TO_5, stages=[
            {"name": "first_response", "target_seconds": hours * 3600, "warn_at": 0.5,
             "stop_on": ["first_response"]},
        ])
    with time_machine.travel(utc(2026, 3, 27, 15, 0), tick=False) as t:  # Fri 16:00 CET
        ticket = submit(alice)
        assert clocks(ticket)["first_response"].due_at == utc(2026, 3, 30, 10, 0)
        t.move_to(changed_at)

        set_priority(ticket, agnes, "urgent")

    first = clocks(ticket)["first_response"]
    # 1 h on Friday, the second on Monday 09:00-10:00 CEST: what an urgent ticket gets.
    assert first.due_at == utc(2026, 3, 30, 8, 0)
    assert first.warn_at == utc(2026, 3, 27, 16, 0)  # 1 h in: Friday's closing
    sweep(changed_at.replace(second=1))
    sweep(utc(2026, 3, 30, 8, 0))
    assert Escalation.objects.get(clock=first, level=2).step_at == utc(2026, 3, 30, 8, 0)
