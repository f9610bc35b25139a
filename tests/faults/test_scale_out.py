"""Scale-out with real processes, as README "Running on several machines" lays it out: two web
servers (gunicorn, each its own process group), two django-q2 clusters and two SLA watchers
against one PostgreSQL (the test database), sharing the throttle cache in Redis.

Customers submit urgent tickets to both web servers, some retried on the *other* server with the
same Idempotency-Key; the urgent policy is shortened to seconds so every ticket's first-response
clock warns, breaches and reaches the second level while everything runs. Then: one ticket per
key; every level recorded once per clock although both watchers escalated; every notification
emailed and posted once although both clusters sent them."""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from bench import mailsink
from sla.models import Escalation, Notification, SlaPolicy, WatcherHeartbeat, WebhookEndpoint
from tests.conftest import api_token
from tests.faults.http import ready, submit
from tests.faults.receiver import WebhookReceiver
from tests.incidents.live import django_env, free_port, manage, running, wait_for
from tests.tickets.factories import UserFactory
from tickets.models import Ticket
from tickets.roles import CUSTOMER


def redis_unreachable() -> str | None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as exc:
        return f"Redis is not reachable on 127.0.0.1:6379: {exc}"
    return None


pytestmark = [
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="other processes cannot reach SQLite's in-memory test database"),
    pytest.mark.skipif(redis_unreachable() is not None, reason=str(redis_unreachable())),
]
CUSTOMERS, TICKETS_EACH = 4, 30


def short_urgent_policy() -> None:
    """Urgent: first response in 5 s (warning at 4 s), second level 3 s after the breach."""
    policy = SlaPolicy.objects.get(kind="ticket", priority="urgent", category=None)
    for stage in policy.stages:
        if stage["name"] == "first_response":
            stage["target_seconds"] = 5
    policy.escalate_after_seconds = 3
    policy.save()


def customer_load(ports: list[int], token: str, out: dict[str, int], lock: threading.Lock,
                  replayed: list[bool]) -> None:
    for i in range(TICKETS_EACH):
        key, port = str(uuid.uuid4()), ports[i % 2]
        status, _, body = submit(port, token, key, priority="urgent")
        assert status == 201, body
        with lock:
            out[key] = json.loads(body)["id"]
        if i % 5 == 0:  # the same key on the other server: answered from the first one
            status, headers, again = submit(ports[(i + 1) % 2], token, key, priority="urgent")
            replayed.append(status == 201 and headers.get("Idempotent-Replayed") == "true"
                            and json.loads(again)["id"] == out[key])


def worked(log: str, pattern: str) -> int:
    return sum(int(n) for n in re.findall(pattern, log))


def test_two_webs_two_clusters_two_watchers_escalate_and_notify_exactly_once(
    roles, max_manager, tmp_path
):
    short_urgent_policy()
    customers = [UserFactory(username=f"scale{i}") for i in range(CUSTOMERS)]
    for customer in customers:
        customer.groups.add(Group.objects.get(name=CUSTOMER))
    tokens = [api_token(customer) for customer in customers]
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = django_env(
        DJANGO_EMAIL_BACKEND="bench.mailsink.JsonLinesBackend", MAILSINK_DIR=str(mail_dir),
        CACHE_URL=f"redis://127.0.0.1:6379/0?key_prefix=sb-scale-{uuid.uuid4().hex[:8]}",
        DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_ALLOWED_HOSTS="127.0.0.1",
        API_THROTTLE_USER="100000/min", Q_WORKERS="1", LOG_LEVEL="INFO",
        SLA_ONCALL_EMAILS="oncall@example.com",
    )
    ports = [free_port(), free_port()]
    web = [[sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
            "-w", "1", "-k", "gthread", "--threads", "4"] for port in ports]
    tickets: dict[str, int] = {}
    replayed: list[bool] = []
    watch = ["--interval", "0.5", "--batch-size", "10"]
    with WebhookReceiver() as receiver, running(
        *web, manage("qcluster"), manage("qcluster"),
        manage("sla_watch", *watch, "--name", "w1"), manage("sla_watch", *watch, "--name", "w2"),
        env=env, logs=tmp_path,
    ) as procs:
        WebhookEndpoint.objects.create(name="scale", url=receiver.url)
        for port in ports:
            wait_for(lambda p=port: ready(p), timeout=60)
        # Both watchers up, then held while the tickets come in: released together on a
        # backlog of due clocks (batches of 10), they compete for the same rows, whichever
        # of them is faster to start or to poll.
        wait_for(lambda: WatcherHeartbeat.objects.filter(name__in=["w1", "w2"]).count() == 2,
                 timeout=60)
        for watcher in procs[4:]:
            watcher.send_signal(signal.SIGSTOP)
        lock = threading.Lock()
        clients = [threading.Thread(target=customer_load,
                                    args=(ports, t, tickets, lock, replayed)) for t in tokens]
        for c in clients:
            c.start()
        for c in clients:
            c.join(120)
        time.sleep(4.5)  # every warning due (4 s after its ticket), the first breaches too
        for watcher in procs[4:]:
            watcher.send_signal(signal.SIGCONT)
        n = CUSTOMERS * TICKETS_EACH
        ours = Escalation.objects.filter(clock__stage="first_response")
        wait_for(lambda: ours.count() == 3 * n, timeout=120)
        # Warnings overtaken by their breach in one pass are recorded, not sent.
        expected = ours.count() - ours.filter(actions__superseded=True).count()
        wait_for(lambda: not Notification.objects.exclude(status="sent").exists()
                 and len(receiver.counts()) == expected
                 and len(set(mailsink.items(mail_dir)[0]))
                 == Notification.objects.filter(channel="email").count(), timeout=120)
        time.sleep(2)  # a duplicate would arrive now

    logs = {i: (tmp_path / f"proc{i}.log").read_text() for i in range(6)}
    assert len(tickets) == n == Ticket.objects.count()
    assert set(tickets.values()) == set(Ticket.objects.values_list("id", flat=True))
    assert replayed and all(replayed)  # a retry on the other server replays, never duplicates
    levels = Counter(ours.values_list("level", flat=True))
    assert levels == {1: n, 2: n, 3: n}
    assert ours.values("clock", "level").distinct().count() == 3 * n
    # Both watchers escalated, both clusters sent; the sums are the totals (nothing twice).
    by_watcher = [worked(logs[i], r"escalations=(\d+)") for i in (4, 5)]
    by_cluster = [logs[i].count("Processed 'sla.tasks.send_notifications'") for i in (2, 3)]
    assert all(by_watcher) and sum(by_watcher) == 3 * n, by_watcher
    assert all(by_cluster), by_cluster
    hooks = receiver.counts()
    mails = Counter(mailsink.items(mail_dir)[0])
    assert len(hooks) == expected
    assert len(mails) == Notification.objects.filter(channel="email").count()
    assert max(hooks.values()) == max(mails.values()) == 1
    print(json.dumps({"tickets": n, "escalations_by_watcher": by_watcher,
                      "notify_tasks_by_cluster": by_cluster, "webhooks": sum(hooks.values()),
                      "emails": sum(mails.values()),
                      "warnings_superseded": 3 * n - expected}))

