#!/usr/bin/env python3
"""Incidents, measured on a throwaway PostgreSQL database. Prints one JSON object.

(a) Alert intake: Alertmanager webhook notifications (2 alerts each, the real 0.25 shape)
    POSTed to gunicorn from the load generator (bench/loadgen.py, its own process) at
    concurrency 8. Each group's notification is sent many times, a quarter of them with the
    alerts in the other order: repeats, byte-identical (stopped by the stored body's hash) or
    not (applied, adding nothing). Afterwards: one incident per group, two alerts each, no
    duplicates. Target: 500 alerts/s at c=8.
(b) Breach -> escalation: `manage.py sla_watch` (a real process, default interval) with
    100,000 running incident clocks not yet due, and incidents whose classify stage falls due
    over the next seconds; lateness = escalation recorded - stage due. Target: p99 <= 2 s.
(c) Surge detection's cost on ticket intake: flows.submit_ticket in this process, alternating
    blocks with SURGE_ENABLED off and on (tickets with varied subjects, none surging); the
    difference per ticket, and surge.observe() alone. Target: < 0.5 ms per ticket.

    .venv/bin/python bench/incidents.py            # full run (~3 minutes)
    .venv/bin/python bench/incidents.py --quick    # CI smoke run
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The project before bench/ (which Python puts first: its routing.py would shadow the app).
sys.path.insert(0, str(ROOT))


def _sibling(name: str) -> Any:
    """bench/<name>.py as a module (bench/ is not a package, and its routing.py must not
    shadow the app of that name on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


loadgen = _sibling("loadgen")
ingest = _sibling("ingest")
free_port, manage = ingest.free_port, ingest.manage
throwaway_database, wait_ready = ingest.throwaway_database, ingest.wait_ready
PY = sys.executable
FIXTURE = ROOT / "tests" / "incidents" / "alertmanager_0_25" / "001-firing.json"


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def notification_bodies(groups: int) -> list[str]:
    """Per group: its firing notification three times, once more with the alerts reversed."""
    base = json.loads(FIXTURE.read_text())
    bodies = []
    for g in range(groups):
        body = json.loads(json.dumps(base))
        body["groupKey"] = f'{{}}:{{alertname="BenchAlert{g}", service="svc{g}"}}'
        body["groupLabels"] = {"alertname": f"BenchAlert{g}", "service": f"svc{g}"}
        body["commonLabels"] = {**body["commonLabels"], "alertname": f"BenchAlert{g}",
                                "service": f"svc{g}"}
        for i, alert in enumerate(body["alerts"]):
            alert["labels"] = {**alert["labels"], "alertname": f"BenchAlert{g}",
                               "service": f"svc{g}"}
            alert["fingerprint"] = f"{g:012x}{i:04x}"
        reversed_body = {**body, "alerts": body["alerts"][::-1]}
        bodies += [json.dumps(body)] * 3 + [json.dumps(reversed_body)]
    return bodies


def alert_intake(env: dict[str, str], args: argparse.Namespace, requests: int) -> dict[str, Any]:
    groups = max(10, requests // 40)
    script = (
        "from tickets.roles import sync_roles; sync_roles();"
        "from django.contrib.auth.models import Group, User;"
        "from tickets.api.authentication import issue_token;"
        "u, _ = User.objects.get_or_create(username='alertmanager');"
        "u.groups.add(Group.objects.get(name='integration'));"
        "print(issue_token(u)[1])"
    )
    token = [w for w in manage(env, "shell", "-c", script).split() if len(w) == 64][-1]
    port = free_port()
    server = subprocess.Popen(
        [PY, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w",
         str(args.workers), "-k", "gthread", "--threads", str(args.threads), "--backlog",
         "2048", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
        bodies = notification_bodies(groups)
        result = loadgen.run(
            f"http://127.0.0.1:{port}/api/v1/integrations/alertmanager/", "POST",
            ["Content-Type: application/json"], None, args.concurrency, requests,
            max_seconds=60, warmup=0, tokens=[token], bodies=bodies,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    from django.db.models import Count

    from incidents.models import AlertOccurrence, Incident

    incidents = Incident.objects.filter(source="alertmanager")
    per_group = incidents.values("dedup_key").annotate(n=Count("id")).filter(n__gt=1).count()
    duplicated = (
        AlertOccurrence.objects.values("receiver", "fingerprint", "starts_at")
        .annotate(n=Count("id")).filter(n__gt=1).count()
    )
    sent_groups = min(groups, result["requests"])  # each group's first body comes in order
    return {
        "concurrency": args.concurrency,
        "server": {"workers": args.workers, "worker_class": "gthread", "threads": args.threads},
        "notifications": result["requests"],
        "alerts_per_notification": 2,
        "notifications_per_s": result["rps"],
        "alerts_per_s": round(result["rps"] * 2, 1),
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "max_ms": result["max_ms"],
        "status_counts": result["status_counts"],
        "groups": sent_groups,
        "incidents": incidents.count(),
        "alert_occurrences": AlertOccurrence.objects.count(),
        "duplicate_incidents": per_group,
        "duplicate_alerts": duplicated,
    }


def load_background_clocks(total: int) -> None:
    """`total` running incident clocks (resolve stage) due hours from now, inserted server-side."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO sla_slaclock (incident_id, stage, cycle, policy_name, target_seconds,
                snapshot, state, level, started_at, warn_at, due_at, next_check_at,
                paused_seconds)
            SELECT 1000000 + g, 'resolve', 1, 'bench', 14400, '{"warn_at": 0.8}', 'running',
                0, now(), now() + (g %% 7200 + 3600) * interval '1 second',
                now() + (g %% 7200 + 7200) * interval '1 second',
                now() + (g %% 7200 + 3600) * interval '1 second', 0
            FROM generate_series(1, %s) AS g
            """,
            [total],
        )
        cur.execute("ANALYZE sla_slaclock")


def breach_latency(env: dict[str, str], clocks: int, incidents: int) -> dict[str, Any]:
    from django.utils import timezone

    from incidents import flows
    from incidents.models import Incident
    from sla.models import Escalation, SlaClock

    load_background_clocks(clocks)
    spread = 10.0  # seconds over which the incidents' classify stages fall due
    start = timezone.now() + timedelta(seconds=5)
    for i in range(incidents):
        due = start + timedelta(seconds=spread * i / incidents)
        flows.open_incident(title=f"bench {i}", severity="sev3", source=Incident.Source.API,
                            opened_by=None, detected_at=due - timedelta(minutes=15))
    watched = SlaClock.objects.filter(stage="classify", policy_name__startswith="Incidents")
    running = SlaClock.objects.filter(stopped_at__isnull=True).count()
    watcher = subprocess.Popen([PY, "manage.py", "sla_watch"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + spread + 60
        while time.monotonic() < deadline:
            done = Escalation.objects.filter(clock__in=watched, level=2).count()
            if done >= incidents:
                break
            time.sleep(0.5)
    finally:
        watcher.terminate()
        watcher.wait(timeout=30)
    late = [
        (e.created_at - e.step_at).total_seconds()
        for e in Escalation.objects.filter(clock__in=watched, level=2)
    ]
    per_clock = (
        Escalation.objects.filter(clock__in=watched).values("clock", "level")
        .order_by().distinct().count()
    )
    return {
        "running_clocks": running,
        "breaching_stages": incidents,
        "escalated": len(late),
        "duplicates": Escalation.objects.filter(clock__in=watched).count() - per_clock,
        "lateness_p50_s": round(percentile(late, 0.5) or 0, 3),
        "lateness_p99_s": round(percentile(late, 0.99) or 0, 3),
        "lateness_max_s": round(max(late), 3) if late else None,
        "watcher_interval_s": 1.0,
    }


def surge_cost(tickets: int) -> dict[str, Any]:
    """Intake in this process with surge detection off and on, alternated in blocks."""
    from django.conf import settings
    from django.contrib.auth.models import User

    from incidents import surge
    from tickets import flows
    from tickets.models import Ticket

    customer, _ = User.objects.get_or_create(username="surge-bench")
    words = [f"w{chr(97 + i % 26)}{chr(97 + (i // 26) % 26)}" for i in range(tickets * 2)]

    def block(n: int, enabled: bool, offset: int) -> float:
        settings.SURGE_ENABLED = enabled
        started = time.perf_counter()
        for i in range(n):
            flows.submit_ticket(customer=customer, subject=f"Printer {words[offset + i]} broken",
                                description="It prints blank pages.", priority="normal")
        return (time.perf_counter() - started) / n * 1000

    per_block = max(10, tickets // 10)
    off, on = [], []
    for b in range(tickets // per_block):
        off.append(block(per_block, False, b * 2 * per_block))
        on.append(block(per_block, True, (b * 2 + 1) * per_block))
    settings.SURGE_ENABLED = True
    sample = list(Ticket.objects.order_by("-id")[:200])
    started = time.perf_counter()
    for ticket in sample:
        surge.observe(ticket)
    observe_ms = (time.perf_counter() - started) / len(sample) * 1000
    return {
        "tickets_per_mode": per_block * len(off),
        "intake_ms_surge_off": round(statistics.median(off), 3),
        "intake_ms_surge_on": round(statistics.median(on), 3),
        "cost_ms_per_ticket": round(statistics.median(on) - statistics.median(off), 3),
        "observe_alone_ms": round(observe_ms, 3),
        "note": "medians of per-block means, blocks alternated; in-process, PostgreSQL on "
                "loopback",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small bounded smoke run")
    parser.add_argument("--admin-db-url", default=os.environ.get(
        "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    requests, clocks, breaching, tickets = (
        (400, 10_000, 20, 100) if args.quick else (6000, 100_000, 200, 1000)
    )
    with throwaway_database(args.admin_db_url) as db_url, tempfile.TemporaryDirectory():
        env = {
            **os.environ, "DATABASE_URL": db_url, "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "false", "API_THROTTLE_USER": "1000000/min",
            "LOG_LEVEL": "WARNING",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
        manage(env, "migrate", "--no-input", "-v", "0")
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        result = {
            "benchmark": "incidents",
            "quick": args.quick,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "alert_intake": alert_intake(env, args, requests),
            "breach_to_escalation": breach_latency(env, clocks, breaching),
            "surge_detection": surge_cost(tickets),
        }
        from django.db import connections

        connections.close_all()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
