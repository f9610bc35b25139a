"""Database faults under load, with real processes: gunicorn (2 workers x 4 threads, persistent
connections with CONN_HEALTH_CHECKS) on a throwaway PostgreSQL cluster this test starts itself
(initdb/pg_ctl on its own port, tests/faults/cluster.py), while 8 client threads submit tickets,
each with its own Idempotency-Key, retrying the same key after a 503 or a dropped connection.

During the run: every server connection is terminated (pg_terminate_backend), then PostgreSQL is
stopped for ~3 s and started again. Meanwhile every kind of request is probed. Then:
- every key that got a 2xx has exactly one ticket, and no ticket exists without one;
- each key sent again creates nothing and answers the first response (Idempotent-Replayed);
- every error the clients saw was a 503 with Retry-After (never a 500, never a dropped
  connection), on every path: ticket create and list, an unknown token (a malformed one is
  refused with 401 without a query), the admin with a session (loaded by the middleware),
  /healthz;
- the first ticket after PostgreSQL accepts connections again is created within 5 s, and no
  request sent later than that fails;
- /metrics still answers during the outage (switchboard_database_up 0), and afterwards counts
  every ticket once although two gunicorn workers took them (prometheus_client's multiprocess
  mode).

Clients wait min(Retry-After, 1 s) before a retry so that recovery is seen at 1 s resolution
(Retry-After says 5 s)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.faults.cluster import Cluster, throwaway_cluster, unavailable_reason
from tests.faults.http import ready, request, submit
from tests.incidents.live import ROOT, django_env, free_port, running, wait_for

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason())),
]
DB = "switchboard_faults_e2e"
CLIENTS = 8
SEED = f"""
import io
CLIENTS = {CLIENTS}
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
for i in range(CLIENTS):
    out = io.StringIO()
    call_command("create_api_user", f"fault{{i}}", "--role", "customer", stdout=out)
    print("TOKEN", out.getvalue().strip().splitlines()[-1])
admin = User.objects.create_superuser("fault-admin", "a@example.com", None)
client = Client()
client.force_login(admin)
print("SESSION", client.cookies["sessionid"].value)
"""


@dataclass
class Outcome:
    """What the clients saw: every attempt, and the ticket each key ended with."""

    attempts: list[tuple[float, float, int | None, str | None]] = field(default_factory=list)
    tickets: dict[str, int] = field(default_factory=dict)  # key -> ticket id
    owner: dict[str, str] = field(default_factory=dict)  # key -> the token that sent it
    unfinished: dict[str, str] = field(default_factory=dict)  # key -> token
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(port: int, token: str, stop: threading.Event, out: Outcome) -> None:
    key = None
    while not stop.is_set():
        key = key or str(uuid.uuid4())
        sent = time.monotonic()
        try:
            status, headers, body = submit(port, token, key)
        except OSError as exc:  # the server itself never went away: this is a failure
            with out.lock:
                out.attempts.append((sent, time.monotonic(), None, type(exc).__name__))
            time.sleep(0.2)
            continue
        with out.lock:
            out.attempts.append((sent, time.monotonic(), status, headers.get("Retry-After")))
        if 200 <= status < 300:
            with out.lock:
                out.tickets[key], out.owner[key] = json.loads(body)["id"], token
            key = None
        elif status == 503:
            time.sleep(min(float(headers.get("Retry-After", "1")), 1.0))
        else:
            key = None  # unexpected: counted and asserted below; go on with a new ticket
    if key is not None:
        with out.lock:
            out.unfinished[key] = token


def probe_every_path(port: int, token: str, session: str) -> dict[str, tuple[int, str | None]]:
    """Each kind of request while the database is down: status and Retry-After."""
    auth = {"Authorization": f"Token {token}"}
    probes = {
        "create": lambda: submit(port, token, str(uuid.uuid4())),
        "list": lambda: request(port, "GET", "/api/v1/tickets/", auth),
        # A token of the right shape must be looked up (the database is needed to refuse it);
        # a malformed one is refused without a query, outage or not.
        "unknown_token": lambda: request(port, "GET", "/api/v1/tickets/",
                                         {"Authorization": f"Token {'0' * len(token)}"}),
        "malformed_token": lambda: request(port, "GET", "/api/v1/tickets/",
                                           {"Authorization": "Token not-a-real-token"}),
        "admin_session": lambda: request(port, "GET", "/admin/",
                                         {"Cookie": f"sessionid={session}"}),
        "healthz": lambda: request(port, "GET", "/healthz", {}),
        "metrics": lambda: request(port, "GET", "/metrics", {}),
    }
    seen = {}
    for name, probe in probes.items():
        status, headers, body = probe()
        seen[name] = (status, headers.get("Retry-After"))
        if name == "metrics":  # still served: the processes' metrics, and the database down
            seen[name] += ("switchboard_database_up 0.0" in body.decode(),)
    return seen


def gunicorn(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
            "-w", "2", "-k", "gthread", "--threads", "4", "--log-level", "warning"]


def test_tickets_survive_killed_connections_and_a_database_restart(tmp_path):
    with throwaway_cluster(free_port()) as cluster:
        cluster.execute(f'CREATE DATABASE "{DB}"')
        (tmp_path / "metrics").mkdir()
        env = server_env(cluster, tmp_path / "metrics")
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                       cwd=ROOT, env=env, check=True, timeout=300)
        seeded = subprocess.run([sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT,
                                env=env, check=True, capture_output=True, text=True).stdout
        tokens = [line.split()[1] for line in seeded.splitlines() if line.startswith("TOKEN ")]
        session = next(line.split()[1] for line in seeded.splitlines()
                       if line.startswith("SESSION "))
        port = free_port()
        with running(gunicorn(port), env=env, logs=tmp_path):
            wait_for(lambda: ready(port), timeout=60)
            out, stop = Outcome(), threading.Event()
            threads = [threading.Thread(target=client_loop, args=(port, t, stop, out))
                       for t in tokens]
            for t in threads:
                t.start()
            try:
                time.sleep(3)
                terminated = cluster.terminate_connections(DB)
                time.sleep(3)
                cluster.stop()
                down_at = time.monotonic()
                probes = probe_every_path(port, tokens[0], session)
                time.sleep(max(0.0, 3 - (time.monotonic() - down_at)))
                cluster.start()
                back_at = cluster.wait_accepting()
                time.sleep(8)
            finally:
                stop.set()
                for t in threads:
                    t.join(60)
            # Keys still in flight when the load stopped: retried until they get their ticket.
            for key, token in out.unfinished.items():
                status, _, body = submit(port, token, key)
                assert status == 201, (status, body)
                out.tickets[key], out.owner[key] = json.loads(body)["id"], token
            # Keys belong to their user: each is sent again by the client that first sent it.
            replays = {key: submit(port, out.owner[key], key) for key in out.tickets}
            ingested = scraped(port, 'switchboard_tickets_ingested_total{channel="api"}')

        rows = cluster.execute("SELECT id, subject FROM tickets_ticket", db=DB)
        _report(tmp_path, out, probes, terminated, down_at, back_at)

    statuses = Counter(status for _, _, status, _ in out.attempts)
    # Only tickets and outage answers: no 500, no dropped connection, no other error.
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0, "the outage was not seen by any client: the test did not bite"
    assert all(ra == "5" for _, _, status, ra in out.attempts if status == 503)
    assert probes == {"create": (503, "5"), "list": (503, "5"), "unknown_token": (503, "5"),
                      "malformed_token": (401, None),
                      "admin_session": (503, "5"), "healthz": (503, None),
                      "metrics": (200, None, True)}
    # Both gunicorn workers counted their tickets into PROMETHEUS_MULTIPROC_DIR: /metrics
    # (whichever worker answers) reports all of them, once each.
    assert ingested == len(rows)
    # Exactly once: one ticket per key that got a 2xx, none without one, none twice.
    subjects = Counter(subject for _, subject in rows)
    assert max(subjects.values()) == 1
    assert set(subjects) == {f"fault {key}" for key in out.tickets}
    assert {pk for pk, _ in rows} == set(out.tickets.values())
    # Retrying a key creates nothing new and answers what the first 2xx answered.
    for key, (status, headers, body) in replays.items():
        assert status == 201 and headers.get("Idempotent-Replayed") == "true", (status, body)
        assert json.loads(body)["id"] == out.tickets[key]
    # Recovery: a ticket within 5 s of PostgreSQL accepting connections, and after that
    # every request sent succeeds.
    first_ok = min(done for _, done, status, _ in out.attempts if status == 201 and done > back_at)
    assert first_ok - back_at <= 5, first_ok - back_at
    assert not [a for a in out.attempts if a[0] > back_at + 5 and a[2] != 201]


def server_env(cluster: Cluster, metrics_dir: Path) -> dict[str, str]:
    return django_env(DATABASE_URL=cluster.url(DB), DJANGO_SECURE_SSL_REDIRECT="false",
                      DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
                      API_THROTTLE_USER="1000000/min", DATABASE_CONN_MAX_AGE="60",
                      PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))


def scraped(port: int, sample: str) -> float:
    status, _, body = request(port, "GET", "/metrics", {})
    assert status == 200
    line = next(line for line in body.decode().splitlines() if line.startswith(sample + " "))
    return float(line.rsplit(" ", 1)[1])


def _report(tmp_path: Any, out: Outcome, probes: dict[str, Any], terminated: int,
            down_at: float, back_at: float) -> None:
    """What happened, for the test's output (-s) and its log directory."""
    statuses = Counter(str(status) for _, _, status, _ in out.attempts)
    after = [done - back_at for _, done, status, _ in out.attempts
             if status == 201 and done > back_at]
    summary = {"tickets": len(out.tickets), "attempts": len(out.attempts),
               "statuses": dict(statuses), "connections_terminated": terminated,
               "outage_s": round(back_at - down_at, 2),
               "first_ticket_after_restart_s": round(min(after), 3) if after else None,
               "probes_while_down": probes}
    (tmp_path / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))
