#!/usr/bin/env python3
"""SLA watcher benchmarks on a throwaway PostgreSQL database (created and dropped here).

(a) pass time: one watcher pass escalating the same number of due ticket clocks (default 1,000)
    among 10k, 100k and 1M running clocks; the pass must stay flat (ratio 1M/10k <= 2) because
    it only reads the due end of the partial index sla_clock_next_check.
(b) latency: a real `manage.py sla_watch` and `manage.py qcluster` with 100k running clocks;
    clocks fall due over ~20 s; breach -> escalation recorded, and breach -> webhook received by
    a local HTTP receiver (through django-q2), p50/p99 (target p99 <= 5 s).
(c) exactly once: 2 watchers + 2 qclusters, N simultaneous breaches (10k): escalations per
    clock, webhook receipts per idempotency key.

    .venv/bin/python bench/sla.py            # full (1M clocks: several minutes)
    .venv/bin/python bench/sla.py --quick    # CI smoke run (smaller sizes)

Background clocks are bulk-loaded with one INSERT ... SELECT FROM generate_series per size
(server-side, faster than COPY from Python and needs no data file). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import throwaway_database  # noqa: E402 - after the path fix

PY = sys.executable


class Receiver:
    """Local webhook receiver: records when each idempotency key arrived (and repeats)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrivals.append((self.headers["Idempotency-Key"], time.time()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def reset(self) -> None:
        self.arrivals = []


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def setup_django(db_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "LOG_LEVEL": "WARNING",
        "Q_WORKERS": "2",
    }
    subprocess.run(
        [PY, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return env


def load_background(total: int) -> None:
    """Top the running, not-yet-due incident clocks up to `total` (server-side INSERT)."""
    from django.db import connection

    from sla.models import SlaClock

    have = SlaClock.objects.filter(incident_id__isnull=False).count()
    if total < have:
        SlaClock.objects.filter(incident_id__gt=total).delete()
    if total <= have:
        return
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO sla_slaclock (incident_id, stage, cycle, policy_name, target_seconds,
                snapshot, state, level, started_at, warn_at, due_at, next_check_at,
                paused_seconds)
            SELECT g, 'resolve', 1, 'bench', 14400, '{"warn_at": 0.8}', 'running', 0,
                now(), now() + (g %% 2000000 + 3600) * interval '1 second',
                now() + (g %% 2000000 + 7200) * interval '1 second',
                now() + (g %% 2000000 + 3600) * interval '1 second', 0
            FROM generate_series(%s, %s) AS g
            """,
            [have + 1, total],
        )
        cur.execute("ANALYZE sla_slaclock")


def make_due_ticket_clocks(due_times: list[Any], *, customer: Any) -> None:
    """One ticket with one first-response clock per due time: a single level (breach)."""
    from sla.models import SlaClock
    from tickets.models import Ticket

    tickets = Ticket.objects.bulk_create(
        [Ticket(customer=customer, subject="bench", description="bench") for _ in due_times],
        batch_size=2000,
    )
    SlaClock.objects.bulk_create(
        [
            SlaClock(
                ticket=t, stage="first_response", policy_name="bench", target_seconds=3600,
                snapshot={"warn_at": None, "calendar": None, "escalate_after_seconds": None,
                          "stop_on": ["first_response", "resolved", "closed"]},
                started_at=due - timedelta(hours=1), due_at=due, next_check_at=due,
            )
            for t, due in zip(tickets, due_times, strict=True)
        ],
        batch_size=2000,
    )


def fixtures(receiver: Receiver) -> Any:
    from django.contrib.auth.models import Group, User

    from sla.models import WebhookEndpoint
    from tickets.roles import MANAGER, sync_roles

    sync_roles()
    manager, _ = User.objects.get_or_create(username="bench-manager",
                                            defaults={"email": "m@example.com"})
    manager.groups.add(Group.objects.get(name=MANAGER))
    WebhookEndpoint.objects.get_or_create(name="bench", defaults={"url": receiver.url})
    customer, _ = User.objects.get_or_create(username="bench-customer")
    return customer


def clear_work() -> None:
    from django_q.models import OrmQ

    from sla.models import Escalation, SlaClock

    OrmQ.objects.all().delete()
    Escalation.objects.all().delete()
    SlaClock.objects.filter(ticket__isnull=False).delete()


def bench_pass_time(sizes: list[int], due: int, customer: Any) -> dict[str, Any]:
    from django.utils import timezone

    from sla.models import SlaClock
    from sla.watcher import run_pass

    rows = []
    for size in sizes:
        clear_work()
        load_background(size - due)
        now = timezone.now()
        make_due_ticket_clocks([now - timedelta(seconds=1)] * due, customer=customer)
        started = time.perf_counter()
        list(SlaClock.objects.filter(next_check_at__lte=now).order_by("next_check_at")[:100])
        claim_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        result = run_pass(now=now)
        pass_s = time.perf_counter() - started
        assert result.escalations == due, result
        rows.append({"running_clocks": size, "due": due, "pass_seconds": round(pass_s, 3),
                     "claim_query_ms": round(claim_ms, 2), "escalations": result.escalations})
    ratio = rows[-1]["pass_seconds"] / rows[0]["pass_seconds"]
    return {"passes": rows, f"ratio_{sizes[-1]}_vs_{sizes[0]}": round(ratio, 2),
            "flat": ratio <= 2}


@contextmanager
def processes(env: dict[str, str], watchers: int, clusters: int):  # type: ignore[no-untyped-def]
    procs = [
        subprocess.Popen(
            [PY, "manage.py", "sla_watch", "--name", f"bench-w{i}"], cwd=ROOT,
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(watchers)
    ] + [
        subprocess.Popen(
            [PY, "manage.py", "qcluster"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(clusters)
    ]
    try:
        from sla.models import WatcherHeartbeat

        deadline = time.time() + 60
        while WatcherHeartbeat.objects.filter(name__startswith="bench-w").count() < watchers:
            if time.time() > deadline:
                raise RuntimeError("watchers did not start")
            time.sleep(0.2)
        time.sleep(2)  # let the clusters' workers come up
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def bench_latency(env: dict[str, str], receiver: Receiver, running: int, count: int,
                  spread: float, customer: Any) -> dict[str, Any]:
    from django.utils import timezone

    from sla.models import Escalation, WatcherHeartbeat

    clear_work()
    WatcherHeartbeat.objects.all().delete()
    load_background(running)
    receiver.reset()
    with processes(env, watchers=1, clusters=1):
        start = timezone.now() + timedelta(seconds=3)
        dues = [start + timedelta(seconds=spread * i / count) for i in range(count)]
        make_due_ticket_clocks(dues, customer=customer)
        done = wait_for(lambda: len({k for k, _ in receiver.arrivals}) >= count,
                        spread + 60)
    escalations = list(Escalation.objects.select_related("clock"))
    recorded = [(e.created_at - e.step_at).total_seconds() for e in escalations]
    due_by_key = {e.idempotency_key: e.step_at.timestamp() for e in escalations}
    first_arrival: dict[str, float] = {}
    for key, at in receiver.arrivals:
        first_arrival.setdefault(key, at)
    delivered = [at - due_by_key[k] for k, at in first_arrival.items() if k in due_by_key]
    return {
        "running_clocks": running + count,
        "breaches": count,
        "complete": done,
        "breach_to_escalation_s": {"p50": round(percentile(recorded, 50), 3),
                                   "p99": round(percentile(recorded, 99), 3),
                                   "max": round(max(recorded, default=float("nan")), 3)},
        "breach_to_webhook_received_s": {"p50": round(percentile(delivered, 50), 3),
                                         "p99": round(percentile(delivered, 99), 3),
                                         "max": round(max(delivered, default=float("nan")), 3)},
        "target_p99_s": 5,
        "ok": done and percentile(delivered, 99) <= 5,
    }


def bench_exactly_once(env: dict[str, str], receiver: Receiver, count: int,
                       customer: Any) -> dict[str, Any]:
    from django.db.models import Count
    from django.utils import timezone

    from sla.models import Escalation, Notification, WatcherHeartbeat

    clear_work()
    WatcherHeartbeat.objects.all().delete()
    receiver.reset()
    with processes(env, watchers=2, clusters=2):
        started = time.time()
        make_due_ticket_clocks([timezone.now()] * count, customer=customer)
        escalated = wait_for(lambda: Escalation.objects.count() >= count, 600)
        all_escalated_s = time.time() - started
        delivered = wait_for(lambda: len({k for k, _ in receiver.arrivals}) >= count, 600)
        all_delivered_s = time.time() - started
        time.sleep(3)  # let any duplicate arrive before counting
    keys = [k for k, _ in receiver.arrivals]
    per_clock = Escalation.objects.values("clock", "level").annotate(n=Count("id"))
    return {
        "breaches": count,
        "watchers": 2,
        "clusters": 2,
        "escalations": Escalation.objects.count(),
        "clocks_escalated_twice": per_clock.filter(n__gt=1).count(),
        "webhooks_received": len(keys),
        "distinct_keys_received": len(set(keys)),
        "duplicate_webhooks": len(keys) - len(set(keys)),
        "emails_sent": Notification.objects.filter(channel="email", status="sent").count(),
        "seconds_to_all_escalated": round(all_escalated_s, 1),
        "seconds_to_all_delivered": round(all_delivered_s, 1),
        "exactly_once": escalated and delivered
        and Escalation.objects.count() == count and len(set(keys)) == count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--admin-db-url", default=os.environ.get(
        "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--only", default="a,b,c")
    args = parser.parse_args()
    if args.quick:
        sizes, due, running, latency_n, spread, breaches = (
            [10_000, 100_000], 500, 20_000, 100, 10, 2000)
    else:
        sizes, due, running, latency_n, spread, breaches = (
            [10_000, 100_000, 1_000_000], 1000, 100_000, 300, 20, 10_000)
    out: dict[str, Any] = {"quick": args.quick}
    with throwaway_database(args.admin_db_url) as db_url:
        env = setup_django(db_url)
        receiver = Receiver()
        customer = fixtures(receiver)
        if "a" in args.only:
            out["a_pass_time"] = bench_pass_time(sizes, due, customer)
        if "b" in args.only:
            out["b_latency"] = bench_latency(env, receiver, running, latency_n, spread, customer)
        if "c" in args.only:
            out["c_exactly_once"] = bench_exactly_once(env, receiver, breaches, customer)
        from django.db import connections

        connections.close_all()
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
