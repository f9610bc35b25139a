"""Real concurrency for the PostgreSQL race tests: each function runs in its own thread (so its
own database connection and transaction), all released together by a Barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections


def run_concurrently(fns: list[Callable[[], Any]]) -> list[BaseException]:
    """Run every fn at once; returns the exceptions they raised (callers assert it is empty)."""
    barrier, errors = threading.Barrier(len(fns)), []

    def worker(fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            fn()
        except BaseException as exc:  # collected, asserted empty by the caller
            errors.append(exc)
        finally:
            connections.close_all()  # each thread had its own connection

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    return errors
