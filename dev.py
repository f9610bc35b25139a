#!/usr/bin/env python3
"""The two commands of the README, needing nothing but python3:

    python3 dev.py demo    # set up, seed demo data, run web server + worker + SLA watcher
    python3 dev.py test    # set up, run the whole test suite (extra args go to pytest)

Setup is idempotent: a .venv is created once, dependencies are reinstalled only when
pyproject.toml changes, and a local .env with a generated DJANGO_SECRET_KEY is written once.
DATABASE_URL from the environment is honoured (default: SQLite file db.sqlite3)."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".switchboard-deps"


def log(msg: str) -> None:
    print(f"[dev] {msg}", flush=True)


def setup() -> None:
    if not PY.exists():
        log("creating .venv")
        venv.create(VENV, with_pip=True)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        log("installing dependencies (pip install -e .[dev])")
        pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", ".[dev]"], check=True, cwd=ROOT)
        STAMP.write_text(wanted)
    env_file = ROOT / ".env"
    if not env_file.exists():
        env_file.write_text(f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\n")
        log("wrote .env with a generated DJANGO_SECRET_KEY")


def manage(*args: str, env: dict[str, str] | None = None, capture: bool = False) -> str:
    result = subprocess.run(
        [str(PY), "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def run_tests(pytest_args: list[str]) -> int:
    env = dict(os.environ)
    checks = [
        # Migrations are committed: a model change without its migration fails here.
        [str(PY), "manage.py", "makemigrations", "--check", "--dry-run"],
        # Production settings pass Django's deployment checks.
        [str(PY), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        # The app layering drawn in README holds (pyproject [tool.importlinter]).
        [str(VENV / "bin" / "lint-imports"), "--no-cache"],
        # Lint (rules and their reasons in pyproject [tool.ruff]).
        [str(VENV / "bin" / "ruff"), "check", "--quiet", "."],
        # Static types (pyproject [tool.mypy]); django-stubs' plugin imports the settings.
        [str(VENV / "bin" / "mypy")],
    ]
    # Static checks need no database: an in-memory one keeps makemigrations from warning that
    # CI's database (created later by pytest-django) does not exist yet.
    deploy_env = {**env, "DJANGO_DEBUG": "false", "DATABASE_URL": "sqlite://:memory:"}
    for cmd in checks:
        log(" ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)))
        if subprocess.run(cmd, cwd=ROOT, env=deploy_env).returncode != 0:
            return 1
    db = env.get("DATABASE_URL", "sqlite (default)").split("@")[-1]
    log(f"pytest against {db}")
    return subprocess.run([str(PY), "-m", "pytest", *pytest_args], cwd=ROOT, env=env).returncode


def run_demo(port: int) -> int:
    # Web server, worker and watcher report their metrics into one directory, so /metrics shows
    # all three (prometheus_client's multiprocess mode; emptied at each start, as it must be).
    metrics_dir = ROOT / "var" / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {**os.environ, "DJANGO_DEBUG": "true", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    manage("migrate", "--no-input", "-v", "0", env=env)
    manage("seed_demo", env=env)
    token = manage("create_api_user", "demo-customer", "--role", "customer", env=env, capture=True)
    token = token.strip().splitlines()[-1]
    procs = {
        "web": [str(PY), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        "worker": [str(PY), "manage.py", "qcluster"],
    }
    if (ROOT / "sla" / "management" / "commands" / "sla_watch.py").exists():
        procs["sla-watcher"] = [str(PY), "manage.py", "sla_watch"]
    running = {name: subprocess.Popen(cmd, cwd=ROOT, env=env) for name, cmd in procs.items()}
    base = f"http://127.0.0.1:{port}"
    print(
        f"""
Switchboard demo is running ({", ".join(running)}). Ctrl-C stops everything.
  Workspace:  {base}/admin/   (agents land on their queue, the manager on the SLA report)
    agent     agent1 / switchboard-demo   (agent1..agent6)
    manager   manager / switchboard-demo
  API docs:   {base}/api/v1/docs/
  Metrics:    {base}/metrics   (Prometheus text; from this machine only)
  Customer API token (demo-customer): {token}
    curl -H "Authorization: Token {token}" {base}/api/v1/tickets/
""",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(p.poll() is None for p in running.values()):
        time.sleep(0.5)
    for name, p in running.items():
        if p.poll() is not None and not stopping:
            log(f"{name} exited with {p.returncode}; stopping the others")
        p.terminate()
    for p in running.values():
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__)
        return 2
    os.chdir(ROOT)
    setup()
    if argv[0] == "test":
        return run_tests(argv[1:])
    if argv[0] == "demo":
        port = int(os.environ.get("PORT", "8000"))
        return run_demo(port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
