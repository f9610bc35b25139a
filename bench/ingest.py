#!/usr/bin/env python3
"""POST /api/v1/tickets/ throughput and latency against a real server.

Starts gunicorn (DEBUG off, the worker/thread configuration given, reported as the exact command
line it ran) on a throwaway PostgreSQL database, seeds the demo set-up (agents, categories,
classifier, SLA policies: everything the intake flow touches), then drives it from a separate
load-generator process (bench/loadgen.py) on loopback, bounded in request count and time, with
real ticket texts from the shipped sample (classifier/data): each is classified, then assigned
or sent to triage as the model decides (the mix is reported as intake_events):

- plain runs at concurrency 1, 8 and 32 (no Idempotency-Key);
- keyed runs: every request carries its own Idempotency-Key, at the same levels;
- a retry run: the last keyed run sent again, same keys and bodies: every answer must be the
  stored one and no ticket may be created.

Every status is counted, warm-up requests included, and checked against the tickets the database
gained during each run (each 201 that is not a replay is exactly one ticket). Prints one JSON
object with os.getloadavg() before and after each run: figures taken under load are not
comparable with figures taken on a quiet machine.

    .venv/bin/python bench/ingest.py            # full run (~4 minutes)
    .venv/bin/python bench/ingest.py --quick    # CI smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


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


def make_tokens(env: dict[str, str], count: int, prefix: str = "bench") -> list[str]:
    """Customer tokens through `create_api_user` (its contract: the token is the last line of
    its output), all in one process."""
    script = f"""
import io
from django.core.management import call_command
for i in range({count}):
    out = io.StringIO()
    call_command("create_api_user", f"{prefix}{{i}}", "--role", "customer", stdout=out)
    print("TOKEN", out.getvalue().strip().splitlines()[-1])
"""
    lines = manage(env, "shell", "-c", script).splitlines()
    return [line.split()[1] for line in lines if line.startswith("TOKEN ")]


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


def count_tickets(env: dict[str, str]) -> int:
    """Tickets in the database `env` points at (bench/soak.py reads it too)."""
    counts = Counts(env["DATABASE_URL"])
    try:
        return counts.tickets()
    finally:
        counts.conn.close()


class Counts:
    """Row counts read straight from PostgreSQL (no Django start-up per read)."""

    def __init__(self, db_url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(db_url, autocommit=True)

    def one(self, sql: str) -> Any:
        return self.conn.execute(sql).fetchone()[0]  # type: ignore[index]

    def tickets(self) -> int:
        return int(self.one("SELECT count(*) FROM tickets_ticket"))

    def settled_tickets(self, quiet: float = 1.0, limit: float = 60.0) -> int:
        """The ticket count once it has not moved for `quiet` seconds."""
        deadline, last = time.monotonic() + limit, self.tickets()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.tickets()
            if now == last:
                break
            last = now
        return last

    def idempotency_records(self) -> int:
        return int(self.one("SELECT count(*) FROM tickets_idempotencyrecord"))

    def intake_paths(self) -> dict[str, int]:
        """How the tickets went through intake (assigned / queued / triage)."""
        rows = self.conn.execute(
            "SELECT kind, count(*) FROM tickets_ticketevent "
            "WHERE kind IN ('assigned', 'queued', 'triage') GROUP BY kind ORDER BY kind"
        ).fetchall()
        return {kind: n for kind, n in rows}

    def server_version(self) -> str:
        return str(self.one("SHOW server_version"))


def sample_bodies(path: Path, limit: int = 1000) -> list[str]:
    """Request bodies from the shipped CC0 ticket sample (classifier/data): real texts, so the
    classifier categorizes (and routing assigns) the share it really does, and the rest goes to
    triage, instead of one text the model happens to be sure or unsure about."""
    import csv

    with (ROOT / "classifier" / "data" / "it_tickets_sample.csv").open(encoding="utf-8") as fh:
        texts = [row["text"].strip() for row in csv.DictReader(fh) if row["text"].strip()]
    bodies = [json.dumps({"subject": " ".join(t.split()[:8])[:200], "description": t[:10_000],
                          "priority": "normal"}) for t in texts[:limit]]
    path.write_text("\n".join(bodies), encoding="utf-8")
    return bodies


def run_load(url: str, tokens_file: str, concurrency: int, requests: int, seconds: int,
             warmup: int, key_header: str | None, bodies_file: str | None) -> dict[str, Any]:
    body = ["--bodies-file", bodies_file] if bodies_file else ["--body-template", BODY]
    cmd = [
        PY, str(ROOT / "bench" / "loadgen.py"), "--url", url, "--method", "POST",
        "--header", "Content-Type: application/json", "--tokens-file", tokens_file,
        *body, "--concurrency", str(concurrency),
        "--requests", str(requests), "--max-seconds", str(seconds), "--warmup", str(warmup),
    ]
    if key_header:
        cmd += ["--unique-header", key_header]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def merged_statuses(result: dict[str, Any]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in (result["warmup"]["status_counts"], result["status_counts"]):
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    return dict(sorted(total.items()))


def measure(counts: Counts, url: str, tokens_file: str, *, label: str, concurrency: int,
            requests: int, seconds: int, key_header: str | None, bodies_file: str | None,
            replay_of: dict[str, Any] | None = None) -> dict[str, Any]:
    # The warm-up runs on the same connections, before the clock starts; its requests are
    # real tickets too and are counted (statuses_incl_warmup).
    warmup = max(concurrency * 2, 20)
    tickets, records, load_before = counts.tickets(), counts.idempotency_records(), load_average()
    r = run_load(url, tokens_file, concurrency, requests, seconds, warmup, key_header,
                 bodies_file)
    # Requests cut off by the time limit are still being served: count once the server is done
    # with them, or they would land in the next run's count.
    created = counts.settled_tickets() - tickets
    statuses = merged_statuses(r)
    accepted = statuses.get("201", 0)
    sent = r["requests"] + r["warmup"]["requests"]
    # Any run: one ticket per 201. A retry run's 201s are replays and create nothing, except
    # for requests the original run never got to send (it stops at its time limit; requests go
    # out in order, so those are the last ones). A request cut off in flight by the time limit
    # may still have created its ticket, unseen: at most one each.
    expected = accepted if replay_of is None else max(0, sent - replay_of["requests_incl_warmup"])
    unseen = r["cancelled_in_flight"] + r["warmup"]["cancelled_in_flight"]
    # (A retry of a request the original run cut off finds its ticket if it had been created.)
    lowest = expected - (replay_of["cancelled_in_flight_at_time_limit"] if replay_of else 0)
    return {
        "run": label,
        "concurrency": concurrency,
        "idempotency_keys": key_header is not None,
        "requests": r["requests"],
        "rps": r["rps"],
        "p50_ms": r["p50_ms"],
        "p90_ms": r["p90_ms"],
        "p99_ms": r["p99_ms"],
        "max_ms": r["max_ms"],
        "status_counts": r["status_counts"],
        "connection_errors": r["requests"] - sum(r["status_counts"].values()),
        "warmup": {"requests": r["warmup"]["requests"],
                   "status_counts": r["warmup"]["status_counts"],
                   "connection_errors": r["warmup"]["conn_errors"]},
        "statuses_incl_warmup": statuses,
        "requests_incl_warmup": sent,
        "first_error": r["first_error"] or r["warmup"]["first_error"],
        "tickets_created": created,
        "idempotency_records_created": counts.idempotency_records() - records,
        "tickets_expected": expected,
        "cancelled_in_flight_at_time_limit": unseen,
        "tickets_match_201s": max(lowest, 0) <= created <= expected + unseen,
        "client_cpu_us_per_request": r["client_cpu_us_per_request"],
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def gunicorn_command(port: int, args: argparse.Namespace) -> list[str]:
    return [
        PY, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}",
        "-w", str(args.workers), "-k", args.worker_class,
        *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
        "--backlog", "2048", "--log-level", "warning",
    ]


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
        help="threads per gthread worker (not passed for other worker classes)",
    )
    parser.add_argument("--levels", default=None, help="plain runs (default 1,8,32; quick: 8)")
    parser.add_argument("--key-levels", default=None,
                        help="runs with Idempotency-Keys (default 1,8,32; quick: 8); the last "
                        "one is then retried with the same keys")
    parser.add_argument(
        "--bodies", choices=["sample", "template"], default="sample",
        help="sample: real tickets from classifier/data (the classifier's real mix of "
        "categorized and triaged); template: one made-up laptop ticket every time",
    )
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
    levels = [int(c) for c in (args.levels or ("8" if args.quick else "1,8,32")).split(",") if c]
    key_levels = [
        int(c) for c in (args.key_levels or ("8" if args.quick else "1,8,32")).split(",") if c
    ]

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
                env, "seed_demo", "--tickets", "0", "--customers", "0",
                "--agents", str(args.agents), "--agent-capacity", str(args.agent_capacity),
            )
        bodies_file = None
        if args.bodies == "sample":
            bodies_file = os.path.join(tmp, "bodies")
            sample_bodies(Path(bodies_file))
        tokens_file = os.path.join(tmp, "tokens")
        tokens = make_tokens(env, 64)
        Path(tokens_file).write_text("\n".join(tokens))

        port = free_port()
        command = gunicorn_command(port, args)
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        counts = Counts(db_url)
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz")
            url = f"http://127.0.0.1:{port}/api/v1/tickets/"
            common = {"requests": per_level, "seconds": seconds, "bodies_file": bodies_file}
            runs = [
                measure(counts, url, tokens_file, label=f"plain-c{c}", concurrency=c,
                        key_header=None, **common)
                for c in levels
            ]
            runs += [
                measure(counts, url, tokens_file, label=f"keys-c{c}", concurrency=c,
                        key_header=f"Idempotency-Key: bench-c{c}-{{n}}", **common)
                for c in key_levels
            ]
            if key_levels:
                c = key_levels[-1]
                runs.append(measure(counts, url, tokens_file, label=f"keys-c{c}-retried",
                                    concurrency=c, key_header=f"Idempotency-Key: bench-c{c}-{{n}}",
                                    replay_of=runs[-1], **common))
            paths = counts.intake_paths()
            version = counts.server_version()
        finally:
            server.terminate()
            server.wait(timeout=30)
            counts.conn.close()

    import gunicorn

    result = {
        "benchmark": "ingest",
        "quick": args.quick,
        "seeded": not args.no_seed,
        "server": {
            # The command gunicorn really ran (port and interpreter path elided).
            "command": " ".join(["gunicorn", *command[4:]]).replace(f":{port}", ":PORT"),
            "workers": args.workers,
            "worker_class": args.worker_class,
            "threads": args.threads if args.worker_class == "gthread" else 1,
            "gunicorn": gunicorn.__version__,
            "python": platform.python_version(),
            "agents": args.agents,
            "database": f"postgresql {version}",
            "debug": False,
        },
        "bodies": args.bodies,
        "client": {"tool": "bench/loadgen.py (separate process, closed loop, keep-alive)",
                   "customers": len(tokens),
                   "requests_per_run": per_level, "max_seconds_per_run": seconds},
        "cpus": os.cpu_count(),
        "results": runs,
        "intake_events": paths,
        # Every 201 (warm-up included) that is not a replay is exactly one ticket, and a retry
        # with the same keys creates nothing: nothing lost, nothing duplicated.
        "every_201_is_one_ticket": all(r["tickets_match_201s"] for r in runs),
        "statuses_all_runs": _sum_statuses(runs),
    }
    print(json.dumps(result, indent=2))
    return 0 if result["every_201_is_one_ticket"] else 1


def _sum_statuses(runs: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for run in runs:
        for status, n in run["statuses_incl_warmup"].items():
            total[status] = total.get(status, 0) + n
    return dict(sorted(total.items()))


if __name__ == "__main__":
    sys.exit(main())
