"""Worker faults with real processes on the PostgreSQL test database: 5,000 ticket clocks are
due; `manage.py sla_watch` and `manage.py qcluster` (2 workers) escalate and notify them. The
watcher is SIGKILLed mid-pass (about 1,000 escalations in), and a qcluster worker is SIGKILLed
while it sends notifications (the cluster's guard reincarnates it). Then:
- a dead watcher shows on /healthz?require=sla_watcher (503) and in /metrics
  (switchboard_sla_watcher_up 0) within SLA_WATCHER_STALE_SECONDS (here 10 s; 60 s by default)
  of its last pass;
- after a new watcher starts, every breach is escalated exactly once (Escalation rows, timeline
  events, priority bumps) and every notification is delivered: one outbox row per escalation and
  channel, every escalation e-mailed and posted. What is being sent at the instant its worker
  dies may be sent again once its lease expires (at least once; a webhook repeats its
  Idempotency-Key for the receiver to drop it): at most one such send (one webhook, or one
  e-mail listing its batch's escalations) per killed worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from bench import mailsink
from sla.models import Escalation, Notification, SlaClock, WebhookEndpoint
from tests.faults.receiver import WebhookReceiver
from tests.incidents.live import ROOT, django_env, manage, running, wait_for
from tests.tickets.factories import UserFactory
from tickets.models import Ticket, TicketEvent
from tickets.roles import MANAGER

pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="other processes cannot reach SQLite's in-memory test database"),
]
CLOCKS = 5000


def make_due_clocks(n: int) -> None:
    """n open tickets, each with a first-response clock that breached a second ago (one level:
    breach; its effects are the priority bump and the managers' email + webhook)."""
    customer = UserFactory(username="fault-customer")
    tickets = Ticket.objects.bulk_create(
        [Ticket(customer=customer, subject=f"fault {i}", description="d") for i in range(n)],
        batch_size=1000)
    due = timezone.now() - timedelta(seconds=1)
    SlaClock.objects.bulk_create(
        [SlaClock(ticket=t, stage="first_response", policy_name="fault", target_seconds=3600,
                  snapshot={"warn_at": None, "calendar": None, "escalate_after_seconds": None,
                            "stop_on": ["first_response", "resolved", "closed"]},
                  started_at=due - timedelta(hours=1), due_at=due, next_check_at=due)
         for t in tickets],
        batch_size=1000)


def busy_worker(cluster: subprocess.Popen[bytes]) -> psutil.Process | None:
    """A worker of this cluster in the middle of a task (setproctitle: "... processing ...")."""
    for child in psutil.Process(cluster.pid).children(recursive=True):
        try:
            if "processing" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def watcher(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(manage("sla_watch", "--interval", "0.5", "--name", name), cwd=ROOT,
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def test_killed_watcher_and_worker_lose_and_duplicate_no_escalation(
    roles, client, settings, tmp_path
):
    settings.SLA_WATCHER_STALE_SECONDS = 10  # what /healthz (this process) calls stale
    manager = UserFactory(username="fault-manager", email="max@example.com")
    manager.groups.add(Group.objects.get(name=MANAGER))
    make_due_clocks(CLOCKS)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = django_env(
        DJANGO_EMAIL_BACKEND="bench.mailsink.JsonLinesBackend", MAILSINK_DIR=str(mail_dir),
        Q_WORKERS="2", Q_TIMEOUT="20", Q_RETRY="30", SLA_WEBHOOK_TIMEOUT_SECONDS="2",
        SLA_NOTIFY_LEASE_SECONDS="5", SLA_NOTIFY_REQUEUE_SECONDS="3", LOG_LEVEL="INFO",
    )
    first = second = None
    with WebhookReceiver(delay=0.005) as receiver, \
            running(manage("qcluster"), env=env, logs=tmp_path) as (cluster,):
        WebhookEndpoint.objects.create(name="fault", url=receiver.url)
        try:
            first = watcher("w1", env, tmp_path / "w1.log")
            wait_for(lambda: Escalation.objects.count() >= 1000, timeout=180, every=0.05)
            first.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            escalated_at_kill = Escalation.objects.count()

            worker = wait_for(lambda: busy_worker(cluster), timeout=60, every=0.02)
            os.kill(worker.pid, signal.SIGKILL)

            wait_for(lambda: client.get("/healthz?require=sla_watcher").status_code == 503
                     and b"switchboard_sla_watcher_up 0.0" in client.get("/metrics").content,
                     timeout=30)
            stale_after = time.monotonic() - killed_at

            second = watcher("w2", env, tmp_path / "w2.log")
            wait_for(lambda: Escalation.objects.count() == CLOCKS, timeout=300)
            wait_for(lambda: not Notification.objects.exclude(status="sent").exists()
                     and len(receiver.counts()) == CLOCKS
                     and len(set(mailsink.items(mail_dir)[0])) == CLOCKS,
                     timeout=180)
            time.sleep(2)  # a late repeat would arrive now
            healthy = client.get("/healthz?require=sla_watcher").status_code
        finally:
            for proc in (first, second):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(timeout=30)

    assert 0 < escalated_at_kill < CLOCKS  # killed mid-pass, not before nor after
    assert stale_after <= settings.SLA_WATCHER_STALE_SECONDS + 2, stale_after
    assert healthy == 200
    # Every breach escalated once, with its effects once.
    assert Escalation.objects.filter(level=2).count() == CLOCKS
    assert Escalation.objects.values("clock").distinct().count() == CLOCKS
    for kind in ("sla_breached", "priority_changed", "escalated"):
        events = TicketEvent.objects.filter(kind=kind)
        assert events.count() == CLOCKS, kind
        assert events.values("ticket").distinct().count() == CLOCKS, kind
    assert Ticket.objects.filter(priority="high").count() == CLOCKS
    # One outbox row per escalation and channel, all delivered.
    assert Notification.objects.count() == 2 * CLOCKS
    assert not Notification.objects.values("escalation", "channel").annotate(
        n=Count("id")).filter(n__gt=1).exists()
    webhooks = receiver.counts()
    emailed, repeated_emails = mailsink.items(mail_dir)
    assert len(set(emailed)) == CLOCKS  # to the one manager
    # At most the send in flight when the worker died is repeated: one webhook, or one e-mail
    # (which lists every escalation of its batch for that recipient).
    repeats = (sum(webhooks.values()) - len(webhooks)) + repeated_emails
    assert repeats <= 1, repeats
    log = (tmp_path / "proc0.log").read_text()
    assert "reincarnated worker" in log and "after death" in log
    print(json.dumps({"clocks": CLOCKS, "escalated_when_watcher_killed": escalated_at_kill,
                      "stale_on_healthz_after_s": round(stale_after, 1),
                      "notifications": 2 * CLOCKS, "repeats_received": repeats}))
