"""Ticket intake side by side with django-helpdesk 2.6.1, as ../shared/peer-bench/compare_ingest.sh
runs it, with the server configuration as an option applied to both sides alike.

The shared script hard-codes gunicorn with 4 sync workers. This one runs the same steps (the
peer's own setup.sh, fixtures and load generator, the same database set-up and real ticket
texts, rounds alternated ours/peer) with `--workers`, `--threads` and `--worker-class` given to
both gunicorns, so a configuration can be compared fairly. With no options it is the shared
script's configuration (4 sync workers, c=32, 2 rounds).

    python3 dev.py setup && .venv/bin/python bench/compare_ingest.py --workers 2 --threads 4

Prints each loadgen line (side, round, config), then one summary JSON line: median rps and p99 of
each side, the median ratio and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER_BENCH = ROOT.parent / "shared" / "peer-bench"
TEXTS = ROOT.parent / "shared" / "data" / "it-service-tickets" / "test.csv"
DB = "switchboard_peer_compare"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no server on port {port} after {timeout}s")


def gunicorn_args(a: argparse.Namespace, port: int) -> list[str]:
    args = ["-b", f"127.0.0.1:{port}", "-w", str(a.workers), "-k", a.worker_class,
            "--log-level", "warning"]
    if a.worker_class == "gthread":
        args += ["--threads", str(a.threads)]
    return args


def run(cmd: list[str], **kw) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="per worker (gthread)")
    ap.add_argument("--worker-class", choices=["sync", "gthread"], default=None,
                    help="default: sync, or gthread when --threads > 1")
    ap.add_argument("-c", "--concurrency", type=int, default=32)
    ap.add_argument("-n", "--count", type=int, default=600)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="c=8, 100 requests, 1 round")
    a = ap.parse_args()
    a.worker_class = a.worker_class or ("gthread" if a.threads > 1 else "sync")
    if a.quick:
        a.concurrency, a.count, a.rounds = 8, 100, 1

    # Where the shared setup.sh builds the peer (its own default).
    peer = Path(os.environ.get("PEER", "/tmp/peer"))  # noqa: S108
    env = {**os.environ, "PEER": str(peer)}
    if not (peer / "venv" / "bin" / "python").exists():
        subprocess.run(["bash", str(PEER_BENCH / "setup.sh")], check=True, env=env,  # noqa: S607
                       stdout=subprocess.DEVNULL)
    py = str(ROOT / ".venv" / "bin" / "python")
    ours_env = {**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB}",
                "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY", "compare-only"),
                "DJANGO_SECURE_SSL_REDIRECT": "false", "DJANGO_SECURE_COOKIES": "false",
                "API_THROTTLE_USER": "1000000/min"}
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-q"]
    run([*psql, "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "-c", f"CREATE DATABASE {DB}"])
    run([py, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=ours_env)
    run([py, "manage.py", "seed_demo", "--tickets", "0", "--agents", "20",
         "--agent-capacity", "1000"], cwd=ROOT, env={**ours_env, "DJANGO_DEBUG": "true"})
    token = run([py, "manage.py", "create_api_user", "peer_compare", "--role", "customer"],
                cwd=ROOT, env=ours_env).strip().splitlines()[-1]
    peer_py = str(peer / "venv" / "bin" / "python")
    peer_token = run([peer_py, str(PEER_BENCH / "fixtures.py")], cwd=peer, env=env).strip()
    queue = run([peer_py, "-c", f"import sys; sys.path.insert(0, {str(PEER_BENCH)!r}); "
                 "import _django; from helpdesk.models import Queue; "
                 "print(Queue.objects.get(slug='support').id)"], cwd=peer, env=env).strip()

    ours_port, peer_port = free_port(), free_port()
    servers = [
        subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
                          *gunicorn_args(a, ours_port)], cwd=ROOT, env=ours_env),
        subprocess.Popen([str(peer / "venv" / "bin" / "gunicorn"), "peerproj.wsgi:application",
                          *gunicorn_args(a, peer_port)],
                         cwd=peer / "proj", env={**env, "PEER_DEBUG": "0"}),
    ]
    config = {"workers": a.workers, "worker_class": a.worker_class,
              "threads": a.threads if a.worker_class == "gthread" else 1,
              "concurrency": a.concurrency, "count": a.count, "seconds": a.seconds}
    rows: list[dict] = []
    load_before = os.getloadavg()
    try:
        wait_for(ours_port)
        wait_for(peer_port)
        loadgen = str(PEER_BENCH / "loadgen.py")
        common = ["-c", str(a.concurrency), "-n", str(a.count), "-t", str(a.seconds),
                  "--texts", str(TEXTS)]
        for rnd in range(1, a.rounds + 1):
            for side, cmd in (
                ("ours", [py, loadgen, "--shape", "switchboard", "--token", token,
                          "--url", f"http://127.0.0.1:{ours_port}/api/v1/tickets/", *common]),
                ("peer", [peer_py, loadgen, "--token", peer_token, "--queue", queue,
                          "--url", f"http://127.0.0.1:{peer_port}/api/tickets/", *common]),
            ):
                row = {"side": side, "round": rnd, **json.loads(run(cmd).strip().splitlines()[-1])}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)

    # Ratio per round (each round's two runs were taken back to back), then the median.
    ours = [r for r in rows if r["side"] == "ours"]
    peers = [r for r in rows if r["side"] == "peer"]
    print(json.dumps({
        "config": config,
        "ours_rps": statistics.median(r["rps"] for r in ours),
        "peer_rps": statistics.median(r["rps"] for r in peers),
        "ours_p99_ms": statistics.median(r["p99_ms"] for r in ours),
        "peer_p99_ms": statistics.median(r["p99_ms"] for r in peers),
        "ratio": round(statistics.median(
            o["rps"] / p["rps"] for o, p in zip(ours, peers, strict=True)), 2),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    sys.exit(main())
