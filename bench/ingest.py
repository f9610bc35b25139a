#!/usr/bin/env python3
"""POST /api/v1/tickets/ throughput and latency against a real server.

Starts gunicorn (several workers, DEBUG off) on a throwaway PostgreSQL database, seeds the demo
set-up (agents, categories, classifier, SLA policies: everything the intake flow touches), then
drives it from a separate load-generator process (bench/loadgen.py) on loopback at concurrency
1, 8 and 32, bounded in request count and time. Prints one JSON object.

    .venv/bin/python bench/ingest.py            # full run (~2 minutes)
    .venv/bin/python bench/ingest.py --quick    # CI smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BODY = (
    '{"subject": "Laptop {n} will not boot", "description": "my laptop shows a black screen '
    'after the logo since the update yesterday, tried restarting, request {n}", '
    '"priority": "normal"}'
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_database(admin_url: str):  # type: ignore[no-untyped-def]
    import psycopg

    name = f"switchboard_bench_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def make_tokens(env: dict[str, str], count: int) -> list[str]:
    script = f"""
from django.contrib.auth.models import Group, User
from tickets.api.authentication import issue_token
from tickets.roles import sync_roles
sync_roles()
group = Group.objects.get(name="customer")
for i in range({count}):
    user, _ = User.objects.get_or_create(username=f"bench{{i}}")
    user.groups.add(group)
    print(issue_token(user)[1])
"""
    # `shell` may print a banner line ("N objects imported automatically"): keep tokens only.
    return [w for w in manage(env, "shell", "-c", script).split() if len(w) == 64]


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not become ready at {url}")


def intake_paths(env: dict[str, str]) -> dict[str, int]:
    """How the measured tickets went through intake (assigned / queued / triage)."""
    script = (
        "import json; from django.db.models import Count; from tickets.models import TicketEvent;"
        "print(json.dumps(dict(TicketEvent.objects.filter(kind__in=['assigned','queued','triage'])"
        ".values_list('kind').annotate(n=Count('id')))))"
    )
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def count_tickets(env: dict[str, str]) -> int:
    out = manage(
        env, "shell", "-c", "from tickets.models import Ticket; print(Ticket.objects.count())"
    )
    return int(out.split()[-1])


def run_load(
    url: str, tokens_file: str, concurrency: int, requests: int, seconds: int
) -> dict[str, Any]:
    cmd = [
        PY,
        str(ROOT / "bench" / "loadgen.py"),
        "--url",
        url,
        "--method",
        "POST",
        "--header",
        "Content-Type: application/json",
        "--tokens-file",
        tokens_file,
        "--body-template",
        BODY,
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
        "--max-seconds",
        str(seconds),
        "--warmup",
        str(max(concurrency * 2, 20)),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small bounded smoke run")
    parser.add_argument(
        "--admin-db-url",
        default=os.environ.get(
            "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", "2")))
    parser.add_argument("--worker-class", default=os.environ.get("BENCH_WORKER_CLASS", "gthread"))
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("BENCH_THREADS", "8")),
        help="threads per gthread worker (ignored for sync)",
    )
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument(
        "--no-seed",
        action="store_true",
        help="skip seed_demo (no agents/model/policies: bare intake only)",
    )
    parser.add_argument("--agents", type=int, default=6, help="demo agents (agent1..N)")
    parser.add_argument(
        "--agent-capacity",
        type=int,
        default=10_000,
        help="capacity of each demo agent (default: nobody is ever full)",
    )
    args = parser.parse_args()
    per_level, seconds = (150, 10) if args.quick else (3000, 30)

    with throwaway_database(args.admin_db_url) as db_url, tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "API_THROTTLE_USER": "1000000/min",
            "LOG_LEVEL": "WARNING",
        }
        manage(env, "migrate", "--no-input", "-v", "0")
        if not args.no_seed:
            # Agents with room for every ticket, so each request takes the heaviest intake
            # path: classified, assigned (decision recorded, slot taken) and clocked.
            manage(
                env,
                "seed_demo",
                "--tickets",
                "0",
                "--customers",
                "0",
                "--agents",
                str(args.agents),
                "--agent-capacity",
                str(args.agent_capacity),
            )
        tokens_file = os.path.join(tmp, "tokens")
        Path(tokens_file).write_text("\n".join(make_tokens(env, 64)))

        port = free_port()
        server = subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                str(args.workers),
                "-k",
                args.worker_class,
                "--threads",
                "4",
                "--backlog",
                "2048",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz")
            url = f"http://127.0.0.1:{port}/api/v1/tickets/"
            before = count_tickets(env)
            results = [
                run_load(url, tokens_file, int(c), per_level, seconds)
                for c in args.levels.split(",")
            ]
            created = count_tickets(env) - before
            paths = intake_paths(env)
        finally:
            server.terminate()
            server.wait(timeout=30)

    accepted = sum(r["status_counts"].get("201", 0) for r in results)
    warmups = sum(max(int(c) * 2, 20) for c in args.levels.split(","))
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "quick": args.quick,
                "seeded": not args.no_seed,
                "server": {
                    "workers": args.workers,
                    "worker_class": args.worker_class,
                    "threads": args.threads if args.worker_class == "gthread" else 1,
                    "agents": args.agents,
                    "database": "postgresql",
                    "debug": False,
                },
                "results": [
                    {
                        k: r[k]
                        for k in (
                            "concurrency",
                            "requests",
                            "errors",
                            "rps",
                            "p50_ms",
                            "p99_ms",
                            "max_ms",
                            "status_counts",
                            "client_cpu_us_per_request",
                        )
                    }
                    for r in results
                ],
                # Every 201 (plus the unmeasured warm-up requests) is exactly one row: nothing lost,
                # nothing duplicated.
                "tickets_created": created,
                "intake_events": paths,
                "tickets_accepted_incl_warmup": accepted + warmups,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
