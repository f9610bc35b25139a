"""The watcher's escalation chain: warning at 80 % (assignee), breach at the deadline (timeline,
priority one step up, managers), second level after a further delay (reassign through routing,
else the on-call manager); each level exactly once, already-late clocks at the next pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from sla import watcher
from sla.models import Escalation, Notification, SlaClock
from sla.tasks import send_notifications
from tests.routing.factories import category_for, make_agent
from tests.sla.conftest import T0, clocks, later, submit, sweep
from tests.sla.factories import ClockFactory
from tickets import flows
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned(alice, agnes, frozen):
    ticket = submit(alice)  # normal: first response 2 h, warn at 96 min, 2nd level +1 h
    ticket.assignee = agnes
    ticket.save(update_fields=["assignee"])
    return ticket


def kinds(ticket):
    return list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))


def deliver_all():
    send_notifications(list(Notification.objects.order_by("pk").values_list("pk", flat=True)))


def mail_about(word):
    return [m for m in mail.outbox if word in m.subject]


@pytest.mark.parametrize(("offset", "levels"), [(-1, []), (0, [1]), (1, [1])])
def test_it_warns_at_80_percent_not_a_second_before(assigned, offset, levels):
    sweep(later(minutes=96, seconds=offset))

    assert list(Escalation.objects.values_list("level", flat=True)) == levels


def test_the_warning_notifies_the_assignee_and_lands_on_the_timeline(assigned, agnes):
    sweep(later(minutes=96))
    deliver_all()

    first = clocks(assigned)["first_response"]
    assert first.level == SlaClock.Level.WARNING and first.state == SlaClock.State.RUNNING
    assert first.next_check_at == later(hours=2)
    assert "sla_warning" in kinds(assigned)
    assert [m.to for m in mail.outbox] == [[agnes.email]]
    assert "due soon" in mail.outbox[0].subject


@pytest.mark.parametrize(("offset", "breached"), [(-1, False), (0, True), (1, True)])
def test_it_breaches_at_the_deadline(assigned, offset, breached):
    sweep(later(minutes=96))
    sweep(later(hours=2, seconds=offset))

    assert Escalation.objects.filter(level=2).exists() == breached


def test_a_breach_raises_priority_notifies_managers_and_records_it(assigned, agnes, max_manager):
    sweep(later(minutes=96))
    sweep(later(hours=2))
    mail.outbox.clear()
    deliver_all()

    first = clocks(assigned)["first_response"]
    assert first.state == SlaClock.State.BREACHED and first.breached_at == later(hours=2)
    assert first.next_check_at == later(hours=3)  # second level after escalate_after (1 h)
    assigned.refresh_from_db()
    assert assigned.priority == "high"
    assert kinds(assigned)[-3:] == ["sla_breached", "priority_changed", "escalated"]
    breach = Escalation.objects.get(level=2)
    assert breach.actions == {"notify": "managers", "priority": ["normal", "high"]}
    # One e-mail per recipient.
    assert sorted(m.to for m in mail_about("breached")) == [[agnes.email], [max_manager.email]]


def test_a_breach_bump_retargets_the_other_clocks_like_an_agents_priority_change(assigned):
    sweep(later(minutes=96))
    sweep(later(hours=2))  # first response breached: normal -> high

    resolution = clocks(assigned)["resolution"]
    # High's resolution target (8 h) counted from the ticket's start, not normal's 24 h.
    assert resolution.target_seconds == 8 * 3600
    assert resolution.due_at == later(hours=8)
    assert resolution.policy_name == "Tickets: high"
    bump = TicketEvent.objects.get(ticket=assigned, kind="priority_changed")
    assert bump.data["old"] == "normal" and bump.data["new"] == "high"
    assert [c["stage"] for c in bump.data["sla"]] == ["first_response", "resolution"]
    assert bump.data["sla"][0]["kept"] == "breached"  # the clock that breached keeps its deadline


def test_the_same_priority_set_by_an_agent_gives_the_same_deadlines(alice, agnes, frozen):
    ticket = submit(alice)
    with_watcher = submit(alice)
    flows.edit_ticket(
        ticket=ticket, actor=agnes, priority="high", category=None, status=None,
        reply="Looking into it.", internal=False,  # answered: its first response cannot breach
    )
    sweep(later(hours=2))  # with_watcher's first response breaches: normal -> high

    assert TicketEvent.objects.filter(ticket=ticket, kind="sla_breached").count() == 0

    assert clocks(ticket)["resolution"].due_at == clocks(with_watcher)["resolution"].due_at


def test_a_warning_on_an_unassigned_ticket_reaches_the_managers(alice, max_manager, frozen):
    ticket = submit(alice)  # nobody to route to: unassigned
    sweep(later(minutes=96))
    deliver_all()

    warning = Escalation.objects.get(clock__ticket=ticket, level=1)
    assert warning.actions == {"notify": "managers"}
    assert [m.to for m in mail_about("due soon")] == [[max_manager.email]]


def test_the_second_level_pages_on_call_when_routing_cannot_reassign(
    assigned, max_manager, settings
):
    settings.SLA_ONCALL_EMAILS = ["oncall@example.com"]
    for at in (later(minutes=96), later(hours=2), later(hours=3)):
        sweep(at)
    mail.outbox.clear()
    deliver_all()

    # No agent profiles exist, so routing finds nobody of a higher tier.
    assert Escalation.objects.get(level=3).actions == {"notify": "oncall", "reassigned": False}
    assert kinds(assigned)[-1] == "escalated"
    assert [m.to for m in mail_about("escalated")] == [["oncall@example.com"]]
    assert clocks(assigned)["first_response"].next_check_at is None  # chain finished


@pytest.fixture
def routed(alice, frozen):
    """A hardware ticket routed at intake to tier-1 agent agnes (the only one available)."""
    agnes = make_agent("agnes-t1", {"hardware": 3}, tier=1)
    tess = make_agent("tess-t2", {"hardware": 2}, tier=2, availability="away")
    ticket = submit(alice)  # no model: triage; categorizing by hand routes it
    flows.edit_ticket(
        ticket=ticket, actor=agnes.user, priority=ticket.priority,
        category=category_for("hardware"), status=None, reply="", internal=False,
    )
    ticket.refresh_from_db()
    assert ticket.assignee_id == agnes.user_id
    tess.availability = "available"
    tess.save(update_fields=["availability"])
    return ticket, agnes, tess


def test_the_second_level_reassigns_to_a_higher_tier_through_routing(routed):
    ticket, agnes, tess = routed

    sweep(later(hours=3))

    ticket.refresh_from_db()
    agnes.refresh_from_db()
    tess.refresh_from_db()
    assert ticket.assignee_id == tess.user_id
    assert (agnes.load, tess.load) == (0, 1)
    actions = Escalation.objects.get(clock__stage="first_response", level=3).actions
    assert actions["reassigned"] is True
    assert (actions["from"], actions["to"]) == (agnes.user_id, tess.user_id)


def test_the_new_assignee_is_told_not_on_call(routed, settings):
    settings.SLA_ONCALL_EMAILS = ["oncall@example.com"]
    _, _, tess = routed
    sweep(later(hours=3))
    mail.outbox.clear()
    deliver_all()

    escalated = mail_about("escalated")
    assert [m.to for m in escalated] == [[tess.user.email]]


def test_the_second_level_pages_on_call_when_nobody_of_the_tier_is_free(routed):
    ticket, agnes, tess = routed
    tess.availability = "offline"
    tess.save(update_fields=["availability"])

    sweep(later(hours=3))

    ticket.refresh_from_db()
    assert ticket.assignee_id == agnes.user_id
    actions = Escalation.objects.get(clock__stage="first_response", level=3).actions
    assert actions == {"notify": "oncall", "reassigned": False}


def test_an_already_late_clock_escalates_all_due_levels_at_the_next_pass_once(assigned):
    result = sweep(later(hours=3, minutes=1))
    again = sweep(later(hours=3, minutes=2))

    first = Escalation.objects.filter(clock__stage="first_response").order_by("level")
    assert [e.level for e in first] == [1, 2, 3]
    assert first[0].actions == {"superseded": True}  # recorded, never sent
    assert not Notification.objects.filter(escalation=first[0]).exists()
    assert result.escalations == 3  # the resolution clock (24 h) is not due yet
    assert again.escalations == 0


def test_a_pass_only_touches_due_clocks(assigned):
    result = sweep(later(minutes=95))

    assert result.claimed == 0
    assert not Escalation.objects.exists()


def test_incident_clocks_escalate_to_managers(max_manager, frozen):
    from django.db import transaction

    from sla import services

    with transaction.atomic():
        services.apply_events(incident_id=42, severity="sev1", events=["opened"],
                              now=T0 - timedelta(minutes=6))
    sweep(T0)
    deliver_all()

    detect = SlaClock.objects.get(incident_id=42, stage="detect")
    assert detect.state == SlaClock.State.BREACHED
    assert Escalation.objects.filter(clock=detect, level=2).exists()
    assert mail.outbox[-1].to == [max_manager.email]


def test_a_poison_clock_is_pushed_forward_and_the_rest_escalate(alice, frozen, monkeypatch):
    good, bad = ClockFactory(), ClockFactory()
    original = watcher._advance

    def advance(clock, now):
        if clock.pk == bad.pk:
            raise RuntimeError("corrupt snapshot")
        return original(clock, now)

    monkeypatch.setattr(watcher, "_advance", advance)
    at = T0 + timedelta(minutes=50)
    result = sweep(at)

    assert Escalation.objects.filter(clock=good).count() == 1
    assert not Escalation.objects.filter(clock=bad).exists()
    bad.refresh_from_db()
    assert bad.next_check_at == at + timedelta(seconds=60)
    assert result.poisoned == 1


class WatcherKilled(BaseException):
    """Stands in for SIGKILL / OOM: not an Exception, so nothing in the watcher catches it."""


def test_a_watcher_dying_mid_pass_loses_nothing_and_doubles_nothing(assigned, monkeypatch):
    def die(notifications):
        raise WatcherKilled

    monkeypatch.setattr(watcher, "_enqueue", die)  # after claiming and writing, before commit
    with pytest.raises(WatcherKilled):
        sweep(later(hours=2))
    assert not Escalation.objects.exists()  # rolled back with the claim
    assert clocks(assigned)["first_response"].level == 0

    monkeypatch.undo()
    sweep(later(hours=2, seconds=1))
    sweep(later(hours=2, seconds=2))

    first = Escalation.objects.filter(clock__stage="first_response")
    assert sorted(first.values_list("level", flat=True)) == [1, 2]
    assert kinds(assigned).count("sla_breached") == 1


def test_the_unique_constraint_backs_up_the_row_lock(assigned):
    from django.db import IntegrityError, transaction

    sweep(later(minutes=96))
    clock = clocks(assigned)["first_response"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(clock=clock, level=1, kind="warning", step_at=T0, created_at=T0)


def test_a_stopped_clock_is_not_escalated(assigned, agnes):
    from tickets import flows

    flows.reply(ticket=assigned, author=agnes, body="Hi", internal=False, is_staff=True)
    sweep(later(hours=5))

    assert not Escalation.objects.filter(clock__stage="first_response").exists()


def test_a_burst_is_one_readable_email_per_recipient(alice, agnes, max_manager, frozen, settings):
    settings.SURGE_ENABLED = False  # ten identical tickets at once would also be a surge
    settings.SITE_URL = "https://support.example.com"
    tickets = [submit(alice) for _ in range(10)]
    for ticket in tickets:
        ticket.assignee = agnes
        ticket.save(update_fields=["assignee"])
    sweep(later(hours=2))  # ten warnings overtaken by ten breaches, in one batch
    deliver_all()

    assert sorted(m.to for m in mail.outbox) == [[agnes.email], [max_manager.email]]
    email = mail.outbox[0]
    assert email.subject == "[SLA] 10 breached"
    for ticket in tickets:
        assert f'BREACHED: {ticket.reference} "Printer on fire"' in email.body
        assert f"https://support.example.com/admin/tickets/ticket/{ticket.pk}/change/" in (
            email.body)
    assert "first response was due 2026-03-02 11:00 UTC" in email.body
    assert "priority raised normal -> high" in email.body


def test_a_single_escalation_names_the_ticket_in_the_subject(assigned):
    sweep(later(minutes=96))
    deliver_all()

    assert mail.outbox[0].subject == (
        f"[SLA] {assigned.reference} first response due soon: Printer on fire")


def test_a_redelivered_batch_task_sends_nothing_twice(assigned, max_manager):
    sweep(later(hours=2))
    ids = list(Notification.objects.values_list("pk", flat=True))

    first = send_notifications(ids)
    again = send_notifications(ids)  # django-q2 at least once

    assert first == {"sent": len(ids)} and again == {"skipped": len(ids)}
    assert len(mail.outbox) == 2  # agnes and max, once each
