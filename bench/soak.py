#!/usr/bin/env python3
"""Soak: ticket intake at a fixed rate for a long time, with the whole service running (gunicorn,
`manage.py qcluster`, `manage.py sla_watch`) on a throwaway PostgreSQL database, the demo
set-up (classifier, agents with room, SLA policies). Prints one JSON object with, per window,
the requests sent and answered, latency (p50/p99/max, measured from each request's scheduled
send time, so a slow server cannot hide its queueing) and the resident memory of the web
workers, the cluster and the watcher; then whether memory and latency stayed flat.

Open loop: requests leave on schedule (RATE per second) over a pool of keep-alive
connections, whether or not earlier ones were answered.

    .venv/bin/python bench/soak.py                      # 10 minutes at 100 tickets/s
    .venv/bin/python bench/soak.py --quick              # CI smoke run (40 s at 30/s)
    .venv/bin/python bench/soak.py --rate 150 --minutes 20
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def _sibling(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


loadgen, ingest = _sibling("loadgen"), _sibling("ingest")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree(pid: int) -> list[int]:
    """pid and its descendants (gunicorn's workers, qcluster's processes)."""
    out = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in children:
        out += tree(int(child))
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000, 1)


async def open_loop(url: str, requests: list[bytes], rate: float, pool: int,
                    on_result: Any) -> None:
    """Send requests[i] at start + i / rate on whichever pooled connection is free."""
    parts = urlsplit(url)
    info = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)[0]
    # Last in, first out: the busiest connections stay warm; the ones left idle longer than the
    # server's keep-alive are closed by it and reopened when needed (one retry below).
    idle: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
    for _ in range(pool):
        idle.put_nowait(loadgen._Connection(info[4], info[0]))
    stats = loadgen._Stats()
    start = time.perf_counter()

    async def one(i: int, req: bytes) -> None:
        scheduled = start + i / rate
        conn = await idle.get()
        try:
            for attempt in (1, 2):
                reused = conn.writer is not None
                try:
                    if conn.writer is None:
                        await conn.open(stats)
                    conn.writer.write(req)
                    status, keep, _ = await loadgen._read_response(conn.reader)
                except (OSError, EOFError, ValueError, asyncio.IncompleteReadError):
                    conn.close()
                    if reused and attempt == 1:
                        continue  # the server had closed the idle connection: as browsers do
                    status, keep = 0, False
                if not keep:
                    conn.close()
                on_result(scheduled - start, status, time.perf_counter() - scheduled)
                break
        finally:
            idle.put_nowait(conn)

    tasks = []
    for i, req in enumerate(requests):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, req)))
    await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait().close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=100.0, help="tickets per second")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=60.0, help="seconds per report row")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--admin-db-url", default=os.environ.get(
        "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if args.quick:
        args.rate, args.minutes, args.window = 30.0, 40 / 60, 10.0
    seconds = args.minutes * 60
    total = int(args.rate * seconds)

    with ingest.throwaway_database(args.admin_db_url) as db_url:
        env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_DEBUG": "false",
               "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
               "DJANGO_SECURE_SSL_REDIRECT": "false", "API_THROTTLE_USER": "1000000/min",
               "LOG_LEVEL": "WARNING",
               "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
        ingest.manage(env, "migrate", "--no-input", "-v", "0")
        ingest.manage(env, "seed_demo", "--tickets", "0", "--customers", "0", "--agents", "6",
                      "--agent-capacity", "10000")
        tokens = ingest.make_tokens(env, 64)
        port = ingest.free_port()
        threads = args.threads if args.worker_class == "gthread" else 1
        web = subprocess.Popen(
            [PY, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w",
             str(args.workers), "-k", args.worker_class, "--threads", str(threads),
             "--backlog", "2048", "--log-level", "warning"], cwd=ROOT, env=env)
        background = [subprocess.Popen([PY, "manage.py", command], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for command in ("qcluster", "sla_watch")]
        rows: list[dict[str, Any]] = []
        results: list[tuple[float, int, float]] = []
        try:
            ingest.wait_ready(f"http://127.0.0.1:{port}/healthz")
            url = f"http://127.0.0.1:{port}/api/v1/tickets/"
            requests = loadgen.build_requests(url, "POST", ["Content-Type: application/json"],
                                              ingest.BODY, total, tokens=tokens)

            def sample(at: float) -> None:
                window = [r for r in results if at - args.window <= r[0] < at]
                statuses: dict[str, int] = {}
                for _, status, _ in window:
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
                latencies = [r[2] for r in window]
                rows.append({
                    "until_s": round(at),
                    "answered": len(window),
                    "status_counts": statuses,
                    "p50_ms": percentile(latencies, 0.5),
                    "p99_ms": percentile(latencies, 0.99),
                    "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
                    "rss_mb": {
                        "web": round(sum(rss_mb(p) for p in tree(web.pid)), 1),
                        "cluster": round(sum(rss_mb(p) for p in tree(background[0].pid)), 1),
                        "watcher": round(rss_mb(background[1].pid), 1),
                    },
                })

            async def run() -> None:
                async def sampler() -> None:
                    at = args.window
                    while at <= seconds + 1e-6:
                        await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
                        sample(at)
                        at += args.window

                started = time.perf_counter()
                await asyncio.gather(
                    open_loop(url, requests, args.rate, 64,
                              lambda at, status, latency: results.append((at, status, latency))),
                    sampler(),
                )

            asyncio.run(run())
            created = int(ingest.count_tickets(env))
        finally:
            for proc in (web, *background):
                proc.terminate()
            for proc in (web, *background):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    answered = [r for r in results if r[1]]
    first, last = rows[0], rows[-1]
    web_growth = last["rss_mb"]["web"] - first["rss_mb"]["web"]
    p99s = [r["p99_ms"] for r in rows if r["p99_ms"] is not None]
    print(json.dumps({
        "benchmark": "soak",
        "quick": args.quick,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "server": {"workers": args.workers, "worker_class": args.worker_class,
                   "threads": threads, "database": "postgresql", "debug": False,
                   "also_running": ["qcluster", "sla_watch"]},
        "rate_per_s": args.rate,
        "seconds": round(seconds),
        "sent": len(results),
        "status_counts": {str(s): sum(1 for r in results if r[1] == s)
                          for s in sorted({r[1] for r in results})},
        "tickets_created": created,
        "windows": rows,
        "web_rss_growth_mb": round(web_growth, 1),
        "p99_ms_first_window": first["p99_ms"],
        "p99_ms_last_window": last["p99_ms"],
        "p99_ms_median_of_windows": statistics.median(p99s) if p99s else None,
        "all_answered_2xx": all(200 <= r[1] < 300 for r in results) and len(answered) == total,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
