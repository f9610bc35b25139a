"""The SLA watcher loop (healthchecks `sendalerts` style): a pass every second or so, each one
escalating due clocks (sla.watcher.run_pass), re-enqueueing due notifications, running the
pass hooks other apps registered (the routing queue's top-up, sla.effects), and writing this
watcher's heartbeat. Run several for availability: they share
the work through SKIP LOCKED. SIGTERM/SIGINT finish the current pass and exit."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from observability import metrics
from sla import effects, heartbeat, watcher

log = logging.getLogger("sla.watcher")
BEAT_DURING_PASS_SECONDS = 5.0


class Command(BaseCommand):
    help = "Watch SLA clocks: warn, breach and escalate exactly once (runs until SIGTERM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=settings.SLA_WATCH_INTERVAL_SECONDS)
        parser.add_argument("--batch-size", type=int, default=settings.SLA_WATCH_BATCH_SIZE)
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--name", default=f"{socket.gethostname()}:{os.getpid()}")

    def handle(self, *args: Any, interval: float, batch_size: int, once: bool, name: str,
               **options: Any) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            log.info("sla_watch %s: signal %s, stopping after this pass", name, signum)
            stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        self.stdout.write(f"sla_watch {name}: every {interval}s, batches of {batch_size}")
        passes = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.one_pass(name=name, batch_size=batch_size, prune=passes % 3600 == 0)
            except DatabaseError:
                # Database restarting or unreachable: drop the connection, try again next tick.
                log.exception("sla_watch %s: database error, retrying", name)
                connection.close()
            passes += 1
            if once:
                break
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def one_pass(self, *, name: str, batch_size: int, prune: bool = False) -> watcher.PassResult:
        if not connection.in_atomic_block:  # (tests run the command inside a transaction)
            close_old_connections()  # CONN_MAX_AGE / health checks, as for a request
        started, now = time.monotonic(), timezone.now()
        oldest = heartbeat.oldest_due(now)  # how far behind the watchers are, for the metrics
        beaten = [started]

        def still_working(so_far: watcher.PassResult) -> None:
            # Working through a backlog is not being stuck: beat between batches too (at most
            # every few seconds), never from inside one.
            if time.monotonic() - beaten[0] >= BEAT_DURING_PASS_SECONDS:
                heartbeat.beat(name=name, now=timezone.now(),
                               pass_ms=(time.monotonic() - started) * 1000,
                               escalations=so_far.escalations)
                beaten[0] = time.monotonic()

        result = watcher.run_pass(now=now, batch_size=batch_size, progress=still_working)
        effects.run_pass_hooks()
        ms = (time.monotonic() - started) * 1000
        metrics.watcher_pass(seconds=ms / 1000,
                             lag_seconds=(now - oldest).total_seconds() if oldest else 0.0)
        heartbeat.beat(name=name, now=timezone.now(), pass_ms=ms, escalations=result.escalations)
        if prune:
            heartbeat.prune(now=now)
        if result.claimed or result.requeued:
            log.info("sla_watch %s: %s in %.1f ms", name, result, ms)
        return result

