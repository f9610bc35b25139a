"""Real processes for the end-to-end tests: manage.py commands (qcluster, sla_watch) and
Debian's prometheus-alertmanager, started against the test database, stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The test database as a DATABASE_URL for other processes (PostgreSQL only: SQLite's test
    database lives in this process's memory)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(*commands: list[str], env: dict[str, str] | None = None,
            logs: Path | None = None) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    try:
        for i, cmd in enumerate(commands):
            out = open(logs / f"proc{i}.log", "wb") if logs else subprocess.DEVNULL  # noqa: SIM115
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out,
                                          stderr=subprocess.STDOUT))
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def django_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": test_database_url(), "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "e2e-only-not-secret"),
            "LOG_LEVEL": "WARNING", **extra}


def wait_for(check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """Poll until check() is truthy; returns its value (AssertionError after `timeout` s)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout} s: {check}")
        time.sleep(every)
