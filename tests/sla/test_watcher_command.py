"""`manage.py sla_watch`: a pass escalates and beats; /healthz reports a stale watcher (200 for
load balancers, 503 for monitors that require it); SIGTERM ends the loop after the pass."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from sla.models import Escalation, WatcherHeartbeat
from sla.tasks import audit_overdue
from tests.sla.conftest import T0
from tests.sla.factories import ClockFactory

pytestmark = pytest.mark.django_db


def test_it_escalates_due_clocks_and_writes_a_heartbeat():
    ClockFactory(started_at=T0 - timedelta(minutes=48))  # warning due at T0
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        call_command("sla_watch", "--once", "--name", "w1")

    assert Escalation.objects.count() == 1
    beat = WatcherHeartbeat.objects.get(name="w1")
    assert beat.passes == 1 and beat.last_pass_at == T0 + timedelta(seconds=1)


def test_healthz_reports_the_watcher_stale_after_60_s(client):
    with time_machine.travel(T0, tick=False) as t:
        assert client.get("/healthz").json()["checks"]["sla_watcher"] == "missing"
        call_command("sla_watch", "--once", "--name", "w1")

        t.move_to(T0 + timedelta(seconds=60))
        ok = client.get("/healthz?require=sla_watcher")
        t.move_to(T0 + timedelta(seconds=61))
        stale = client.get("/healthz")
        required = client.get("/healthz?require=sla_watcher")

    assert ok.status_code == 200 and ok.json()["checks"]["sla_watcher"] == "ok"
    # Web nodes keep answering 200: a dead background process must not take the API down.
    assert stale.status_code == 200
    assert stale.json() == {"status": "degraded",
                            "checks": {"database": "ok", "sla_watcher": "stale"}}
    assert required.status_code == 503


def test_sigterm_stops_the_loop_after_the_current_pass(monkeypatch):
    from sla.management.commands import sla_watch

    passes = []
    original = sla_watch.Command.one_pass

    def one_pass(self, **kw):
        passes.append(1)
        if len(passes) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, **kw)

    monkeypatch.setattr(sla_watch.Command, "one_pass", one_pass)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert threading.current_thread() is threading.main_thread()
        call_command("sla_watch", "--interval", "0.01", "--name", "w2")
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    assert len(passes) == 2
    assert WatcherHeartbeat.objects.get(name="w2").passes == 2


def test_the_auditor_counts_clocks_left_overdue(caplog):
    ClockFactory(started_at=T0 - timedelta(minutes=48))  # warning due at T0
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        assert audit_overdue() == 0
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        assert audit_overdue() == 1
    assert "SLA audit" in caplog.text


def test_each_pass_tops_up_the_routing_queue_registered_by_the_tickets_edge(alice):
    from tests.routing.factories import category_for, make_agent
    from tests.tickets.factories import TicketFactory

    # A categorized ticket left in the queue (e.g. a slot freed by a transaction that raced
    # its intake), then an agent with room who was never offered it.
    ticket = TicketFactory(customer=alice, category=category_for("hardware"))
    agent = make_agent("hedy", {"hardware": 3})

    call_command("sla_watch", "--once", "--name", "w3")

    ticket.refresh_from_db()
    assert ticket.assignee_id == agent.user_id


def test_a_failing_pass_hook_is_logged_and_the_watcher_goes_on(monkeypatch, caplog):
    from sla import effects

    ran = []
    monkeypatch.setattr(effects, "_pass_hooks", {})
    effects.register_pass_hook("broken", lambda: 1 / 0)
    effects.register_pass_hook("fine", lambda: ran.append(1))

    call_command("sla_watch", "--once", "--name", "w4")

    assert ran == [1]
    assert "SLA pass hook broken failed" in caplog.text
    assert WatcherHeartbeat.objects.get(name="w4").passes == 1


def test_a_watcher_working_through_a_backlog_beats_between_batches(monkeypatch):
    from sla.management.commands import sla_watch

    monkeypatch.setattr(sla_watch, "BEAT_DURING_PASS_SECONDS", 0.0)
    for i in range(25):
        ClockFactory(started_at=T0 - timedelta(minutes=48, seconds=i))  # 25 warnings due
    beats = []
    original = sla_watch.heartbeat.beat
    monkeypatch.setattr(sla_watch.heartbeat, "beat",
                        lambda **kw: (beats.append(kw["escalations"]), original(**kw)))

    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        call_command("sla_watch", "--once", "--name", "w5", "--batch-size", "10")

    # After the first and second full batches of 10, then at the end of the pass.
    assert beats == [10, 20, 25]
